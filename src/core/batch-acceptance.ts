/**
 * The scheduler's batch gates (SPEC §2.4 rules 3–7), in their canonical order. Everything
 * that decides whether a batch posted by the submitter is executed calls this function: the
 * input reader's acceptance tracking now, the canonical scheduler and the replay verifier
 * later. No other module re-implements these gates.
 */
import { DecodeError } from "./errors.ts";
import { isStale, MAX_WAIT_BLOCKS } from "./scheduler-rules.ts";
import { decodeBatch, type Batch } from "./ssz.ts";

export type BatchVerdict =
  /** Rule 3: not an SSZ Batch. The nonce is unchanged. */
  | { kind: "malformed"; reason: string }
  /** Rule 4: a duplicate or out-of-order posting. The nonce is unchanged. */
  | { kind: "wrong_nonce"; nonce: bigint; expected: bigint }
  /** Rule 6: a frame from the future, or frames whose safe block decreases. */
  | { kind: "invalid_structure"; nonce: bigint; reason: string }
  /** Rule 7: too old when it landed. The nonce is NOT consumed (nonce poisoning). */
  | { kind: "stale"; nonce: bigint; batch: Batch; age: bigint }
  /** Rules 5 and 8: executed (an empty batch is an accepted no-op); the nonce advances. */
  | { kind: "accepted"; nonce: bigint; batch: Batch };

export function judgeBatch(payload: Uint8Array, inclusionBlock: bigint, nextBatchNonce: bigint): BatchVerdict {
  let batch: Batch;
  try {
    batch = decodeBatch(payload);
  } catch (e) {
    if (e instanceof DecodeError) return { kind: "malformed", reason: e.message };
    throw e;
  }
  if (batch.nonce !== nextBatchNonce) {
    return { kind: "wrong_nonce", nonce: batch.nonce, expected: nextBatchNonce };
  }
  if (batch.frames.length === 0) return { kind: "accepted", nonce: batch.nonce, batch };
  let previous = -1n;
  for (let i = 0; i < batch.frames.length; i++) {
    const safe = batch.frames[i]!.safeBlock;
    if (safe > inclusionBlock) {
      return {
        kind: "invalid_structure",
        nonce: batch.nonce,
        reason: `frame ${i} safe_block ${safe} is after the inclusion block ${inclusionBlock}`,
      };
    }
    if (safe < previous) {
      return {
        kind: "invalid_structure",
        nonce: batch.nonce,
        reason: `frame ${i} safe_block ${safe} is below the previous frame's ${previous}`,
      };
    }
    previous = safe;
  }
  const first = batch.frames[0]!.safeBlock;
  if (isStale(inclusionBlock, first)) {
    return { kind: "stale", nonce: batch.nonce, batch, age: inclusionBlock - first };
  }
  return { kind: "accepted", nonce: batch.nonce, batch };
}

/**
 * The one wording of a verdict, for whatever records it: the input reader's `batch_landings`
 * and the scheduler's report (verify). Null for an accepted batch.
 */
export function describeVerdict(v: BatchVerdict): string | null {
  switch (v.kind) {
    case "accepted":
      return null;
    case "malformed":
      return v.reason;
    case "wrong_nonce":
      return `nonce ${v.nonce}, expected ${v.expected}`;
    case "invalid_structure":
      return v.reason;
    case "stale":
      return `landed ${v.age} blocks after its first frame's safe block (limit ${MAX_WAIT_BLOCKS}); nonce ${v.nonce} not consumed`;
  }
}
