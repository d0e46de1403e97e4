/**
 * Worker side of StorageBackground: the storage chores that must not stall the inclusion
 * lane's thread.
 *
 *   checkpoint   PASSIVE WAL checkpoints of sequencer.db from this thread's own connection
 *                (copying pages and fsyncing the database file used to run on the main
 *                thread between group commits); the writer finishes a complete one with a
 *                few frames so the WAL restarts (src/storage/wal.ts);
 *   tx index     keeps tx-index.db (src/storage/tx-index.ts) up to date with user_ops;
 *   snapshots    hashes and writes snapshot files durably (temp, fsync, rename, fsync dir)
 *                and answers with the name and sha256; the main thread registers the row.
 *
 * It never writes sequencer.db. Messages are handled one at a time, in order.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { writeSnapshot as writeSnapshotDurably } from "./snapshot-files.ts";
import { DB_FILE_NAME } from "./db.ts";
import { attachTxIndex, indexNewOps } from "./tx-index.ts";
import { checkpointWithTailPasses } from "./wal.ts";

export interface StorageWorkerInit {
  type: "init";
  dataDir: string;
  checkpointIntervalMs: number;
  indexIntervalMs: number;
  /** Ops indexed per transaction: bounds how long one step holds the index file's lock. */
  indexBatch: number;
}

export interface SnapshotWriteRequest {
  type: "snapshot";
  id: number;
  dir: string;
  l2TxIndex: number;
  batchId: number;
  bytes: Uint8Array;
}

export type ToStorageWorker = StorageWorkerInit | SnapshotWriteRequest | { type: "index-now" } | { type: "stop" };

export type FromStorageWorker =
  | { type: "ready"; watermark: number }
  | { type: "snapshot-written"; id: number; fileName: string; sha256: Uint8Array; ms: number }
  | { type: "snapshot-failed"; id: number; message: string }
  | { type: "indexed"; indexed: number; watermark: number; lag: number; ms: number }
  | { type: "checkpointed"; ms: number; walPages: number; copied: number; complete: boolean }
  | { type: "error"; task: "checkpoint" | "index" | "init"; message: string }
  | { type: "stopped" };

declare const self: Worker;

let db: Database | null = null;
let timers: ReturnType<typeof setInterval>[] = [];
let init: StorageWorkerInit | null = null;

function post(m: FromStorageWorker): void {
  self.postMessage(m);
}

function start(m: StorageWorkerInit): void {
  init = m;
  try {
    db = new Database(join(m.dataDir, DB_FILE_NAME), { readwrite: true, strict: true });
    db.exec("PRAGMA busy_timeout = 5000");
    // A checkpoint's own fsyncs follow the connection's setting; FULL like the lane's.
    db.exec("PRAGMA synchronous = FULL");
    const watermark = attachTxIndex(db, m.dataDir);
    // This connection writes only tx-index.db, so this is that file's checkpoint size. The
    // index is random-keyed: every op dirties its own page, and SQLite's default (1000 pages)
    // made one 4 MB checkpoint-and-fsync a second at 1k ops/s, which stalled the lane's
    // FULL commits on the same disk past 10 ms (docs/perf-log.md). Small, frequent ones
    // keep each flush short.
    db.exec(`PRAGMA wal_autocheckpoint = ${TX_INDEX_CHECKPOINT_PAGES}`);
    post({ type: "ready", watermark });
  } catch (e) {
    post({ type: "error", task: "init", message: (e as Error).message });
    return;
  }
  timers.push(setInterval(checkpoint, m.checkpointIntervalMs));
  timers.push(setInterval(indexStep, m.indexIntervalMs));
  indexStep();
}

/** tx-index.db's WAL is checkpointed when it holds this many pages (see start()). */
const TX_INDEX_CHECKPOINT_PAGES = 64;

/** Extra passes after the bulk one; each copies what the lane wrote during the last. */
const MAX_TAIL_PASSES = 3;

/** Checkpoints from this thread; the policy lives in src/storage/wal.ts. */
function checkpoint(): void {
  if (!db) return;
  try {
    const r = checkpointWithTailPasses(db, MAX_TAIL_PASSES);
    post({ type: "checkpointed", ms: r.ms, walPages: r.walFrames, copied: r.copied, complete: r.complete });
  } catch (e) {
    post({ type: "error", task: "checkpoint", message: (e as Error).message });
  }
}

/** Indexes everything above the watermark, one bounded transaction at a time. */
function indexStep(): void {
  if (!db || !init) return;
  const t0 = performance.now();
  let indexed = 0;
  try {
    for (;;) {
      const p = indexNewOps(db, init.indexBatch);
      indexed += p.indexed;
      if (p.indexed < init.indexBatch) {
        if (indexed > 0) post({ type: "indexed", indexed, watermark: p.watermark, lag: p.lag, ms: performance.now() - t0 });
        return;
      }
      // A long catch-up (first start after an upgrade) reports progress between steps.
      post({ type: "indexed", indexed, watermark: p.watermark, lag: p.lag, ms: performance.now() - t0 });
    }
  } catch (e) {
    post({ type: "error", task: "index", message: (e as Error).message });
  }
}

function writeSnapshot(m: SnapshotWriteRequest): void {
  const t0 = performance.now();
  try {
    const w = writeSnapshotDurably(m.dir, m.l2TxIndex, m.batchId, m.bytes);
    post({ type: "snapshot-written", id: m.id, fileName: w.fileName, sha256: w.sha256, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: "snapshot-failed", id: m.id, message: (e as Error).message });
  }
}

function stop(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
  try {
    db?.close();
  } catch {}
  db = null;
  post({ type: "stopped" });
}

self.onmessage = (ev: MessageEvent<ToStorageWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "init":
      return start(m);
    case "snapshot":
      return writeSnapshot(m);
    case "index-now":
      return indexStep();
    case "stop":
      return stop();
  }
};
