import type { Database } from "bun:sqlite";
import { SCHEDULER_NEXT_NONCE_SQL } from "./sql-fragments.ts";

/**
 * The batch submitter's writes: its broadcasts and the wallet-nonce watermark. It reads the
 * batches the lane sealed and the landings the reader judged, and never writes those.
 */
export interface UnacceptedBatch {
  batchId: number;
  nonce: number;
}

export interface SubmissionRow {
  batchId: number;
  walletNonce: number;
  l1TxHash: Uint8Array;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  sentAtMs: number;
  minedBlock: number | null;
}

export class SubmitterStore {
  private readonly qUnaccepted;
  private readonly qWatermark;
  private readonly qRaise;
  private readonly qInsert;
  private readonly qForBatch;
  private readonly qMined;
  private readonly qFeesAt;

  constructor(private readonly db: Database) {
    // Closed, live batches that the scheduler has not accepted (as of the safe head). Only
    // nonces from the scheduler's next one on can be unaccepted, which keeps this a short
    // index range however long the history grows.
    this.qUnaccepted = db.query(
      `SELECT b.batch_id AS batchId, b.nonce AS nonce FROM batches b
       WHERE b.nonce >= ${SCHEDULER_NEXT_NONCE_SQL}
         AND b.closed_at_ms IS NOT NULL AND b.invalidated_at_ms IS NULL
         AND NOT EXISTS (SELECT 1 FROM batch_landings l WHERE l.batch_id = b.batch_id)
       ORDER BY b.nonce`,
    );
    this.qWatermark = db.query("SELECT next_wallet_nonce AS n FROM wallet_nonce_watermark WHERE id = 1");
    this.qRaise = db.query(
      `INSERT INTO wallet_nonce_watermark (id, next_wallet_nonce) VALUES (1, ?1)
       ON CONFLICT (id) DO UPDATE SET next_wallet_nonce = MAX(next_wallet_nonce, excluded.next_wallet_nonce)`,
    );
    this.qInsert = db.query(
      `INSERT OR IGNORE INTO batch_submissions
         (batch_id, wallet_nonce, l1_tx_hash, max_fee_per_gas, max_priority_fee_per_gas, sent_at_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.qForBatch = db.query(
      `SELECT batch_id AS batchId, wallet_nonce AS walletNonce, l1_tx_hash AS l1TxHash,
              max_fee_per_gas AS maxFeePerGas, max_priority_fee_per_gas AS maxPriorityFeePerGas,
              sent_at_ms AS sentAtMs, mined_block AS minedBlock
       FROM batch_submissions WHERE batch_id = ? ORDER BY submission_id`,
    );
    this.qMined = db.query("UPDATE batch_submissions SET mined_block = ? WHERE l1_tx_hash = ?");
    this.qFeesAt = db.query(
      "SELECT max_fee_per_gas AS f, max_priority_fee_per_gas AS t FROM batch_submissions WHERE wallet_nonce = ?",
    );
  }

  /**
   * The highest fee pair recorded for any batch transaction at `walletNonce` (field by field),
   * or null when none was sent there: what a replacement must outbid. The columns are TEXT
   * (uint256 does not fit SQLite integers), so the maximum is taken in bigint.
   */
  knownFees(walletNonce: number): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | null {
    const rows = this.qFeesAt.all(walletNonce) as { f: string; t: string }[];
    if (rows.length === 0) return null;
    let maxFeePerGas = 0n;
    let maxPriorityFeePerGas = 0n;
    for (const r of rows) {
      if (BigInt(r.f) > maxFeePerGas) maxFeePerGas = BigInt(r.f);
      if (BigInt(r.t) > maxPriorityFeePerGas) maxPriorityFeePerGas = BigInt(r.t);
    }
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  unacceptedBatches(): UnacceptedBatch[] {
    return this.qUnaccepted.all() as UnacceptedBatch[];
  }

  /** One past the highest wallet nonce we may have broadcast at (0 before the first). */
  watermark(): number {
    return (this.qWatermark.get() as { n: number } | null)?.n ?? 0;
  }

  /** Durably raises the watermark (never lowers it); committed before the broadcast. */
  raiseWatermark(nextWalletNonce: number): void {
    this.qRaise.run(nextWalletNonce);
  }

  recordSubmission(s: Omit<SubmissionRow, "minedBlock">): void {
    this.qInsert.run(
      s.batchId,
      s.walletNonce,
      s.l1TxHash,
      s.maxFeePerGas.toString(),
      s.maxPriorityFeePerGas.toString(),
      s.sentAtMs,
    );
  }

  submissions(batchId: number): SubmissionRow[] {
    return (this.qForBatch.all(batchId) as (Omit<SubmissionRow, "maxFeePerGas" | "maxPriorityFeePerGas"> & {
      maxFeePerGas: string;
      maxPriorityFeePerGas: string;
    })[]).map((r) => ({
      ...r,
      maxFeePerGas: BigInt(r.maxFeePerGas),
      maxPriorityFeePerGas: BigInt(r.maxPriorityFeePerGas),
    }));
  }

  markMined(l1TxHash: Uint8Array, block: number): void {
    this.qMined.run(block, l1TxHash);
  }
}
