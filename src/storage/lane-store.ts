import type { Database } from "bun:sqlite";
import type { FailureClass } from "../core/execution-limits.ts";
import type { Output } from "../core/l2tx.ts";
import { transactionRunner } from "./db.ts";
import { encodeOutputs } from "./outputs-codec.ts";

/**
 * The inclusion lane's writes: batches, frames, user ops and the ordered history. Nothing else
 * writes these tables, so the lane can keep their tips in memory and trust them.
 * Callers group calls inside `transaction` so one fsync covers a whole chunk.
 */
export interface OpenBatchRow {
  batchId: number;
  nonce: number;
  openedAtMs: number;
}

export interface FrameRow {
  frameId: number;
  batchId: number;
  frameIndex: number;
  safeBlock: number;
  fee: number;
}

export interface NewUserOp {
  frameId: number;
  sender: Uint8Array;
  nonce: number;
  maxFee: number;
  data: Uint8Array;
  signature: Uint8Array;
  txHash: Uint8Array;
  acceptedAtMs: number;
  /** What applying it emitted (SPEC 2.8); none when absent. */
  outputs?: readonly Output[];
}

export interface PendingDirect {
  inputIndex: number;
  sender: Uint8Array;
  blockNumber: number;
  payload: Uint8Array;
}

export interface BatchShape {
  userOpCount: number;
  dataBytes: number;
  frameCount: number;
  directCount: number;
}

export class LaneStore {
  private readonly qInsertUserOp;
  private readonly qInsertDirect;
  private readonly qOpenBatch;
  private readonly qOpenFrame;
  private readonly qCloseBatch;
  private readonly qPendingDirects;
  private readonly qOpenBatchRow;
  private readonly qLastFrame;
  private readonly qBatchShape;
  private readonly qNextOffset;
  private readonly qLastDrained;
  private readonly qLastBatch;
  private readonly qRestamp;
  private readonly qFrameEntries;
  private readonly qInsertOutputs;

