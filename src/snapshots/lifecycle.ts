/**
 * The snapshot lifecycle (SPEC §7, docs/snapshots.md):
 *
 *   seal     the lane calls `atSeal` inside the transaction that seals a batch (the dump);
 *            after the commit the file is written durably off the lane's thread, then the
 *            row is inserted (refused if recovery invalidated the batch meanwhile).
 *   finalize the reader moves the finalized pointer inside its landing transaction
 *            (SnapshotStore.markFinalized, called from ReaderStore.append).
 *   stream   the internal routes lease a snapshot for the duration of a response.
 *   GC       superseded, unleased snapshots: row deleted (commit), then file unlinked.
 *   startup  `open` clears dead processes' leases and sweeps files no row references;
 *            `loadNewest` hands the rebuild a verified snapshot or a typed fatal error.
 */
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AppHost } from "../app/host.ts";
import { AppDumpError } from "../app/errors.ts";
import { bytesEqual } from "../core/bytes.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { LoadedSnapshot, SnapshotSource } from "./source.ts";
import { SnapshotStore, type NewSnapshot, type FinalizedSnapshot, type Lease, type SnapshotRow, type SnapshotStats } from "../storage/snapshot-store.ts";
import { SnapshotError } from "./errors.ts";
import type { WrittenSnapshot } from "../storage/storage-background.ts";
import { ensureSnapshotDir, readSnapshotFile, removeSnapshotFile, sha256, snapshotDir, sweepOrphans, writeSnapshot } from "../storage/snapshot-files.ts";

export interface SnapshotManagerOptions {
  db: Database;
  dataDir: string;
  /** The sequencer's app: dumped at every seal. */
  app: AppHost;
  log: Logger;
  now?: () => number;
  /** Safety-net GC period; GC also runs on demand (`requestGc`). */
  gcIntervalMs?: number;
  /** Identifies this process's leases; random by default. */
  processInstance?: string;
  /** Where files are written after a seal commits; inline (this thread) by default. */
  writer?: SnapshotFileWriter;
  /** Written files are registered in one transaction per this period (default 250 ms). */
  registerDelayMs?: number;
  /** Requested GC runs at most this often (default 1000 ms): each is a transaction. */
  gcMinIntervalMs?: number;
}

/**
 * Cost of the snapshots taken at batch close, for the operator and the benchmarks. `totalMs`,
 * `maxMs` and `lastMs` are time on the lane's thread (the dump); `writeMs` is the time from
 * hand-off to durable file, `workerMs` the writer's own share of it.
 */
export interface SealStats {
  count: number;
  totalMs: number;
  maxMs: number;
  lastMs: number;
  lastBytes: number;
  dumpMs: number;
  writeMs: number;
  workerMs: number;
  failed: number;
  /** Seals whose snapshot was skipped because the app's dump failed (AppDumpError). */
  dumpFailures: number;
}

/** Hashes and writes a snapshot file durably; resolves with its name and sha256. */
export type SnapshotFileWriter = (dir: string, l2TxIndex: number, batchId: number, bytes: Uint8Array) => Promise<WrittenSnapshot>;

/** Writes on the calling thread: tests and tools. The sequencer uses the storage worker's. */
export const inlineSnapshotWriter: SnapshotFileWriter = async (dir, l2TxIndex, batchId, bytes) => {
  const t0 = performance.now();
  const w = writeSnapshot(dir, l2TxIndex, batchId, bytes);
  return { ...w, ms: performance.now() - t0 };
};

export class SnapshotManager implements SnapshotSource {
  readonly dir: string;
  readonly store: SnapshotStore;
  readonly processInstance: string;
  readonly sealStats: SealStats = { count: 0, totalMs: 0, maxMs: 0, lastMs: 0, lastBytes: 0, dumpMs: 0, writeMs: 0, workerMs: 0, failed: 0, dumpFailures: 0 };
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly toRegister: NewSnapshot[] = [];
  private registerTimer: ReturnType<typeof setTimeout> | null = null;
  private lastGcAt = 0;
  private readonly o: SnapshotManagerOptions;
  private readonly now: () => number;
  private readonly heldLeases = new Set<number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private gcScheduled = false;
  private stopped = false;

  private constructor(o: SnapshotManagerOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.dir = snapshotDir(o.dataDir);
    this.store = new SnapshotStore(o.db);
    this.processInstance = o.processInstance ?? `${process.pid}-${crypto.randomUUID()}`;
  }

  /**
   * Startup: creates the directory, clears the leases of earlier processes, sweeps files that
   * no row references (crash or rollback between fsync and commit, stray temp files), then
   * collects superseded snapshots once. Must run before the lane or the routes start.
   */
  static open(o: SnapshotManagerOptions): SnapshotManager {
    const m = new SnapshotManager(o);
    ensureSnapshotDir(m.dir);
    const cleared = m.store.clearForeignLeases(m.processInstance);
    const swept = sweepOrphans(m.dir, m.store.referencedFiles());
    if (cleared > 0 || swept.length > 0) {
      o.log.info("snapshot startup cleanup", { leases_cleared: cleared, orphans_swept: swept.length, files: swept.slice(0, 20) });
    }
    m.gc();
    return m;
  }

