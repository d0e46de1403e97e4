import { keccak256 } from "../core/keccak.ts";
import { describeVerdict, judgeBatch } from "../core/batch-acceptance.ts";
import { isBatchInput } from "../core/scheduler-rules.ts";
import { bytesEqual, bytesToHex } from "../core/bytes.ts";
import type { DivergenceRow, LandingRow, SafeInputRow, SealedBatch } from "../storage/reader-store.ts";

export interface AcceptanceContext {
  /** The batch submitter's address (20 bytes): only its inputs are batches. */
  submitter: Uint8Array;
  /** The scheduler's next batch nonce before these inputs. */
  nextBatchNonce: number;
  /** Our sealed batch at a nonce, if any. */
  sealed: (nonce: number) => SealedBatch | null;
  /** A divergence already on record: later ones are not recorded again. */
  alreadyDiverged: boolean;
  nowMs: number;
}

export interface AcceptanceResult {
  landings: LandingRow[];
  divergence: DivergenceRow | null;
  nextBatchNonce: number;
}

/**
 * Applies the scheduler's batch gates (core/batch-acceptance.ts, the same function the
 * scheduler uses) to the submitter's landed inputs, in L1 order, and checks every accepted
 * landing against the hash we stamped when sealing that nonce. An accepted batch that is not
 * ours, or differs by one byte, is a canonical divergence: L1 now executes something we never
 * soft-confirmed.
 */
export function trackAcceptance(inputs: readonly SafeInputRow[], ctx: AcceptanceContext): AcceptanceResult {
  const landings: LandingRow[] = [];
  let divergence: DivergenceRow | null = null;
  let next = ctx.nextBatchNonce;
  for (const input of inputs) {
    if (!isBatchInput(input.sender, ctx.submitter)) continue;
    const v = judgeBatch(input.payload, BigInt(input.blockNumber), BigInt(next));
    if (v.kind !== "accepted") {
      landings.push({
        inputIndex: input.inputIndex,
        verdict: v.kind,
        batchNonce: v.kind === "malformed" ? null : Number(v.nonce),
        batchId: null,
        detail: describeVerdict(v),
      });
      continue;
    }
    const nonce = Number(v.nonce);
    const ours = ctx.sealed(nonce);
    const hash = keccak256(input.payload);
    const matches = ours !== null && bytesEqual(ours.sealedHash, hash);
    landings.push({
      inputIndex: input.inputIndex,
      verdict: "accepted",
      batchNonce: nonce,
      batchId: matches ? ours.batchId : null,
      detail: matches ? null : "not the batch we sealed at this nonce",
    });
    if (!matches && !ctx.alreadyDiverged && divergence === null) {
      divergence = {
        batchNonce: nonce,
        inputIndex: input.inputIndex,
        l1TxHash: input.txHash,
        reason:
          ours === null
            ? `L1 accepted a batch at nonce ${nonce} that this sequencer never sealed (tx ${bytesToHex(input.txHash)})`
            : `L1 accepted a batch at nonce ${nonce} whose bytes differ from the sealed batch (tx ${bytesToHex(input.txHash)})`,
        detectedAtMs: ctx.nowMs,
      };
    }
    next = nonce + 1;
  }
  return { landings, divergence, nextBatchNonce: next };
}

