/**
 * The derived `tx_hash → user_op_id` index, kept in its own file (`<dataDir>/tx-index.db`)
 * and written by the storage worker, never by the inclusion lane.
 *
 * Why a separate file: a random-keyed B-tree index on `user_ops` dirties one page per op in
 * every group commit, and those pages are fsynced before the ops are acknowledged. Measured
 * (`scripts/bench/commit.ts`), it was 60 % of a 64-op commit. `user_ops.tx_hash` is the
 * source of truth; this index only makes lookups cheap and can be deleted at any time (it is
 * rebuilt from scratch at the next start).
 *
 * Lookups never depend on the index being current: the index covers `user_op_id <=
 * watermark`, and `GET /tx` scans the short tail above the watermark (TX_CANDIDATES_SQL).
 * Every candidate is re-checked against `user_ops.tx_hash`, so a stale or foreign index file
 * can make a lookup slower, never wrong.
 *
 * Writer: the storage worker (`indexNewOps`). The main thread only creates the schema at
 * startup (`attachTxIndex`) before the worker starts, and reads.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";

export const TX_INDEX_FILE_NAME = "tx-index.db";
/** Schema name of the attached index file on any connection that uses it. */
export const TX_INDEX_SCHEMA = "txi";

export function txIndexPath(dataDir: string): string {
  return join(dataDir, TX_INDEX_FILE_NAME);
}

/**
 * Attaches `<dataDir>/tx-index.db` to `db` as `txi`, creating its schema if needed. A
 * watermark beyond the newest `user_ops` row means the file belongs to another history (a
 * restored backup of sequencer.db, say): the index is cleared and rebuilt by the worker.
 * Returns the watermark in force. Must run outside a transaction.
 */
export function attachTxIndex(db: Database, dataDir: string): number {
  db.query(`ATTACH DATABASE ? AS ${TX_INDEX_SCHEMA}`).run(txIndexPath(dataDir));
  // Derived data: WAL without per-commit fsync. A crash may lose the newest entries; their
  // ops sit above the watermark that was durable with them, so the tail scan covers them.
  db.exec(`PRAGMA ${TX_INDEX_SCHEMA}.journal_mode = WAL`);
  db.exec(`PRAGMA ${TX_INDEX_SCHEMA}.synchronous = NORMAL`);
  // Cut back to 4 MiB when the log restarts, so a burst does not leave a large file behind.
  db.exec(`PRAGMA ${TX_INDEX_SCHEMA}.journal_size_limit = 4194304`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${TX_INDEX_SCHEMA}.tx_index (
      tx_hash     BLOB NOT NULL,
      user_op_id  INTEGER NOT NULL,
      PRIMARY KEY (tx_hash, user_op_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${TX_INDEX_SCHEMA}.tx_index_meta (
      id          INTEGER PRIMARY KEY CHECK (id = 1),
      watermark   INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO ${TX_INDEX_SCHEMA}.tx_index_meta (id, watermark) VALUES (1, 0);`);
  const newest = (db.query("SELECT COALESCE(MAX(user_op_id), 0) AS n FROM main.user_ops").get() as { n: number }).n;
  const watermark = txIndexWatermark(db);
  if (watermark > newest) {
    db.transaction(() => {
      db.exec(`DELETE FROM ${TX_INDEX_SCHEMA}.tx_index`);
      db.exec(`UPDATE ${TX_INDEX_SCHEMA}.tx_index_meta SET watermark = 0 WHERE id = 1`);
    })();
    return 0;
  }
  return watermark;
}

export function txIndexWatermark(db: Database): number {
  return (db.query(`SELECT watermark AS w FROM ${TX_INDEX_SCHEMA}.tx_index_meta WHERE id = 1`).get() as { w: number }).w;
}

/**
 * The ids of the ops carrying `?1`: from the index up to its watermark, by scan above it.
 * Both reads happen in one statement, so they see one consistent state of each file.
 */
export const TX_CANDIDATES_SQL = `
  SELECT x.user_op_id AS id FROM ${TX_INDEX_SCHEMA}.tx_index x WHERE x.tx_hash = ?1
  UNION
  SELECT t.user_op_id FROM main.user_ops t
  WHERE t.user_op_id > (SELECT m.watermark FROM ${TX_INDEX_SCHEMA}.tx_index_meta m WHERE m.id = 1)
    AND t.tx_hash = ?1`;

export interface IndexProgress {
  indexed: number;
  watermark: number;
  /** Ops above the watermark after this step. */
  lag: number;
}

/**
 * Indexes up to `limit` ops above the watermark, in one transaction that writes only the
 * index file (the read of `user_ops` is a consistent snapshot of the main file).
 */
export function indexNewOps(db: Database, limit: number): IndexProgress {
  return db.transaction((): IndexProgress => {
    const from = txIndexWatermark(db);
    const rows = db
      .query("SELECT user_op_id AS id, tx_hash AS h FROM main.user_ops WHERE user_op_id > ? ORDER BY user_op_id LIMIT ?")
      .all(from, limit) as { id: number; h: Uint8Array }[];
    const newest = (db.query("SELECT COALESCE(MAX(user_op_id), 0) AS n FROM main.user_ops").get() as { n: number }).n;
    if (rows.length === 0) return { indexed: 0, watermark: from, lag: newest - from };
    const ins = db.query(`INSERT OR IGNORE INTO ${TX_INDEX_SCHEMA}.tx_index (tx_hash, user_op_id) VALUES (?, ?)`);
    for (const r of rows) ins.run(r.h, r.id);
    const watermark = rows[rows.length - 1]!.id;
    db.query(`UPDATE ${TX_INDEX_SCHEMA}.tx_index_meta SET watermark = ? WHERE id = 1`).run(watermark);
    return { indexed: rows.length, watermark, lag: newest - watermark };
  })();
}
