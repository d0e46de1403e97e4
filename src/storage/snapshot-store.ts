import type { Database } from "bun:sqlite";

/**
 * SQL of the snapshot registry (migration 5, docs/snapshots.md). No file I/O here: the
 * lifecycle in src/snapshots/ writes and deletes files and calls these in the right order.
 *
 * Writers: the snapshot manager inserts (once the file written after the seal is durable), the reader moves
 * the finalized pointer (inside the transaction that records the landing), the state routes
 * take and release leases, GC deletes rows.
 */
export interface SnapshotRow {
  snapshotId: number;
  batchId: number;
  batchNonce: number;
  l2TxIndex: number;
  executedInputCount: number;
  clock: number;
  sizeBytes: number;
  sha256: Uint8Array;
  fileName: string;
  createdAtMs: number;
}

export interface NewSnapshot {
  batchId: number;
  l2TxIndex: number;
  executedInputCount: bigint;
  clock: bigint;
  sizeBytes: number;
  sha256: Uint8Array;
  fileName: string;
  createdAtMs: number;
}

export interface FinalizedSnapshot {
  snapshot: SnapshotRow;
  inclusionBlock: number;
  inputIndex: number;
  finalizedAtMs: number;
}

export interface Lease {
  leaseId: number;
  snapshot: SnapshotRow;
}

export interface SnapshotStats {
  count: number;
  bytes: number;
  /** Newer than the finalized one (all of them when none is finalized). */
  pending: number;
  leases: number;
  finalizedL2TxIndex: number | null;
}

const COLUMNS = `
  s.snapshot_id AS snapshotId, s.batch_id AS batchId, b.nonce AS batchNonce,
  s.l2_tx_index AS l2TxIndex, s.executed_input_count AS executedInputCount, s.clock AS clock,
  s.size_bytes AS sizeBytes, s.sha256 AS sha256, s.file_name AS fileName,
  s.created_at_ms AS createdAtMs`;

/** Newest snapshot of a live (not invalidated) batch: what a restart loads, what GC keeps. */
const NEWEST_LIVE = `
  SELECT ${COLUMNS} FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id
  WHERE b.invalidated_at_ms IS NULL
  ORDER BY s.l2_tx_index DESC, s.snapshot_id DESC LIMIT 1`;

export class SnapshotStore {
  private readonly qInsert;
  private readonly qLiveBatch;
  private readonly qNewest;
  private readonly qFinalized;
  private readonly qById;
  private readonly qByBatch;
  private readonly qSetFinalized;
  private readonly qInsertLease;
  private readonly qDeleteLease;
  private readonly qClearLeases;
  private readonly qGc;
  private readonly qFiles;
  private readonly qStats;
  private readonly qLeaseCount;

