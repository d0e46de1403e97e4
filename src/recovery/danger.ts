/**
 * The danger detector (SPEC §6): decides, from the sequencer's own view of L1, whether a batch
 * it has confirmed ops in may land too late for the scheduler (SPEC §2.4 rule 7). Pure: the
 * caller supplies the batches, the heads and the clock.
 */
import { MAX_WAIT_BLOCKS } from "../core/scheduler-rules.ts";

export interface DangerParams {
  /** SEQ_PREEMPTIVE_MARGIN_BLOCKS: 0 < margin < MAX_WAIT_BLOCKS. */
  marginBlocks: number;
  /** SEQ_SECONDS_PER_BLOCK: how fast L1 is assumed to move while our view is frozen. */
  secondsPerBlock: number;
}

export interface DangerView {
  safeHead: number;
  /** Wall time at which the safe head last advanced. */
  safeAdvancedAtMs: number;
  nowMs: number;
  /** Sealed batches not yet accepted, in nonce order, with their first frame's safe block. */
  unaccepted: readonly { nonce: number; firstSafeBlock: number }[];
  /** The open batch, when it holds anything (an empty one re-stamps its frame on first use). */
  open: { nonce: number; firstSafeBlock: number } | null;
}

export type DangerVerdict =
  | { state: "ok" }
  | { state: "danger"; batchNonce: number; which: "sealed" | "open"; ageBlocks: number; thresholdBlocks: number }
  | { state: "stale_view"; viewAgeMs: number; boundMs: number };

/** Blocks a batch may age before the sequencer stops confirming: 1200 - margin. */
export function dangerThreshold(p: DangerParams): number {
  return Number(MAX_WAIT_BLOCKS) - p.marginBlocks;
}

/**
 * How old the safe view may get before the sequencer stops trusting it at all: a quarter of
 * the margin's worth of blocks, at least one minute. Past it the reader has not seen L1 for
 * long enough that even the wall-clock estimate is a guess.
 */
export function staleViewBoundMs(p: DangerParams): number {
  return Math.max(60_000, Math.floor(p.marginBlocks / 4) * p.secondsPerBlock * 1000);
}

export function assessDanger(v: DangerView, p: DangerParams): DangerVerdict {
  const viewAgeMs = Math.max(0, v.nowMs - v.safeAdvancedAtMs);
  // While the view is frozen, assume L1 kept producing blocks at the configured pace.
  const unseenBlocks = Math.floor(viewAgeMs / (p.secondsPerBlock * 1000));
  const threshold = dangerThreshold(p);
  const ageOf = (b: { firstSafeBlock: number }) => v.safeHead + unseenBlocks - b.firstSafeBlock;
  // The oldest sealed batch decides first: every later batch depends on its nonce.
  const first = v.unaccepted[0];
  if (first && ageOf(first) >= threshold) {
    return { state: "danger", batchNonce: first.nonce, which: "sealed", ageBlocks: ageOf(first), thresholdBlocks: threshold };
  }
  if (v.open && ageOf(v.open) >= threshold) {
    return { state: "danger", batchNonce: v.open.nonce, which: "open", ageBlocks: ageOf(v.open), thresholdBlocks: threshold };
  }
  const bound = staleViewBoundMs(p);
  if (viewAgeMs > bound) return { state: "stale_view", viewAgeMs, boundMs: bound };
  return { state: "ok" };
}

/**
 * How close the batch most at risk is to the threshold, judged exactly as assessDanger judges
 * it (the same ages, the same order): for the operator's danger gauge and its alert. Null when
 * no batch holds anything that could age (nothing sealed and unaccepted, an empty open batch).
 */
export function dangerHeadroom(
  v: DangerView,
  p: DangerParams,
): { thresholdBlocks: number; ageBlocks: number; blocksLeft: number; batchNonce: number; which: "sealed" | "open" } | null {
  const viewAgeMs = Math.max(0, v.nowMs - v.safeAdvancedAtMs);
  const unseenBlocks = Math.floor(viewAgeMs / (p.secondsPerBlock * 1000));
  const threshold = dangerThreshold(p);
  const at = (b: { nonce: number; firstSafeBlock: number }, which: "sealed" | "open") => {
    const ageBlocks = v.safeHead + unseenBlocks - b.firstSafeBlock;
    return { thresholdBlocks: threshold, ageBlocks, blocksLeft: threshold - ageBlocks, batchNonce: b.nonce, which };
  };
  // The oldest sealed batch is always at least as old as the open one.
  const first = v.unaccepted[0];
  if (first) return at(first, "sealed");
  return v.open ? at(v.open, "open") : null;
}