  constructor(private readonly db: Database) {
    this.runInTx = transactionRunner(db);
    this.qInsertUserOp = db.query(
      `INSERT INTO user_ops (frame_id, sender, nonce, max_fee, data, signature, tx_hash, accepted_at_ms, outputs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.qInsertDirect = db.query(
      "INSERT INTO sequenced_l2_txs (l2_offset, input_index, frame_id) VALUES (?, ?, ?)",
    );
    this.qOpenBatch = db.query(
      "INSERT INTO batches (nonce, parent_id, opened_at_ms) VALUES (?, ?, ?) RETURNING batch_id AS id",
    );
    this.qOpenFrame = db.query(
      `INSERT INTO frames (batch_id, frame_index, safe_block, fee, opened_at_ms)
       VALUES (?, ?, ?, ?, ?) RETURNING frame_id AS id`,
    );
    this.qCloseBatch = db.query(
      "UPDATE batches SET closed_at_ms = ?, sealed_hash = ? WHERE batch_id = ? AND closed_at_ms IS NULL",
    );
    // Every stored input is at or below the reader's safe head; which of them a frame drains
    // is the scheduler's rule (core/scheduler-rules.ts isDrainableAt), applied by the lane.
    this.qPendingDirects = db.query(
      `SELECT input_index AS inputIndex, sender, block_number AS blockNumber, payload
       FROM safe_inputs
       WHERE input_index > ? AND sender <> ?
       ORDER BY input_index`,
    );
    this.qOpenBatchRow = db.query(
      `SELECT batch_id AS batchId, nonce, opened_at_ms AS openedAtMs FROM batches
       WHERE closed_at_ms IS NULL AND invalidated_at_ms IS NULL ORDER BY nonce DESC LIMIT 1`,
    );
    this.qLastFrame = db.query(
      `SELECT frame_id AS frameId, batch_id AS batchId, frame_index AS frameIndex,
              safe_block AS safeBlock, fee
       FROM frames WHERE batch_id = ? ORDER BY frame_index DESC LIMIT 1`,
    );
    this.qBatchShape = db.query(
      `SELECT
         (SELECT COUNT(*) FROM frames WHERE batch_id = ?1) AS frameCount,
         (SELECT COUNT(*) FROM sequenced_l2_txs s JOIN frames f2 ON f2.frame_id = s.frame_id
          WHERE f2.batch_id = ?1 AND s.input_index IS NOT NULL) AS directCount,
         COUNT(u.user_op_id) AS userOpCount,
         COALESCE(SUM(length(u.data)), 0) AS dataBytes
       FROM frames f JOIN user_ops u ON u.frame_id = f.frame_id
       WHERE f.batch_id = ?1`,
    );
    // Only a frame nothing refers to may be re-stamped; the guard makes that a checked fact.
    this.qRestamp = db.query(
      `UPDATE frames SET safe_block = ?, fee = ?
       WHERE frame_id = ?3 AND NOT EXISTS (SELECT 1 FROM sequenced_l2_txs WHERE frame_id = ?3)`,
    );
    this.qFrameEntries = db.query("SELECT COUNT(*) AS n FROM sequenced_l2_txs WHERE frame_id = ?");
    this.qInsertOutputs = db.query("INSERT INTO direct_outputs (l2_offset, outputs, failure) VALUES (?, ?, ?)");
    this.qNextOffset = db.query(
      "SELECT COALESCE(MAX(l2_offset) + 1, 0) AS n FROM sequenced_l2_txs",
    );
    this.qLastDrained = db.query(
      "SELECT COALESCE(MAX(input_index), -1) AS n FROM sequenced_l2_txs WHERE input_index IS NOT NULL",
    );
    this.qLastBatch = db.query(
      `SELECT batch_id AS batchId, nonce, opened_at_ms AS openedAtMs FROM batches
       WHERE invalidated_at_ms IS NULL ORDER BY nonce DESC LIMIT 1`,
    );
  }

  /** Runs `fn` in one transaction, a savepoint when nested (db.ts transactionRunner). */
  transaction<T>(fn: () => T): T {
    return this.runInTx(fn);
  }
  private readonly runInTx: <T>(fn: () => T) => T;

  insertUserOp(op: NewUserOp): void {
    this.qInsertUserOp.run(
      op.frameId,
      op.sender,
      op.nonce,
      op.maxFee,
      op.data,
      op.signature,
      op.txHash,
      op.acceptedAtMs,
      op.outputs === undefined || op.outputs.length === 0 ? null : encodeOutputs(op.outputs),
    );
  }

  insertDirect(offset: number, inputIndex: number, frameId: number): void {
    this.qInsertDirect.run(offset, inputIndex, frameId);
  }

  /**
   * Records what applying the direct input at `offset` emitted, or that the app failed on it
   * (after its history row). Nothing is written when there is neither.
   */
  insertDirectOutputs(offset: number, outputs: readonly Output[], failure: FailureClass | null): void {
    if (outputs.length === 0 && failure === null) return;
    this.qInsertOutputs.run(offset, encodeOutputs(outputs), failure);
  }

  openBatch(nonce: number, parentId: number | null, nowMs: number): number {
    return (this.qOpenBatch.get(nonce, parentId, nowMs) as { id: number }).id;
  }

  openFrame(batchId: number, frameIndex: number, safeBlock: number, fee: number, nowMs: number): number {
    return (this.qOpenFrame.get(batchId, frameIndex, safeBlock, fee, nowMs) as { id: number }).id;
  }

  restampFrame(frameId: number, safeBlock: number, fee: number): void {
    const r = this.qRestamp.run(safeBlock, fee, frameId);
    if (r.changes !== 1) throw new Error(`frame ${frameId} is not an empty open frame`);
  }

  frameEntries(frameId: number): number {
    return (this.qFrameEntries.get(frameId) as { n: number }).n;
  }

  closeBatch(batchId: number, nowMs: number, sealedHash: Uint8Array): void {
    const r = this.qCloseBatch.run(nowMs, sealedHash, batchId);
    if (r.changes !== 1) throw new Error(`batch ${batchId} was not open`);
  }

  /** Direct inputs (not from the submitter) after `afterInputIndex`, in L1 order. */
  undrainedDirects(afterInputIndex: number, submitter: Uint8Array): PendingDirect[] {
    return this.qPendingDirects.all(afterInputIndex, submitter) as PendingDirect[];
  }

  openBatchRow(): OpenBatchRow | null {
    return (this.qOpenBatchRow.get() as OpenBatchRow | null) ?? null;
  }

  lastLiveBatch(): OpenBatchRow | null {
    return (this.qLastBatch.get() as OpenBatchRow | null) ?? null;
  }

  lastFrame(batchId: number): FrameRow | null {
    return (this.qLastFrame.get(batchId) as FrameRow | null) ?? null;
  }

  batchShape(batchId: number): BatchShape {
    return this.qBatchShape.get(batchId) as BatchShape;
  }

  nextOffset(): number {
    return (this.qNextOffset.get() as { n: number }).n;
  }

  lastDrainedInputIndex(): number {
    return (this.qLastDrained.get() as { n: number }).n;
  }
}