  constructor(private readonly db: Database) {
    this.qInsert = db.query(
      `INSERT INTO snapshots (batch_id, l2_tx_index, executed_input_count, clock, size_bytes, sha256,
                              file_name, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING snapshot_id AS id`,
    );
    this.qLiveBatch = db.query(
      `SELECT (SELECT l.input_index FROM batch_landings l WHERE l.batch_id = b.batch_id AND l.verdict = 'accepted') AS landing
       FROM batches b WHERE b.batch_id = ? AND b.invalidated_at_ms IS NULL AND b.closed_at_ms IS NOT NULL`,
    );
    this.qNewest = db.query(NEWEST_LIVE);
    this.qFinalized = db.query(
      `SELECT ${COLUMNS}, f.inclusion_block AS inclusionBlock, f.input_index AS inputIndex,
              f.finalized_at_ms AS finalizedAtMs
       FROM finalized_snapshot f JOIN snapshots s ON s.snapshot_id = f.snapshot_id
       JOIN batches b ON b.batch_id = s.batch_id WHERE f.id = 1`,
    );
    this.qById = db.query(
      `SELECT ${COLUMNS} FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id WHERE s.snapshot_id = ?`,
    );
    this.qByBatch = db.query(
      `SELECT ${COLUMNS} FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id WHERE s.batch_id = ?`,
    );
    // Moves forward only: a landing of an older snapshot never replaces a newer pointer.
    this.qSetFinalized = db.query(
      `INSERT INTO finalized_snapshot (id, snapshot_id, l2_tx_index, input_index, inclusion_block, finalized_at_ms)
       SELECT 1, s.snapshot_id, s.l2_tx_index, i.input_index, i.block_number, ?3
       FROM snapshots s JOIN safe_inputs i ON i.input_index = ?2 WHERE s.batch_id = ?1
       ON CONFLICT (id) DO UPDATE SET
         snapshot_id = excluded.snapshot_id, l2_tx_index = excluded.l2_tx_index,
         input_index = excluded.input_index, inclusion_block = excluded.inclusion_block,
         finalized_at_ms = excluded.finalized_at_ms
       WHERE excluded.l2_tx_index > finalized_snapshot.l2_tx_index
          OR (excluded.l2_tx_index = finalized_snapshot.l2_tx_index
              AND excluded.snapshot_id > finalized_snapshot.snapshot_id)`,
    );
    this.qInsertLease = db.query(
      `INSERT INTO snapshot_leases (snapshot_id, process_instance, acquired_at_ms) VALUES (?, ?, ?)
       RETURNING lease_id AS id`,
    );
    this.qDeleteLease = db.query("DELETE FROM snapshot_leases WHERE lease_id = ?");
    this.qClearLeases = db.query("DELETE FROM snapshot_leases WHERE process_instance <> ?");
    this.qLeaseCount = db.query("SELECT COUNT(*) AS n FROM snapshot_leases WHERE snapshot_id = COALESCE(?, snapshot_id)");
    // Superseded: older than the finalized one, or of an invalidated batch. Never the
    // finalized one, never the newest live one, never a leased one.
    this.qGc = db.query(
      `WITH fin AS (SELECT snapshot_id AS id, l2_tx_index AS idx FROM finalized_snapshot WHERE id = 1),
            newest AS (SELECT s.snapshot_id AS id FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id
                       WHERE b.invalidated_at_ms IS NULL
                       ORDER BY s.l2_tx_index DESC, s.snapshot_id DESC LIMIT 1)
       DELETE FROM snapshots WHERE snapshot_id IN (
         SELECT s.snapshot_id FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id
         WHERE s.snapshot_id NOT IN (SELECT id FROM fin)
           AND s.snapshot_id NOT IN (SELECT id FROM newest)
           AND NOT EXISTS (SELECT 1 FROM snapshot_leases l WHERE l.snapshot_id = s.snapshot_id)
           AND (b.invalidated_at_ms IS NOT NULL OR s.l2_tx_index < (SELECT idx FROM fin)))
       RETURNING file_name AS fileName`,
    );
    this.qFiles = db.query("SELECT file_name AS fileName FROM snapshots");
    this.qStats = db.query(
      `SELECT COUNT(*) AS count, COALESCE(SUM(size_bytes), 0) AS bytes,
              COALESCE(SUM(l2_tx_index > COALESCE((SELECT l2_tx_index FROM finalized_snapshot WHERE id = 1), -1)), 0) AS pending,
              (SELECT COUNT(*) FROM snapshot_leases) AS leases,
              (SELECT l2_tx_index FROM finalized_snapshot WHERE id = 1) AS finalizedL2TxIndex
       FROM snapshots`,
    );
  }

  /** Registers a durable snapshot file. Call inside the transaction that seals `batchId`. */
  /**
   * Registers the snapshot of a sealed batch whose file was written after the seal committed.
   * Refused (null) when the batch has been invalidated meanwhile: its state is no longer a
   * prefix of the history. If the batch was already accepted on L1 by then, the finalized
   * pointer catches up in the same transaction, as it would have in the reader's.
   */
  registerSealed(s: NewSnapshot, nowMs: number): number | null {
    return this.registerSealedAll([s], nowMs)[0]!;
  }

