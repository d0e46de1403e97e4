/**
 * Startup, phase 5: what operators and clients see. Metrics and the dashboard's series, then
 * the public listener (API, feed, inspect) and the internal one (metrics, batches, state,
 * dashboard). They come up before the recovery decision: until it is taken, reads work and
 * `POST /tx` answers 503 `starting`. The inspect listener, when configured, is the follower
 * worker's own (lane phase); this phase waits until it is bound.
 */
import type { AppHost } from "../../app/host.ts";
import { ConfigError, SignatureError } from "../../core/errors.ts";
import { limitsJson } from "../../core/execution-limits.ts";
import { InspectListenError } from "../../inspect/inspect-service.ts";
import { BalanceWatch } from "../../l1/balance-watch.ts";
import type { Logger } from "../../observability/log.ts";
import { RecentSeries } from "../../observability/recent-series.ts";
import { createSequencerMetrics } from "../../observability/sequencer-metrics.ts";
import { dangerThreshold, type DangerParams } from "../../recovery/danger.ts";
import { loadBatchPolicy } from "../../storage/policy-store.ts";
import { StatusQueries } from "../../storage/status-queries.ts";
import type { Config } from "../config.ts";
import { startInternalServer, startPublicServer } from "../servers.ts";
import { VERSION } from "../version.ts";
import type { L1Phase } from "./l1-phase.ts";
import type { LanePhase } from "./lane-phase.ts";
import { unavailableReason, type Lifecycle, type LiveParts } from "./state.ts";
import type { StoragePhase } from "./storage-phase.ts";

export interface ServersPhase {
  publicUrl: string;
  internalUrl: string;
}

