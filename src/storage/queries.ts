import type { Database } from "bun:sqlite";
import { addressFromBytes } from "../core/bytes.ts";
import type { FailureClass } from "../core/execution-limits.ts";
import type { SequencedTx } from "../core/l2tx.ts";
import { decodeOutputs } from "./outputs-codec.ts";
import type { Batch, Frame } from "../core/ssz.ts";

/**
 * Read-only queries over the ordered history. Used by the feed (catch-up), by startup replay
 * and by the batch sealer; none of them writes.
 */
export interface HistoryRow {
  offset: number;
  userOpId: number | null;
  inputIndex: number | null;
  /** Frame fee (exponent) charged to user ops; for directs, the fee of the draining frame. */
  fee: number;
  safeBlock: number;
  uSender: Uint8Array | null;
  nonce: number | null;
  maxFee: number | null;
  data: Uint8Array | null;
  signature: Uint8Array | null;
  txHash: Uint8Array | null;
  iSender: Uint8Array | null;
  blockNumber: number | null;
  payload: Uint8Array | null;
  /** user_ops.outputs or direct_outputs: encoded outputs (null: none), and a direct input's failure class. */
  outputs: Uint8Array | null;
  failure: FailureClass | null;
}

/** One history entry with only what re-executing it needs (startup replay, recovery). */
export interface ReplayRow {
  offset: number;
  userOpId: number | null;
  fee: number;
  safeBlock: number;
  uSender: Uint8Array | null;
  nonce: number | null;
  data: Uint8Array | null;
  iSender: Uint8Array | null;
  blockNumber: number | null;
  payload: Uint8Array | null;
}

/** Each history entry joined with its frame, op or input. */
const HISTORY_JOINS = `FROM sequenced_l2_txs s
       JOIN frames f ON f.frame_id = s.frame_id
       LEFT JOIN user_ops u ON u.user_op_id = s.user_op_id
       LEFT JOIN safe_inputs i ON i.input_index = s.input_index`;
/** A page in offset order. */
const PAGE_WHERE = "WHERE s.l2_offset >= ? ORDER BY s.l2_offset LIMIT ?";

export class HistoryQueries {
  private readonly qPage;
  private readonly qReplayPage;
  private readonly qFrames;
  private readonly qOps;
  private readonly qHead;

  constructor(db: Database) {
    this.qPage = db.query(
      `SELECT s.l2_offset AS offset, s.user_op_id AS userOpId, s.input_index AS inputIndex,
              f.fee AS fee, f.safe_block AS safeBlock,
              u.sender AS uSender, u.nonce AS nonce, u.max_fee AS maxFee, u.data AS data,
              u.signature AS signature, u.tx_hash AS txHash,
              i.sender AS iSender, i.block_number AS blockNumber, i.payload AS payload,
              COALESCE(u.outputs, o.outputs) AS outputs, o.failure AS failure
       ${HISTORY_JOINS}
       LEFT JOIN direct_outputs o ON o.l2_offset = s.l2_offset
       ${PAGE_WHERE}`,
    );
    // The same page without the signature, hash, max fee and outputs: replay reads every
    // entry once (and recomputes the outputs), and each blob column is a copy per row.
    this.qReplayPage = db.query(
      `SELECT s.l2_offset AS offset, s.user_op_id AS userOpId, f.fee AS fee, f.safe_block AS safeBlock,
              u.sender AS uSender, u.nonce AS nonce, u.data AS data,
              i.sender AS iSender, i.block_number AS blockNumber, i.payload AS payload
       ${HISTORY_JOINS}
       ${PAGE_WHERE}`,
    );
    this.qFrames = db.query(
      `SELECT frame_id AS frameId, safe_block AS safeBlock, fee FROM frames
       WHERE batch_id = ? ORDER BY frame_index`,
    );
    this.qOps = db.query(
      `SELECT u.frame_id AS frameId, u.nonce AS nonce, u.max_fee AS maxFee, u.data AS data,
              u.signature AS signature
       FROM user_ops u JOIN frames f ON f.frame_id = u.frame_id
       WHERE f.batch_id = ? ORDER BY u.user_op_id`,
    );
    this.qHead = db.query("SELECT COALESCE(MAX(l2_offset) + 1, 0) AS n FROM sequenced_l2_txs");
  }

  /** Rows with offset in [from, from + limit), in order. */
  page(fromOffset: number, limit: number): HistoryRow[] {
    return this.qPage.all(fromOffset, limit) as HistoryRow[];
  }

  /** Like `page`, with only the columns of ReplayRow. */
  replayPage(fromOffset: number, limit: number): ReplayRow[] {
    return this.qReplayPage.all(fromOffset, limit) as ReplayRow[];
  }

  /** Number of entries in the history (the next offset to be assigned). */
  headOffset(): number {
    return (this.qHead.get() as { n: number }).n;
  }

  /** The batch exactly as it is encoded for L1: frames in order, ops in acceptance order. */
  batchContents(batchId: number, nonce: number): Batch {
    const frames = this.qFrames.all(batchId) as { frameId: number; safeBlock: number; fee: number }[];
    const ops = this.qOps.all(batchId) as {
      frameId: number;
      nonce: number;
      maxFee: number;
      data: Uint8Array;
      signature: Uint8Array;
    }[];
    const byFrame = new Map<number, Frame>();
    const out: Frame[] = frames.map((f) => {
      const frame: Frame = { userOps: [], safeBlock: BigInt(f.safeBlock), feePrice: f.fee };
      byFrame.set(f.frameId, frame);
      return frame;
    });
    for (const op of ops) {
      byFrame.get(op.frameId)!.userOps.push({
        nonce: op.nonce,
        maxFee: op.maxFee,
        data: op.data,
        signature: op.signature,
      });
    }
    return { nonce: BigInt(nonce), frames: out };
  }
}

/** A stored history row as the domain entry the feed and replay work with. */
export function rowToTx(r: HistoryRow): SequencedTx {
  if (r.userOpId !== null) {
    return {
      kind: "user_op",
      offset: r.offset,
      sender: addressFromBytes(r.uSender!),
      fee: r.fee,
      data: r.data!,
      nonce: r.nonce!,
      txHash: r.txHash!,
      outputs: decodeOutputs(r.outputs),
    };
  }
  return {
    kind: "direct_input",
    offset: r.offset,
    sender: addressFromBytes(r.iSender!),
    blockNumber: r.blockNumber!,
    inputIndex: r.inputIndex!,
    payload: r.payload!,
    outputs: decodeOutputs(r.outputs),
    failure: r.failure,
  };
}
