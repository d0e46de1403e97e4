/**
 * Small block-arithmetic rules of the canonical scheduler (SPEC 2.4) and of how the
 * sequencer mirrors it (SPEC 2.5). One definition each, used by the inclusion lane, the
 * recovery logic and the replay verifier alike. Block arguments are L1 block numbers.
 */
import { bytesEqual } from "./bytes.ts";

/** Blocks after which a direct input is force-included and a batch is stale (~4 h). */
export const MAX_WAIT_BLOCKS = 1200n;

/** The sequencer opens a new frame once the safe head is this many blocks past the frame's. */
export const FRAME_ADVANCE_BLOCKS = 5n;

/**
 * SPEC 2.4 rule 2: an input is a batch if and only if the batch submitter sent it; every
 * other input is a direct input. By sender only, never by content. (The lane's SQL mirror of
 * this, `LaneStore.undrainedDirects`, is pinned to it by lane-store.test.ts.)
 */
export function isBatchInput(sender: Uint8Array, batchSubmitter: Uint8Array): boolean {
  return bytesEqual(sender, batchSubmitter);
}

/** SPEC 2.4: an op executes only if its max_fee covers its frame's fee; else it is skipped. */
export function coversFrameFee(maxFee: number, frameFee: number): boolean {
  return maxFee >= frameFee;
}

/** a - b, floored at 0: a later "now" than "then" never makes an age negative. */
function saturatingSub(a: bigint, b: bigint): bigint {
  return a > b ? a - b : 0n;
}

/** SPEC 2.5: open a new frame when the observed safe head H >= S + 5. */
export function shouldOpenNewFrame(openFrameSafeBlock: bigint, observedSafeHead: bigint): boolean {
  return observedSafeHead >= openFrameSafeBlock + FRAME_ADVANCE_BLOCKS;
}

/** SPEC 2.4 rule 8: a frame drains queued direct inputs with block <= its safe_block. */
export function isDrainableAt(inputBlock: bigint, frameSafeBlock: bigint): boolean {
  return inputBlock <= frameSafeBlock;
}

/** SPEC 2.4 rule 7: inclusion_block - frames[0].safe_block >= 1200 (saturating) → skipped. */
export function isStale(inclusionBlock: bigint, firstFrameSafeBlock: bigint): boolean {
  return saturatingSub(inclusionBlock, firstFrameSafeBlock) >= MAX_WAIT_BLOCKS;
}

/** SPEC 2.4 rule 1: a queued direct input is forced in once it has waited 1200 blocks. */
export function isForcedByBackstop(nowInclusionBlock: bigint, queuedInputBlock: bigint): boolean {
  return saturatingSub(nowInclusionBlock, queuedInputBlock) >= MAX_WAIT_BLOCKS;
}
