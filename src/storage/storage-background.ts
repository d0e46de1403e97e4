/**
 * Main-thread handle of the storage worker (src/storage/storage-worker.ts): WAL checkpoints,
 * the derived tx_hash index and durable snapshot file writes, all off the inclusion lane's
 * thread.
 *
 * Nothing here is needed for correctness of an acknowledgement: if the worker dies, lookups
 * by tx_hash scan a growing tail, the WAL grows until the next checkpoint, and snapshot writes
 * fail (the seal goes without a snapshot; startup replays a longer tail). So a crash is logged
 * and the worker is restarted after a pause, and stop() never blocks shutdown for long.
 */
import type { Database } from "bun:sqlite";
import { SequencerError } from "../core/errors.ts";
import type { Logger } from "../observability/log.ts";
import { workerEntry } from "../runtime/worker-entry.ts";
import type { FromStorageWorker, StorageWorkerInit, ToStorageWorker } from "./storage-worker.ts";
import { passiveCheckpoint } from "./wal.ts";

export interface StorageBackgroundOptions {
  dataDir: string;
  log: Logger;
  checkpointIntervalMs?: number;
  indexIntervalMs?: number;
  indexBatch?: number;
  /** Pause before a crashed worker is started again. */
  restartDelayMs?: number;
  /**
   * The writer's own connection (the lane's). When the worker's checkpoint copied every
   * frame it saw, this connection copies the few written meanwhile, between two lane
   * transactions, so that the writer's next transaction can restart the WAL from its start
   * (see src/storage/wal.ts). Without it the WAL only restarts when the load pauses.
   */
  writerDb?: Database;
}

export interface WrittenSnapshot {
  fileName: string;
  sha256: Uint8Array;
  /** Worker time: hash + write + fsyncs + rename. */
  ms: number;
}

export interface StorageBackgroundStats {
  /** Newest user_op_id covered by tx-index.db, and ops above it at the last report. */
  txIndexWatermark: number;
  txIndexLag: number;
  checkpoints: number;
  lastCheckpointMs: number;
  maxCheckpointMs: number;
  /** Frames in the WAL when the last checkpoint ran: bounded while restarts happen. */
  walFrames: number;
  /** Checkpoints the writer finished on its own thread (`writerDb`), and their cost. */
  catchUps: number;
  lastCatchUpMs: number;
  maxCatchUpMs: number;
  failures: number;
  restarts: number;
}

export class SnapshotWriteError extends SequencerError {
  constructor(message: string) {
    super("SNAPSHOT_IO", message);
  }
}

/** Progress of a long tx-index catch-up is logged at most this often. */
const PROGRESS_LOG_MS = 5_000;

let cachedEntry: string | undefined;

