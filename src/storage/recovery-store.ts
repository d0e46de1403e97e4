import type { Database } from "bun:sqlite";
import { StorageError } from "./db.ts";
import { SCHEDULER_NEXT_NONCE_SQL } from "./sql-fragments.ts";

/**
 * Liveness recovery's writes (SPEC §6): the progress marker, and the cascade, which is the
 * only writer of invalidation stamps, generations and history truncation. It runs while the
 * inclusion lane is paused, so the lane's tables are not written by two parties at once.
 */
export interface RecoveryPhase {
  phase: "flushing" | "cascading";
  reason: string;
  startedAtMs: number;
  flushSafeBlock: number | null;
}

export interface CascadeInput {
  /** The scheduler's next batch nonce, as the reader established it at the safe head. */
  nextBatchNonce: number;
  /** The safe head the reopened batch's first frame is stamped with. */
  safeHead: number;
  fee: number;
  reason: string;
  nowMs: number;
}

export interface CascadeResult {
  generation: number;
  truncatedAtOffset: number;
  firstInvalidNonce: number;
  invalidatedBatches: number;
  invalidatedOps: number;
  /** Direct inputs whose history rows were cut; the lane drains them again. */
  redrainedInputs: number;
}

export interface GenerationRow {
  generation: number;
  truncatedAtOffset: number;
}

export class RecoveryStore {
  constructor(private readonly db: Database) {}

  generation(): number {
    return (this.db.query("SELECT COALESCE(MAX(generation), 0) AS g FROM recovery_generations").get() as { g: number }).g;
  }

  generations(): GenerationRow[] {
    return this.db
      .query("SELECT generation, truncated_at_offset AS truncatedAtOffset FROM recovery_generations ORDER BY generation")
      .all() as GenerationRow[];
  }

  /** What the feed needs to tell a reconnecting client about cuts it has not seen. */
  generationSource(): { current(): number; cutSince(generation: number): number | null } {
    return {
      current: () => this.generation(),
      cutSince: (g) =>
        (this.db
          .query("SELECT MIN(truncated_at_offset) AS x FROM recovery_generations WHERE generation > ?")
          .get(g) as { x: number | null }).x,
    };
  }

  phase(): RecoveryPhase | null {
    return (
      (this.db
        .query(
          `SELECT phase, reason, started_at_ms AS startedAtMs, flush_safe_block AS flushSafeBlock
           FROM recovery_state WHERE id = 1`,
        )
        .get() as RecoveryPhase | null) ?? null
    );
  }

  /**
   * What the danger detector looks at: the oldest sealed live batch not accepted on L1 (the
   * one every later batch depends on) and the open batch when it holds anything, each with
   * its first frame's safe block. Runs per chunk of ops (the lane's guard): index ranges only.
   */
  dangerView(
    /** Count the open batch even when empty: it is about to receive an op. */
    openEvenIfEmpty = false,
  ): {
    unaccepted: { nonce: number; firstSafeBlock: number }[];
    open: { nonce: number; firstSafeBlock: number; hasContent: boolean } | null;
  } {
    const unaccepted = this.db
      .query(
        `SELECT b.nonce AS nonce,
                (SELECT f.safe_block FROM frames f WHERE f.batch_id = b.batch_id ORDER BY f.frame_index LIMIT 1) AS firstSafeBlock
         FROM batches b
         WHERE b.nonce >= ${SCHEDULER_NEXT_NONCE_SQL}
           AND b.closed_at_ms IS NOT NULL AND b.invalidated_at_ms IS NULL
           AND NOT EXISTS (SELECT 1 FROM batch_landings l WHERE l.batch_id = b.batch_id)
         ORDER BY b.nonce LIMIT 1`,
      )
      .all() as { nonce: number; firstSafeBlock: number }[];
    const open = this.db
      .query(
        `SELECT nonce, firstSafeBlock, hasContent FROM (
           SELECT b.nonce AS nonce,
                  (SELECT f.safe_block FROM frames f WHERE f.batch_id = b.batch_id ORDER BY f.frame_index LIMIT 1) AS firstSafeBlock,
                  EXISTS (SELECT 1 FROM frames f JOIN sequenced_l2_txs s ON s.frame_id = f.frame_id WHERE f.batch_id = b.batch_id) AS hasContent
           FROM batches b
           WHERE b.closed_at_ms IS NULL AND b.invalidated_at_ms IS NULL
           ORDER BY b.nonce DESC LIMIT 1)
         WHERE ?1 OR hasContent`,
      )
      .get(openEvenIfEmpty ? 1 : 0) as { nonce: number; firstSafeBlock: number; hasContent: number } | null;
    return { unaccepted, open: open ? { ...open, hasContent: open.hasContent === 1 } : null };
  }

  /** Records that a recovery started (or keeps the one already on record). */
  begin(reason: string, nowMs: number): RecoveryPhase {
    this.db
      .query(
        `INSERT OR IGNORE INTO recovery_state (id, phase, reason, started_at_ms) VALUES (1, 'flushing', ?, ?)`,
      )
      .run(reason, nowMs);
    return this.phase()!;
  }

