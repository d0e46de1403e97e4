import type { Database } from "bun:sqlite";
import { StorageError } from "./db.ts";

/** One InputBox input of the app, as L1 recorded it. */
export interface SafeInputRow {
  inputIndex: number;
  sender: Uint8Array;
  blockNumber: number;
  blockTimestamp: number;
  txHash: Uint8Array;
  payload: Uint8Array;
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

  constructor(private readonly db: Database) {
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
  ): void {
    this.db.transaction(() => {
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
      this.upsertHeads.run(
        heads.safeBlock,
        nowMs,
        heads.finalizedBlock,
        heads.scannedThroughBlock,
      );
    })();
  }
}