  /** `registerSealed` for several rows, in one transaction; ids (or null) in order. */
  registerSealedAll(rows: NewSnapshot[], nowMs: number): (number | null)[] {
    return this.db.transaction(() =>
      rows.map((s) => {
        const live = this.qLiveBatch.get(s.batchId) as { landing: number | null } | null;
        if (!live) return null;
        const id = this.insert(s);
        if (live.landing !== null) this.markFinalized(s.batchId, live.landing, nowMs);
        return id;
      }),
    )();
  }

  insert(s: NewSnapshot): number {
    return (
      this.qInsert.get(
        s.batchId,
        s.l2TxIndex,
        s.executedInputCount,
        s.clock,
        s.sizeBytes,
        s.sha256,
        s.fileName,
        s.createdAtMs,
      ) as { id: number }
    ).id;
  }

  /** The newest snapshot of a live batch (pending if any, else the finalized one). */
  newest(): SnapshotRow | null {
    return (this.qNewest.get() as SnapshotRow | null) ?? null;
  }

  finalized(): FinalizedSnapshot | null {
    const r = this.qFinalized.get() as
      | (SnapshotRow & { inclusionBlock: number; inputIndex: number; finalizedAtMs: number })
      | null;
    if (!r) return null;
    const { inclusionBlock, inputIndex, finalizedAtMs, ...snapshot } = r;
    return { snapshot, inclusionBlock, inputIndex, finalizedAtMs };
  }

  byId(snapshotId: number): SnapshotRow | null {
    return (this.qById.get(snapshotId) as SnapshotRow | null) ?? null;
  }

  byBatch(batchId: number): SnapshotRow | null {
    return (this.qByBatch.get(batchId) as SnapshotRow | null) ?? null;
  }

  /**
   * Our batch `batchId` was accepted in an L1-safe block by the safe input `inputIndex`: its
   * snapshot becomes the finalized one (inclusion block = that input's block), if it has one
   * and it is newer than the current pointer. Call inside the transaction that records the
   * landing, after the input is stored.
   * @returns whether the pointer moved.
   */
  markFinalized(batchId: number, inputIndex: number, nowMs: number): boolean {
    return this.qSetFinalized.run(batchId, inputIndex, nowMs).changes > 0;
  }

  /**
   * Leases the snapshot `pick` chooses, in one transaction, so GC cannot delete it between
   * the choice and the lease. Null when `pick` finds none.
   */
  acquireLease(pick: () => SnapshotRow | null, processInstance: string, nowMs: number): Lease | null {
    return this.db.transaction(() => {
      const snapshot = pick();
      if (!snapshot) return null;
      const id = (this.qInsertLease.get(snapshot.snapshotId, processInstance, nowMs) as { id: number }).id;
      return { leaseId: id, snapshot };
    })();
  }

  releaseLease(leaseId: number): void {
    this.qDeleteLease.run(leaseId);
  }

  /** Drops leases held by other (dead) processes; returns how many. */
  clearForeignLeases(processInstance: string): number {
    return this.qClearLeases.run(processInstance).changes;
  }

  leaseCount(snapshotId?: number): number {
    return (this.qLeaseCount.get(snapshotId ?? null) as { n: number }).n;
  }

  /** Deletes the rows of superseded, unleased snapshots (one transaction); returns their files. */
  deleteSuperseded(): string[] {
    return this.db.transaction(() => (this.qGc.all() as { fileName: string }[]).map((r) => r.fileName))();
  }

  referencedFiles(): Set<string> {
    return new Set((this.qFiles.all() as { fileName: string }[]).map((r) => r.fileName));
  }

  /** Count and bytes for operators (the /metrics route reads this). */
  stats(): SnapshotStats {
    return this.qStats.get() as SnapshotStats;
  }
}