export class StorageBackground {
  readonly stats: StorageBackgroundStats = {
    txIndexWatermark: 0,
    txIndexLag: 0,
    checkpoints: 0,
    lastCheckpointMs: 0,
    maxCheckpointMs: 0,
    walFrames: 0,
    catchUps: 0,
    lastCatchUpMs: 0,
    maxCatchUpMs: 0,
    failures: 0,
    restarts: 0,
  };
  private worker: Worker | null = null;
  private readonly o: Required<Omit<StorageBackgroundOptions, "log" | "dataDir" | "writerDb">> & StorageBackgroundOptions;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (w: WrittenSnapshot) => void; reject: (e: Error) => void }>();
  private stopping = false;
  private stopped: (() => void) | null = null;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private lastProgressLog = 0;

  constructor(o: StorageBackgroundOptions) {
    this.o = { checkpointIntervalMs: 5_000, indexIntervalMs: 50, indexBatch: 20_000, restartDelayMs: 1_000, ...o };
    cachedEntry ??= workerEntry("storage/storage-worker");
  }

  start(): void {
    if (this.worker || this.stopping) return;
    const w = new Worker(cachedEntry!);
    this.worker = w;
    w.onmessage = (ev: MessageEvent<FromStorageWorker>) => this.onMessage(ev.data);
    w.onerror = (ev) => this.crashed(w, ev.message ?? "worker error");
    w.addEventListener("close", () => this.crashed(w, "worker exited"));
    const init: StorageWorkerInit = {
      type: "init",
      dataDir: this.o.dataDir,
      checkpointIntervalMs: this.o.checkpointIntervalMs,
      indexIntervalMs: this.o.indexIntervalMs,
      indexBatch: this.o.indexBatch,
    };
    this.send(init);
  }

  /** Hashes and durably writes a snapshot file; resolves once it is fsynced under its name. */
  writeSnapshot(dir: string, l2TxIndex: number, batchId: number, bytes: Uint8Array): Promise<WrittenSnapshot> {
    if (!this.worker || this.stopping) {
      return Promise.reject(new SnapshotWriteError("the storage worker is not running"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: "snapshot", id, dir, l2TxIndex, batchId, bytes });
    });
  }

  /** Asks for an index step now (tests, and after a known burst). */
  indexNow(): void {
    if (this.worker) this.send({ type: "index-now" });
  }

  /** Stops timers, closes the worker's connections, then terminates it (bounded wait). */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.worker;
    if (!w) return;
    const done = new Promise<void>((r) => (this.stopped = r));
    this.send({ type: "stop" });
    await Promise.race([done, Bun.sleep(timeoutMs)]);
    this.worker = null;
    w.terminate();
    this.failPending("the storage worker stopped");
  }

  private send(m: ToStorageWorker): void {
    this.worker?.postMessage(m);
  }

  private onMessage(m: FromStorageWorker): void {
    const s = this.stats;
    switch (m.type) {
      case "ready":
        s.txIndexWatermark = m.watermark;
        return;
      case "snapshot-written": {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve({ fileName: m.fileName, sha256: m.sha256, ms: m.ms });
        return;
      }
      case "snapshot-failed": {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.reject(new SnapshotWriteError(m.message));
        return;
      }
      case "indexed": {
        s.txIndexWatermark = m.watermark;
        s.txIndexLag = m.lag;
        const now = Date.now();
        if (m.lag > 0 && now - this.lastProgressLog >= PROGRESS_LOG_MS) {
          this.lastProgressLog = now;
          this.o.log.info("tx index catching up", { watermark: m.watermark, remaining: m.lag, indexed: m.indexed });
        }
        return;
      }
      case "checkpointed":
        s.checkpoints++;
        s.lastCheckpointMs = m.ms;
        s.maxCheckpointMs = Math.max(s.maxCheckpointMs, m.ms);
        s.walFrames = m.walPages;
        if (this.o.writerDb && m.complete) this.catchUp(this.o.writerDb);
        return;
      case "error":
        s.failures++;
        this.o.log.warn("storage worker task failed", { task: m.task, error: m.message });
        return;
      case "stopped":
        this.stopped?.();
        return;
    }
  }

  private catchUp(db: Database): void {
    // Reports arrive between lane transactions; a transaction open here would be some
    // caller's, and a checkpoint must not run inside it.
    if (db.inTransaction) return;
    try {
      const r = passiveCheckpoint(db);
      const s = this.stats;
      s.catchUps++;
      s.lastCatchUpMs = r.ms;
      s.maxCatchUpMs = Math.max(s.maxCatchUpMs, r.ms);
    } catch (e) {
      // A closed or failing writer connection: its owner sees that on its own next write.
      this.stats.failures++;
      this.o.log.warn("WAL catch-up checkpoint failed", { error: (e as Error).message });
    }
  }

  private crashed(w: Worker, message: string): void {
    if (this.worker !== w || this.stopping) return;
    this.worker = null;
    this.stats.failures++;
    this.failPending(`the storage worker crashed: ${message}`);
    this.o.log.error("storage worker crashed; restarting", { error: message, restart_in_ms: this.o.restartDelayMs });
    w.terminate();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.stats.restarts++;
      this.start();
    }, this.o.restartDelayMs);
  }

  private failPending(message: string): void {
    for (const p of this.pending.values()) p.reject(new SnapshotWriteError(message));
    this.pending.clear();
  }
}
