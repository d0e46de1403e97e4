import { bytesToHex } from "./bytes.ts";

/**
 * One entry of the ordered L2 history, and its feed message encoding (SPEC §4). The same
 * encoding is produced by the live feed and consumed by the replay verifier, so it lives here.
 */
export type SequencedTx = SequencedUserOp | SequencedDirectInput;

export interface SequencedUserOp {
  kind: "user_op";
  offset: number;
  sender: `0x${string}`;
  /** The frame fee (exponent) actually charged, not the user's cap. */
  fee: number;
  data: Uint8Array;
  nonce: number;
  txHash: Uint8Array;
}

export interface SequencedDirectInput {
  kind: "direct_input";
  offset: number;
  sender: `0x${string}`;
  blockNumber: number;
  inputIndex: number;
  payload: Uint8Array;
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
      `"data":"${bytesToHex(tx.data)}","nonce":${tx.nonce},"tx_hash":"${bytesToHex(tx.txHash)}"}`
    );
  }
  return (
    `{"kind":"direct_input","offset":${tx.offset},"sender":"${tx.sender}",` +
    `"block_number":${tx.blockNumber},"input_index":${tx.inputIndex},"payload":"${bytesToHex(tx.payload)}"}`
  );
}

export function rollbackMessage(m: RollbackMessage): string {
  return `{"kind":"rollback","offset":${m.offset},"generation":${m.generation}}`;
}
