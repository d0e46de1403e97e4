/**
 * Keeping sequencer.db's WAL bounded under steady load.
 *
 * SQLite restarts the WAL from its first frame only at the start of a write transaction that
 * finds every frame already copied into the database file (and no reader still on them). The
 * storage worker's PASSIVE checkpoint copies the frames that exist when it starts; under a
 * steady load the lane appends more while it runs, so that condition never holds and the WAL
 * grows for as long as the load lasts (≈ 15 MB/s at 1k ops/s): disk use climbs, a crash
 * restart reads the whole file back, and every commit's fsync also has to journal the file's
 * new size (a 1-op FULL commit measured ≈ 0.63 ms on a growing WAL against ≈ 0.50 ms on a
 * reused one, docs/perf-log.md).
 *
 * The cure keeps the bulk copy off the lane's thread: after a worker checkpoint that copied
 * everything it saw, the writer's own connection copies the remainder (the frames of the few
 * commits made meanwhile) between two lane transactions. No lane write can then slip in
 * between the copy and the writer's next transaction, which restarts the log.
 */
import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";

export interface CheckpointResult {
  /** Frames in the WAL, and how many of them are now in the database file. */
  walFrames: number;
  copied: number;
  /** Every frame is copied: the next write transaction may restart the WAL. */
  complete: boolean;
  ms: number;
}

/**
 * A PASSIVE checkpoint: copies what no reader still needs, never waits for a lock. On the
 * writer's connection it runs outside any transaction, and is cheap when the worker did the
 * bulk.
 */
export function passiveCheckpoint(db: Database): CheckpointResult {
  const t0 = performance.now();
  const r = db.query("PRAGMA main.wal_checkpoint(PASSIVE)").get() as { busy: number; log: number; checkpointed: number };
  return {
    walFrames: r.log,
    copied: r.checkpointed,
    // An empty WAL has nothing to restart.
    complete: r.busy === 0 && r.log > 0 && r.log === r.checkpointed,
    ms: performance.now() - t0,
  };
}

/**
 * The storage worker's checkpoint: a bulk pass, then up to `maxTailPasses` short ones, each
 * copying what the lane appended during the previous pass. It stops early when a reader
 * holds frames back or nothing was appended. `ms` covers all passes.
 */
export function checkpointWithTailPasses(db: Database, maxTailPasses: number): CheckpointResult {
  const t0 = performance.now();
  let r = passiveCheckpoint(db);
  for (let pass = 0; pass < maxTailPasses && r.complete; pass++) {
    const next = passiveCheckpoint(db);
    const appended = next.walFrames - r.walFrames;
    r = next;
    if (appended <= 0) break;
  }
  return { ...r, ms: performance.now() - t0 };
}

export interface StartupCheckpoint {
  /** Size of sequencer.db-wal when the process started. */
  walBytes: number;
  /** The WAL was emptied and truncated to zero bytes. */
  truncated: boolean;
  ms: number;
}

/**
 * Empties the WAL a previous process left behind, before this one writes. Without it a
 * process that dies before its first periodic checkpoint (a crash loop, or restarts a few
 * seconds apart) leaves every frame it wrote in the WAL, the next one appends to it, and
 * the file grows with the history: each start then reads it all back to rebuild the WAL
 * index (measured: +30 MB and +20 ms per 10k ops, kill -9 loop, docs/perf-log.md). Copying
 * it once here costs what the last process wrote, not what the history holds.
 *
 * TRUNCATE waits (busy_timeout) for readers of other processes, such as an export running
 * beside the sequencer; if one still holds frames, the copy is partial and the file stays,
 * which is only slower, never wrong. Must run outside any transaction.
 */
export function checkpointLeftoverWal(db: Database, dbPath: string): StartupCheckpoint {
  const t0 = performance.now();
  const walBytes = fileSize(`${dbPath}-wal`);
  if (walBytes === 0) return { walBytes, truncated: false, ms: 0 };
  const r = db.query("PRAGMA main.wal_checkpoint(TRUNCATE)").get() as { busy: number; log: number; checkpointed: number };
  return { walBytes, truncated: r.busy === 0 && fileSize(`${dbPath}-wal`) === 0, ms: performance.now() - t0 };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
