/**
 * The operator's dashboard on the internal listener: `GET /dashboard` is one self-contained
 * page (dashboard.html: no build step, no external assets, embedded in the binary), which
 * reads `GET /dashboard/state` once a second. The state is gathered here from the same
 * owners the metrics read, so the page and Prometheus never disagree.
 */
import page from "./dashboard.html" with { type: "text" };
import type { RecentSeries } from "./recent-series.ts";

export interface DashboardSources {
  version: string;
  unavailableReason(): string | null;
  l1(): { latest: number | null; safe: number | null; finalized: number | null; safeAdvancedAtMs: number | null; submitterBalanceWei: bigint | null };
  batches(): Record<string, number>;
  dangerThresholdBlocks: number;
  danger(): { ageBlocks: number; blocksLeft: number; batchNonce: number; which: string } | null;
  recovery(): { generation: number; recovering: boolean; reason: string | null; diverged: boolean };
  feedSubscribers(): number;
  headOffset(): number;
  queueDepth(): number;
  series: RecentSeries;
  app: { moduleSha256: string; meteredSha256: string; abiVersion: number; limits: unknown; inspect: boolean };
}

// bun-types declares every .html import as an HTMLBundle (for Bun.serve's bundler); with
// `type: "text"` it is the file's text, which the dashboard test checks.
export const DASHBOARD_HTML = page as unknown as string;

export function dashboardState(s: DashboardSources, now = Date.now()): Record<string, unknown> {
  const l1 = s.l1();
  const danger = s.danger();
  const recovery = s.recovery();
  return {
    now_ms: now,
    version: s.version,
    ready: s.unavailableReason() === null,
    unavailable_reason: s.unavailableReason(),
    l1: {
      latest: l1.latest,
      safe: l1.safe,
      finalized: l1.finalized,
      safe_age_s: l1.safeAdvancedAtMs === null ? null : Math.max(0, (now - l1.safeAdvancedAtMs) / 1000),
      // Decimal text: wei do not fit a JSON number.
      submitter_balance_wei: l1.submitterBalanceWei === null ? null : l1.submitterBalanceWei.toString(),
    },
    batches: s.batches(),
    danger: {
      threshold_blocks: s.dangerThresholdBlocks,
      blocks_left: danger?.blocksLeft ?? null,
      age_blocks: danger?.ageBlocks ?? null,
      batch_nonce: danger?.batchNonce ?? null,
      which: danger?.which ?? null,
    },
    recovery,
    feed: { subscribers: s.feedSubscribers(), head_offset: s.headOffset() },
    lane: { queue_depth: s.queueDepth() },
    series: {
      interval_s: 1,
      points: s.series.series().map((p) => ({ t: p.t, ops: p.ops, p50_ms: p.p50Ms, p99_ms: p.p99Ms })),
    },
    app: {
      module_sha256: s.app.moduleSha256,
      metered_sha256: s.app.meteredSha256,
      abi_version: s.app.abiVersion,
      limits: s.app.limits,
      inspect: s.app.inspect,
    },
  };
}