  /** Starts the safety-net GC timer. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.gc(), this.o.gcIntervalMs ?? 30_000);
  }

  /** Stops GC and releases this process's leases (their streams are being torn down). */
  stop(): void {
    this.stopped = true;
    if (this.registerTimer) clearTimeout(this.registerTimer);
    this.registerTimer = null;
    this.toRegister.length = 0;
    this.notifyIdle();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const id of [...this.heldLeases]) this.release(id);
  }

  // ---- seal (inclusion lane) ---------------------------------------------------------------

  /**
   * Dumps the app state covering the first `l2TxIndex` history entries. Call inside the
   * transaction that seals `batchId`; the dump is the only part that must happen there (the
   * state moves on with the next op). Returns what to do once that transaction has
   * committed: write the file durably (off this thread, through `writer`) and then register
   * it. A seal that rolls back never calls it, so no file is written for it.
   */
  atSeal(batchId: number, l2TxIndex: number, nowMs: number): () => void {
    const t0 = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = this.o.app.dump();
    } catch (e) {
      if (!(e instanceof AppDumpError)) throw e;
      // The state outgrew what its dump needs (the app was put back and runs on). Losing
      // this snapshot costs a longer replay at the next start; stopping the lane would cost
      // the service, at every seal, after every restart.
      this.sealStats.dumpFailures++;
      this.o.log.error("snapshot skipped: the app could not dump its state", { batch_id: batchId, l2_tx_index: l2TxIndex, failure: e.failure, message: e.message });
      return () => {};
    }
    const position = this.o.app.position;
    const dumpMs = performance.now() - t0;
    const s = this.sealStats;
    s.count++;
    s.dumpMs += dumpMs;
    s.totalMs += dumpMs;
    s.maxMs = Math.max(s.maxMs, dumpMs);
    s.lastMs = dumpMs;
    s.lastBytes = bytes.length;
    return () => {
      this.inFlight++;
      const t1 = performance.now();
      (this.o.writer ?? inlineSnapshotWriter)(this.dir, l2TxIndex, batchId, bytes)
        .then(
          (w) => {
            s.writeMs += performance.now() - t1;
            s.workerMs += w.ms;
            this.queueRegistration({
              batchId,
              l2TxIndex,
              executedInputCount: position.executedInputCount,
              clock: position.clock,
              sizeBytes: bytes.length,
              sha256: w.sha256,
              fileName: w.fileName,
              createdAtMs: nowMs,
            });
          },
          (e) => {
            s.failed++;
            // The seal stands without a snapshot: startup replays a longer tail instead.
            this.o.log.warn("snapshot not written", { batch_id: batchId, l2_tx_index: l2TxIndex, ...errorFields(e) });
          },
        )
        .finally(() => {
          this.inFlight--;
          this.notifyIdle();
        });
    };
  }

  /** Resolves once every snapshot handed to the writer is registered (or has failed). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && this.toRegister.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    if (this.inFlight === 0 && this.toRegister.length === 0) for (const r of this.idleWaiters.splice(0)) r();
  }

  /**
   * Rows are registered in groups, one transaction (one fsync) per `registerDelayMs`, so that
   * under load (a seal every few tens of milliseconds) registrations do not add an fsync each
   * to the lane's thread.
   */
  private queueRegistration(row: NewSnapshot): void {
    this.toRegister.push(row);
    if (this.registerTimer) return;
    this.registerTimer = setTimeout(() => {
      this.registerTimer = null;
      const rows = this.toRegister.splice(0);
      try {
        this.registerAll(rows);
      } finally {
        this.notifyIdle();
      }
    }, this.o.registerDelayMs ?? 250);
  }

  private registerAll(rows: NewSnapshot[]): void {
    if (this.stopped || rows.length === 0) return; // the database may be closing; files are swept at next start
    let ids: (number | null)[];
    try {
      ids = this.store.registerSealedAll(rows, this.now());
    } catch (e) {
      this.o.log.warn("snapshot registration failed; files swept at next start", { files: rows.map((r) => r.fileName), ...errorFields(e) });
      return;
    }
    rows.forEach((row, i) => this.registered(row, ids[i]!));
  }

  private registered(row: NewSnapshot, id: number | null): void {
    const path = join(this.dir, row.fileName);
    if (id === null) {
      // Recovery invalidated the batch while its file was being written.
      try {
        removeSnapshotFile(this.dir, row.fileName);
      } catch {
        // swept at next start
      }
      this.o.log.info("snapshot dropped: its batch was invalidated before registration", { file: path });
      return;
    }
    this.o.log.debug("snapshot written", { batch_id: row.batchId, l2_tx_index: row.l2TxIndex, bytes: row.sizeBytes });
  }

  // ---- startup rebuild -------------------------------------------------------------------

  /**
   * The newest snapshot of a live batch, read and checked against its row (size, sha256).
   * Null when there is none. Throws SnapshotError (naming the file) when the referenced file
   * is missing or corrupt, or when it claims more history than storage holds.
   */
  loadNewest(headOffset: number): LoadedSnapshot | null {
    const row = this.store.newest();
    if (!row) return null;
    const path = this.pathOf(row);
    if (row.l2TxIndex > headOffset) {
      throw new SnapshotError(
        "SNAPSHOT_INCONSISTENT",
        path,
        `snapshot ${path} covers ${row.l2TxIndex} history entries but storage holds ${headOffset}`,
      );
    }
    if (!existsSync(path)) {
      throw new SnapshotError("SNAPSHOT_MISSING", path, `snapshot file ${path} (batch nonce ${row.batchNonce}, l2_tx_index ${row.l2TxIndex}) is registered but missing`);
    }
    let bytes: Uint8Array;
    try {
      bytes = readSnapshotFile(this.dir, row.fileName);
    } catch (e) {
      throw new SnapshotError("SNAPSHOT_IO", path, `cannot read snapshot ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (bytes.length !== row.sizeBytes) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", path, `snapshot ${path} has ${bytes.length} bytes, registered with ${row.sizeBytes}`);
    }
    if (!bytesEqual(sha256(bytes), row.sha256)) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", path, `snapshot ${path} does not match its registered sha256`);
    }
    return {
      path,
      l2TxIndex: row.l2TxIndex,
      executedInputCount: BigInt(row.executedInputCount),
      clock: BigInt(row.clock),
      bytes,
    };
  }

  // ---- streaming (internal routes) -------------------------------------------------------

  finalized(): FinalizedSnapshot | null {
    return this.store.finalized();
  }

  /** Leases the finalized snapshot; null when there is none yet. */
  leaseFinalized(): { lease: Lease; finalized: FinalizedSnapshot } | null {
    const seen: { fin: FinalizedSnapshot | null } = { fin: null };
    const lease = this.store.acquireLease(
      () => {
        seen.fin = this.store.finalized();
        return seen.fin?.snapshot ?? null;
      },
      this.processInstance,
      this.now(),
    );
    if (!lease || !seen.fin) return null;
    this.heldLeases.add(lease.leaseId);
    return { lease, finalized: seen.fin };
  }

  /** Leases the newest snapshot (pending if any, else the finalized one). */
  leaseLatest(): { lease: Lease; isFinalized: boolean } | null {
    const seen: { finId: number | null } = { finId: null };
    const lease = this.store.acquireLease(
      () => {
        seen.finId = this.store.finalized()?.snapshot.snapshotId ?? null;
        return this.store.newest();
      },
      this.processInstance,
      this.now(),
    );
    if (!lease) return null;
    this.heldLeases.add(lease.leaseId);
    return { lease, isFinalized: seen.finId === lease.snapshot.snapshotId };
  }

  /** Idempotent. GC follows soon: the released snapshot may have been superseded meanwhile. */
  release(leaseId: number): void {
    if (!this.heldLeases.delete(leaseId)) return;
    try {
      this.store.releaseLease(leaseId);
    } catch (e) {
      // The database is closing (shutdown); the next start clears the lease.
      this.o.log.warn("snapshot lease release failed", { lease_id: leaseId, ...errorFields(e) });
      return;
    }
    this.requestGc();
  }

  pathOf(row: SnapshotRow): string {
    return join(this.dir, row.fileName);
  }

  // ---- GC ----------------------------------------------------------------------------------

  /** Runs GC soon (coalesced). Called when the finalized pointer may have moved or a lease ended. */
  requestGc(): void {
    if (this.gcScheduled || this.stopped) return;
    this.gcScheduled = true;
    const wait = Math.max(0, this.lastGcAt + (this.o.gcMinIntervalMs ?? 1000) - Date.now());
    setTimeout(() => {
      this.gcScheduled = false;
      if (!this.stopped) this.gc();
    }, wait);
  }

  /**
   * Deletes superseded snapshots: rows first (committed), then files. A crash in between
   * leaves orphan files, swept at the next start. Returns the number deleted.
   */
  gc(): number {
    this.lastGcAt = Date.now();
    let files: string[];
    try {
      files = this.store.deleteSuperseded();
    } catch (e) {
      this.o.log.warn("snapshot GC failed", errorFields(e));
      return 0;
    }
    for (const f of files) {
      try {
        removeSnapshotFile(this.dir, f);
      } catch (e) {
        this.o.log.warn("snapshot file removal failed; swept at next start", { file: f, ...errorFields(e) });
      }
    }
    if (files.length > 0) this.o.log.debug("snapshots collected", { count: files.length });
    return files.length;
  }

  stats(): SnapshotStats {
    return this.store.stats();
  }
}