export function serversPhase(
  config: Config,
  app: AppHost,
  storage: StoragePhase,
  l1: L1Phase,
  lane: LanePhase,
  submitter: `0x${string}`,
  dangerParams: DangerParams,
  live: LiveParts,
  life: Lifecycle,
  log: Logger,
): ServersPhase {
  const theLane = lane.lane;
  const unavailable = () => unavailableReason(live);
  const status = new StatusQueries(storage.db);
  const balance = new BalanceWatch(l1.binding.client, submitter);
  balance.start();
  life.defer(() => balance.stop());
  const metrics = createSequencerMetrics({
    l1Heads: () => storage.reader.heads(),
    queueDepth: () => theLane.queueDepth,
    commits: () => ({ commits: theLane.commits, ops: theLane.committedOps }),
    headOffset: () => theLane.headOffset,
    feedSubscribers: () => lane.feed.subscriberCount,
    ready: () => unavailable() === null,
    diverged: () => live.divergenceReason !== null,
    recovering: () => live.recovery?.unavailableReason != null,
    generation: () => lane.recoveryStore.generation(),
    batchStates: () => status.batchStateCounts(),
    l1Latest: () => l1.reader.latestBlock,
    submitterBalanceWei: () => balance.wei,
    dangerHeadroom: () => live.recovery?.headroom() ?? null,
    snapshots: () => storage.snapshots.stats(),
    snapshotSeals: () => storage.snapshots.sealStats,
    storage: () => storage.background.stats,
    inlineSignatureChecks: () => lane.pool.inlineOps,
    ...(lane.inspect ? { inspect: () => lane.inspect!.stats } : {}),
  });
  live.laneCommitSeconds = metrics.laneCommit;
  const recent = new RecentSeries(() => metrics.txOutcomes.get({ outcome: "accepted" }), metrics.ackLatency);
  recent.start();
  life.defer(() => recent.stop());

  const pub = startPublicServer({
    listen: config.http,
    log,
    feed: lane.feed,
    status,
    maxBodyBytes: 4096 + 2 * lane.maxDataLength,
    cors: config.corsOrigins,
    ...(lane.inspect ? { inspect: (payload: Uint8Array) => lane.inspect!.reply(payload) } : {}),
    tx: {
      lane: theLane,
      maxDataLength: lane.maxDataLength,
      recover: async (op) => {
        // Alone, with alone predecessors: skip the worker hop (ingress/inline-policy.ts).
        const r = await lane.pool.recoverOp(op, { inline: lane.inlinePolicy.decide(theLane.queueDepth) });
        if (r instanceof SignatureError) throw r;
        return r;
      },
      unavailableReason: unavailable,
      onOutcome: (o, message, ms) => {
        if (o === "accepted") metrics.ackLatency.observe(ms / 1000);
        metrics.txOutcomes.inc(
          o === "rejected" && message !== null ? { outcome: o, reason: metrics.rejectionReason(message) } : { outcome: o },
        );
      },
    },
    read: {
      chainId: config.chainId,
      app: config.appAddress,
      inputBox: l1.binding.inputBox,
      etherPortal: config.etherPortalAddress,
      erc20Portal: config.erc20PortalAddress,
      erc20Token: config.erc20TokenAddress,
      batchSubmitter: submitter,
      version: VERSION,
      appAbiVersion: app.abiVersion,
      appModuleSha256: app.moduleSha256,
      appMeteredSha256: app.meteredSha256,
      appConfig: config.appConfig,
      appInspect: app.hasInspect,
      maxDataLength: lane.maxDataLength,
      currentFee: () => theLane.currentFee,
      policy: () => loadBatchPolicy(storage.db),
      nonceOf: (s) => app.nonceOf(s),
      unavailableReason: unavailable,
      feedGeneration: () => lane.recoveryStore.generation(),
    },
  });
  life.defer(() => pub.stop());
  life.defer(() => lane.feed.closeAll(1001, "shutting down"));

  const internal = startInternalServer({
    listen: config.internalHttp,
    log,
    batches: status,
    state: storage.snapshots,
    metrics: () => metrics.registry.render(),
    dashboard: {
      version: VERSION,
      unavailableReason: unavailable,
      l1: () => {
        const h = storage.reader.heads();
        return {
          latest: l1.reader.latestBlock,
          safe: h?.safeBlock ?? null,
          finalized: h?.finalizedBlock ?? null,
          safeAdvancedAtMs: h?.safeAdvancedAtMs ?? null,
          submitterBalanceWei: balance.wei,
        };
      },
      batches: () => status.batchStateCounts(),
      dangerThresholdBlocks: dangerThreshold(dangerParams),
      danger: () => live.recovery?.headroom() ?? null,
      recovery: () => ({
        generation: lane.recoveryStore.generation(),
        recovering: live.recovery?.unavailableReason != null,
        reason: live.recovery?.unavailableReason ?? null,
        diverged: live.divergenceReason !== null,
      }),
      feedSubscribers: () => lane.feed.subscriberCount,
      headOffset: () => theLane.headOffset,
      queueDepth: () => theLane.queueDepth,
      series: recent,
      app: {
        moduleSha256: app.moduleSha256,
        meteredSha256: app.meteredSha256,
        abiVersion: app.abiVersion,
        limits: limitsJson(app.limits),
        inspect: app.hasInspect,
      },
    },
  });
  life.defer(() => internal.stop());

  return {
    publicUrl: `http://${config.http.host}:${pub.port}`,
    internalUrl: `http://${config.internalHttp.host}:${internal.port}`,
  };
}

/**
 * The inspect listener's URL once the follower worker has bound it (SEQ_INSPECT_HTTP_ADDR);
 * undefined when none is configured.
 * @throws ConfigError naming SEQ_INSPECT_HTTP_ADDR when the address cannot be bound.
 */
export async function inspectListenerUrl(config: Config, lane: LanePhase): Promise<string | undefined> {
  if (!config.inspectHttp || !lane.inspect) return undefined;
  try {
    return `http://${config.inspectHttp.host}:${await lane.inspect.whenListening()}`;
  } catch (e) {
    if (e instanceof InspectListenError) throw new ConfigError("SEQ_INSPECT_HTTP_ADDR", e.message);
    throw e;
  }
}
