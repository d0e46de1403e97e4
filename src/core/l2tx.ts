import { bytesToHex } from "./bytes.ts";
import type { FailureClass } from "./execution-limits.ts";

/**
 * One entry of the ordered L2 history, and its feed message encoding (SPEC §4). The same
 * encoding is produced by the live feed and consumed by the replay verifier, so it lives here.
 */
export type SequencedTx = SequencedUserOp | SequencedDirectInput;

/**
 * What applying an entry emitted (SPEC 2.8), in emission order: notices and vouchers as in
 * Cartesi, and reports (diagnostics). Deterministic from the inputs, so part of every entry.
 */
export type OutputKind = "notice" | "voucher" | "report";
export interface Output {
  kind: OutputKind;
  payload: Uint8Array;
}
/** The ABI's kind codes (`env.emit`'s first argument), by index. */
export const OUTPUT_KINDS: readonly OutputKind[] = ["notice", "voucher", "report"];

export interface SequencedUserOp {
  kind: "user_op";
  offset: number;
  sender: `0x${string}`;
  /** The frame fee (exponent) actually charged, not the user's cap. */
  fee: number;
  data: Uint8Array;
  nonce: number;
  txHash: Uint8Array;
  outputs: readonly Output[];
}

export interface SequencedDirectInput {
  kind: "direct_input";
  offset: number;
  sender: `0x${string}`;
  blockNumber: number;
  inputIndex: number;
  payload: Uint8Array;
  outputs: readonly Output[];
  /** The app failed on it: an included no-op with no outputs (SPEC 2.8); null otherwise. */
  failure: FailureClass | null;
}

export interface RollbackMessage {
  kind: "rollback";
  offset: number;
  generation: number;
}

/** The JSON text frame for a history entry; field order is fixed for stable recordings. */
export function feedMessage(tx: SequencedTx): string {
  if (tx.kind === "user_op") {
    return (
      `{"kind":"user_op","offset":${tx.offset},"sender":"${tx.sender}","fee":${tx.fee},` +
      `"data":"${bytesToHex(tx.data)}","nonce":${tx.nonce},"tx_hash":"${bytesToHex(tx.txHash)}",` +
      `"outputs":${outputsJson(tx.outputs)}}`
    );
  }
  return (
    `{"kind":"direct_input","offset":${tx.offset},"sender":"${tx.sender}",` +
    `"block_number":${tx.blockNumber},"input_index":${tx.inputIndex},"payload":"${bytesToHex(tx.payload)}",` +
    `"outputs":${outputsJson(tx.outputs)},"failure":${tx.failure === null ? "null" : `"${tx.failure}"`}}`
  );
}

/** `[{"kind":"notice","payload":"0x.."}, ...]`, as the feed and GET /tx/:tx_hash show outputs. */
export function outputsJson(outputs: readonly Output[]): string {
  if (outputs.length === 0) return "[]";
  let s = "[";
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i]!;
    s += `${i > 0 ? "," : ""}{"kind":"${o.kind}","payload":"${bytesToHex(o.payload)}"}`;
  }
  return s + "]";
}

export function rollbackMessage(m: RollbackMessage): string {
  return `{"kind":"rollback","offset":${m.offset},"generation":${m.generation}}`;
}