  /** The flush finished: every wallet slot is settled at `flushSafeBlock`. */
  flushed(flushSafeBlock: number): void {
    this.db
      .query("UPDATE recovery_state SET phase = 'cascading', flush_safe_block = ? WHERE id = 1")
      .run(flushSafeBlock);
  }

  end(): void {
    this.db.query("DELETE FROM recovery_state WHERE id = 1").run();
  }

  /**
   * Invalidates every live batch from `nextBatchNonce` on (write-once stamps), moves the
   * history from their first entry on into `truncated_l2_txs`, bumps the generation, and
   * reopens an open batch at the same nonce with one frame at the safe head — in one
   * transaction. Returns null when there is nothing to invalidate.
   */
  cascade(i: CascadeInput): CascadeResult | null {
    return this.db.transaction((): CascadeResult | null => {
      const doomed = this.db
        .query(
          `SELECT batch_id AS batchId, nonce FROM batches
           WHERE invalidated_at_ms IS NULL AND nonce >= ? ORDER BY nonce`,
        )
        .all(i.nextBatchNonce) as { batchId: number; nonce: number }[];
      if (doomed.length === 0) return null;
      if (doomed[0]!.nonce !== i.nextBatchNonce) {
        throw new StorageError(
          `cascade: the first live batch at or after nonce ${i.nextBatchNonce} has nonce ${doomed[0]!.nonce}`,
        );
      }
      const ids = doomed.map((d) => d.batchId);
      const inDoomed = `(${ids.map(() => "?").join(",")})`;
      const head = (this.db.query("SELECT COALESCE(MAX(l2_offset) + 1, 0) AS n FROM sequenced_l2_txs").get() as { n: number }).n;
      const first = this.db
        .query(
          `SELECT MIN(s.l2_offset) AS x FROM sequenced_l2_txs s JOIN frames f ON f.frame_id = s.frame_id
           WHERE f.batch_id IN ${inDoomed}`,
        )
        .get(...ids) as { x: number | null };
      const cut = first.x ?? head;
      // Everything from the cut on must belong to the doomed suffix: batches execute in order.
      const foreign = this.db
        .query(
          `SELECT COUNT(*) AS n FROM sequenced_l2_txs s JOIN frames f ON f.frame_id = s.frame_id
           WHERE s.l2_offset >= ? AND f.batch_id NOT IN ${inDoomed}`,
        )
        .get(cut, ...ids) as { n: number };
      if (foreign.n > 0) throw new StorageError(`cascade: ${foreign.n} history rows after offset ${cut} belong to live batches`);

      const generation = this.generation() + 1;
      const cutRows = this.db
        .query(
          `SELECT COUNT(*) AS total, COUNT(user_op_id) AS ops, COUNT(input_index) AS directs
           FROM sequenced_l2_txs WHERE l2_offset >= ?`,
        )
        .get(cut) as { total: number; ops: number; directs: number };
      this.db
        .query(
          `INSERT INTO recovery_generations
             (generation, truncated_at_offset, first_invalid_nonce, invalidated_batches, invalidated_ops,
              redrained_inputs, reason, recovered_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(generation, cut, i.nextBatchNonce, doomed.length, cutRows.ops, cutRows.directs, i.reason, i.nowMs);
      this.db
        .query(
          `INSERT INTO truncated_l2_txs (generation, l2_offset, user_op_id, input_index, frame_id)
           SELECT ?, l2_offset, user_op_id, input_index, frame_id FROM sequenced_l2_txs WHERE l2_offset >= ?`,
        )
        .run(generation, cut);
      this.db.query("DELETE FROM sequenced_l2_txs WHERE l2_offset >= ?").run(cut);
      this.db
        .query(`UPDATE batches SET invalidated_at_ms = ? WHERE invalidated_at_ms IS NULL AND batch_id IN ${inDoomed}`)
        .run(i.nowMs, ...ids);

      const parent = this.db
        .query("SELECT batch_id AS id FROM batches WHERE nonce = ? AND invalidated_at_ms IS NULL")
        .get(i.nextBatchNonce - 1) as { id: number } | null;
      const batchId = (
        this.db
          .query("INSERT INTO batches (nonce, parent_id, opened_at_ms) VALUES (?, ?, ?) RETURNING batch_id AS id")
          .get(i.nextBatchNonce, parent?.id ?? null, i.nowMs) as { id: number }
      ).id;
      this.db
        .query("INSERT INTO frames (batch_id, frame_index, safe_block, fee, opened_at_ms) VALUES (?, 0, ?, ?, ?)")
        .run(batchId, i.safeHead, i.fee, i.nowMs);
      return {
        generation,
        truncatedAtOffset: cut,
        firstInvalidNonce: i.nextBatchNonce,
        invalidatedBatches: doomed.length,
        invalidatedOps: cutRows.ops,
        redrainedInputs: cutRows.directs,
      };
    })();
  }
}
