/**
 * Turns the sequencer's main-thread CPU profile (`bun --cpu-prof`, Chrome .cpuprofile JSON)
 * into a per-op cost breakdown by pipeline stage.
 *
 * Each sample is charged to one stage: the highest-priority rule that matches any frame of
 * its stack (so keccak under userOpDigest counts as "digest", under closeBatch as "batch
 * seal"). JSC samples a thread that is blocked inside a native call (e.g. SQLite's fsync in
 * COMMIT) as running that call, so the "commit" stage is wall time on the main thread, not
 * only CPU. Idle time in the event loop is not sampled. Worker threads (signature recovery)
 * are not in this profile; their cost comes from /proc per-thread CPU.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Rule {
  stage: string;
  match: (f: CallFrame) => boolean;
}

const fn = (name: string) => (f: CallFrame) => f.functionName === name;
const url = (part: string) => (f: CallFrame) => f.url.includes(part);

/** In priority order: the first rule matching any frame of a sample's stack wins. */
const RULES: Rule[] = [
  { stage: "snapshots (dump at seal, registration, GC)", match: url("/src/snapshots/") },
  { stage: "batch seal (contents query, SSZ encode, keccak)", match: (f) => f.functionName === "closeBatch" && f.url.includes("lane.ts") },
  { stage: "EIP-712 digest (3 × keccak, JS)", match: fn("userOpDigest") },
  { stage: "tx_hash (SSZ encode + keccak, JS)", match: (f) => f.functionName === "txHash" && f.url.includes("ssz.ts") },
  { stage: "recovery hand-off (postMessage, results)", match: url("/src/ingress/sigpool.ts") },
  { stage: "JSON parse + body checks", match: fn("parseTxBody") },
  { stage: "feed fan-out (encode + ws send)", match: (f) => f.url.includes("/src/egress/feed.ts") || f.functionName === "feedMessage" },
  { stage: "app validate/apply (wasm)", match: url("/src/app/") },
  { stage: "SQLite BEGIN/COMMIT (incl. fsync wait)", match: (f) => f.url.includes("bun:sqlite") && f.functionName === "#runNoArgs" },
  { stage: "SQLite statements (inserts, queries)", match: (f) => f.url.includes("bun:sqlite") || f.url.includes("/src/storage/") },
  { stage: "metrics/observability", match: url("/src/observability/") },
  { stage: "L1 input reader (background)", match: url("/src/l1/reader.ts") },
  { stage: "batch submitter (background)", match: url("/src/l1/submitter.ts") },
  { stage: "other L1 / viem (background)", match: (f) => f.url.includes("/src/l1/") || f.url.includes("/viem/") },
  { stage: "lane bookkeeping (other)", match: url("/src/ingress/lane.ts") },
  { stage: "tx route (other: hex decode, reply)", match: url("/src/ingress/tx-route.ts") },
  { stage: "HTTP framework (Elysia handler, Response)", match: (f) => f.url.includes("/elysia/") || f.url.includes("/src/cli/servers.ts") || f.url.includes("/src/http/") },
  { stage: "GC", match: (f) => /garbage/i.test(f.functionName) },
];
const UNATTRIBUTED = "native, no JS frame (HTTP I/O in uWS, timers, microtasks)";

export interface StageCost {
  stage: string;
  ms: number;
  pct: number;
  us_per_op: number | null;
}

export interface ProfileBreakdown {
  /** Wall time of the analysed windows, and how much of it the main thread was sampled busy. */
  window_ms: number;
  busy_ms: number;
  busy_pct: number;
  ops: number;
  stages: StageCost[];
}

/**
 * @param windows epoch-millisecond intervals to keep (the timed sections); all samples if empty.
 * @param ops accepted ops inside those windows, for the per-op column.
 */
export function analyzeCpuProfile(path: string, windows: [number, number][], ops: number): ProfileBreakdown {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = stageOf.get(id);
    if (cached !== undefined) return cached;
    const frames: CallFrame[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) frames.push(byId.get(cur)!.callFrame);
    let best = RULES.length;
    for (const f of frames) {
      for (let r = 0; r < best; r++) if (RULES[r]!.match(f)) best = r;
    }
    const stage = best < RULES.length ? RULES[best]!.stage : frames[0]?.functionName === "(idle)" ? "(idle)" : UNATTRIBUTED;
    stageOf.set(id, stage);
    return stage;
  };

  // startTime and sample times are epoch microseconds in Bun's profiles.
  const inWindow = (tUs: number): boolean =>
    windows.length === 0 || windows.some(([a, b]) => tUs >= a * 1000 && tUs <= b * 1000);
  const totals = new Map<string, number>();
  let t = p.startTime;
  let busyUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (!inWindow(t)) continue;
    // A sample stands for the interval up to the next one (capped, so a gap of idle time
    // after it is not charged to it).
    const dt = Math.min(p.timeDeltas[i + 1] ?? 1000, 2000);
    const stage = classify(p.samples[i]!);
    if (stage === "(idle)") continue;
    totals.set(stage, (totals.get(stage) ?? 0) + dt);
    busyUs += dt;
  }
  const windowMs =
    windows.length === 0 ? (p.endTime - p.startTime) / 1000 : windows.reduce((a, [s, e]) => a + (e - s), 0);
  const stages = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([stage, us]) => ({
      stage,
      ms: Math.round(us / 100) / 10,
      pct: Math.round((us / busyUs) * 1000) / 10,
      us_per_op: ops > 0 ? Math.round((us / ops) * 10) / 10 : null,
    }));
  return {
    window_ms: Math.round(windowMs),
    busy_ms: Math.round(busyUs / 1000),
    busy_pct: Math.round((busyUs / 1000 / windowMs) * 1000) / 10,
    ops,
    stages,
  };
}
