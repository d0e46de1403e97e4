import type { Database } from "bun:sqlite";
import { StorageError, transactionRunner } from "./db.ts";
import { SCHEDULER_NEXT_NONCE_SQL } from "./sql-fragments.ts";
import { SnapshotStore } from "./snapshot-store.ts";

/** One InputBox input of the app, as L1 recorded it. */
export interface SafeInputRow {
  inputIndex: number;
  sender: Uint8Array;
  blockNumber: number;
  blockTimestamp: number;
  txHash: Uint8Array;
  payload: Uint8Array;
}

/** The scheduler's verdict on one safe input sent by the batch submitter. */
export interface LandingRow {
  inputIndex: number;
  verdict: "accepted" | "malformed" | "wrong_nonce" | "invalid_structure" | "stale";
  batchNonce: number | null;
  /** Our batch, when the landing is accepted and byte-identical to what we sealed. */
  batchId: number | null;
  detail: string | null;
}

export interface DivergenceRow {
  batchNonce: number;
  inputIndex: number;
  l1TxHash: Uint8Array;
  reason: string;
  detectedAtMs: number;
}

export interface SealedBatch {
  batchId: number;
  sealedHash: Uint8Array;
}

export interface L1Heads {
  safeBlock: number;
  safeAdvancedAtMs: number;
  finalizedBlock: number;
  scannedThroughBlock: number;
}

/**
 * The input reader's writes: safe inputs and the L1 heads. Both change in one transaction,
 * so anyone who sees safe head H also sees every input with block <= H.
 */
export class ReaderStore {
  private readonly insertInput;
  private readonly upsertHeads;
  private readonly selectHeads;
  private readonly selectNextIndex;
  private readonly insertLanding;
  private readonly insertDivergence;
  private readonly selectDivergence;
  private readonly selectNextBatchNonce;
  private readonly selectSealed;
  private readonly snapshots: SnapshotStore;

  private readonly inTransaction: <T>(fn: () => T) => T;

  constructor(private readonly db: Database) {
    this.inTransaction = transactionRunner(db);
    this.snapshots = new SnapshotStore(db);
    this.insertInput = db.query(
      `INSERT INTO safe_inputs (input_index, sender, block_number, block_timestamp, tx_hash, payload)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.upsertHeads = db.query(
      `INSERT INTO l1_heads (id, safe_block, safe_advanced_at_ms, finalized_block, scanned_through_block)
       VALUES (1, ?1, ?2, ?3, ?4)
       ON CONFLICT (id) DO UPDATE SET
         safe_advanced_at_ms = CASE WHEN excluded.safe_block > l1_heads.safe_block
                                    THEN excluded.safe_advanced_at_ms
                                    ELSE l1_heads.safe_advanced_at_ms END,
         safe_block = MAX(l1_heads.safe_block, excluded.safe_block),
         finalized_block = MAX(l1_heads.finalized_block, excluded.finalized_block),
         scanned_through_block = MAX(l1_heads.scanned_through_block, excluded.scanned_through_block)`,
    );
    this.selectHeads = db.query(
      `SELECT safe_block AS safeBlock, safe_advanced_at_ms AS safeAdvancedAtMs,
              finalized_block AS finalizedBlock, scanned_through_block AS scannedThroughBlock
       FROM l1_heads WHERE id = 1`,
    );
    this.selectNextIndex = db.query(
      "SELECT COALESCE(MAX(input_index) + 1, 0) AS n FROM safe_inputs",
    );
    this.insertLanding = db.query(
      "INSERT INTO batch_landings (input_index, verdict, batch_nonce, batch_id, detail) VALUES (?, ?, ?, ?, ?)",
    );
    this.insertDivergence = db.query(
      `INSERT OR IGNORE INTO divergence (id, batch_nonce, input_index, l1_tx_hash, reason, detected_at_ms)
       VALUES (1, ?, ?, ?, ?, ?)`,
    );
    this.selectDivergence = db.query(
      `SELECT batch_nonce AS batchNonce, input_index AS inputIndex, l1_tx_hash AS l1TxHash,
              reason, detected_at_ms AS detectedAtMs FROM divergence WHERE id = 1`,
    );
    this.selectNextBatchNonce = db.query(
      `SELECT ${SCHEDULER_NEXT_NONCE_SQL} AS n`,
    );
    this.selectSealed = db.query(
      `SELECT batch_id AS batchId, sealed_hash AS sealedHash FROM batches
       WHERE nonce = ? AND invalidated_at_ms IS NULL AND sealed_hash IS NOT NULL`,
    );
  }

  /** The scheduler's next batch nonce as of the stored safe inputs. */
  nextBatchNonce(): number {
    return (this.selectNextBatchNonce.get() as { n: number }).n;
  }

  /** Our sealed (closed, live) batch with this nonce, if any. */
  sealedBatch(nonce: number): SealedBatch | null {
    return (this.selectSealed.get(nonce) as SealedBatch | null) ?? null;
  }

  divergence(): DivergenceRow | null {
    return (this.selectDivergence.get() as DivergenceRow | null) ?? null;
  }

  heads(): L1Heads | null {
    return (this.selectHeads.get() as L1Heads | null) ?? null;
  }

  nextInputIndex(): number {
    return (this.selectNextIndex.get() as { n: number }).n;
  }

  /**
   * Appends inputs (which must continue the index sequence with no gap) and moves the heads
   * forward, atomically. Heads never move backwards: a lagging RPC node cannot undo progress.
   */
  append(
    inputs: readonly SafeInputRow[],
    heads: { safeBlock: number; finalizedBlock: number; scannedThroughBlock: number },
    nowMs: number,
    landings: readonly LandingRow[] = [],
    divergence: DivergenceRow | null = null,
  ): void {
    this.inTransaction(() => {
      let expected = this.nextInputIndex();
      for (const i of inputs) {
        if (i.inputIndex !== expected) {
          throw new StorageError(
            `input index gap: expected ${expected}, got ${i.inputIndex}; refusing to store`,
          );
        }
        if (i.blockNumber > heads.scannedThroughBlock) {
          throw new StorageError(
            `input ${i.inputIndex} at block ${i.blockNumber} is past the scanned range ` +
              `${heads.scannedThroughBlock}`,
          );
        }
        this.insertInput.run(
          i.inputIndex,
          i.sender,
          i.blockNumber,
          i.blockTimestamp,
          i.txHash,
          i.payload,
        );
        expected++;
      }
      for (const l of landings) {
        this.insertLanding.run(l.inputIndex, l.verdict, l.batchNonce, l.batchId, l.detail);
        // Our batch accepted in a safe block: its snapshot becomes the finalized one, in this
        // same transaction (never two, never none once one exists; docs/snapshots.md).
        if (l.verdict === "accepted" && l.batchId !== null) {
          this.snapshots.markFinalized(l.batchId, l.inputIndex, nowMs);
        }
      }
      if (divergence) {
        this.insertDivergence.run(
          divergence.batchNonce,
          divergence.inputIndex,
          divergence.l1TxHash,
          divergence.reason,
          divergence.detectedAtMs,
        );
      }
      this.upsertHeads.run(
        heads.safeBlock,
        nowMs,
        heads.finalizedBlock,
        heads.scannedThroughBlock,
      );
    });
  }
}
