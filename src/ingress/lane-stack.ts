/**
 * The one way to wire an inclusion lane: the stores of a data dir, its snapshots, the
 * startup rebuild, then the lane over all of them. `cli/run.ts` runs these steps as its
 * storage, restore and lane phases (with L1 binding and sync in between, which gives the
 * lane its first safe head); the in-process harnesses of the tests and benchmarks call
 * `createLaneStack`, which runs the same steps without L1. Either way the lane's options
 * are derived from the stores in one place (`createLane`), so no harness can wire it
 * differently from production.
 */
import type { Database } from "bun:sqlite";
import type { AppHost } from "../app/host.ts";
import type { Logger } from "../observability/log.ts";
import { rebuildApp, type RebuildResult } from "../restore/rebuild.ts";
import { SnapshotManager, type SnapshotFileWriter } from "../snapshots/lifecycle.ts";
import type { SnapshotSource } from "../snapshots/source.ts";
import { openDatabase, type OpenOptions } from "../storage/db.ts";
import { LaneStore } from "../storage/lane-store.ts";
import { loadBatchPolicy } from "../storage/policy-store.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { ReaderStore } from "../storage/reader-store.ts";
import { InclusionLane, type LaneOptions } from "./lane.ts";

/** Upper bound of ops per group commit in production. */
export const MAX_CHUNK = 1024;

/** The stores of one data dir that the lane and its neighbours share. */
export interface LaneStorage {
  dataDir: string;
  db: Database;
  laneStore: LaneStore;
  reader: ReaderStore;
  history: HistoryQueries;
}

export function openLaneStorage(dataDir: string, opts: OpenOptions = {}): LaneStorage {
  const db = openDatabase(dataDir, opts);
  return { dataDir, db, laneStore: new LaneStore(db), reader: new ReaderStore(db), history: new HistoryQueries(db) };
}

/** A data dir with no snapshots at all: the rebuild replays from the first entry. */
const NO_SNAPSHOTS: SnapshotSource = { loadNewest: () => null };

/** The startup rebuild over this storage (the newest snapshot when there are any). */
export function restoreApp(storage: LaneStorage, app: AppHost, snapshots: SnapshotSource | undefined, log: Logger): RebuildResult {
  return rebuildApp(app, storage.history, snapshots ?? NO_SNAPSHOTS, log);
}

/** What differs between the places that build a lane: limits, clock and callbacks. */
export type LaneHooks = Pick<LaneOptions, "maxBatchOpenMs" | "queueCapacity" | "now" | "log" | "onCommitted" | "onFatal"> &
  Partial<Pick<LaneOptions, "maxChunk" | "onCommitTimed" | "guard">> & {
    /** Wraps the snapshot seal hook (tests that make a seal fail). */
    wrapSeal?: (inner: NonNullable<LaneOptions["onSeal"]>) => NonNullable<LaneOptions["onSeal"]>;
  };

export interface LaneWiring {
  storage: LaneStorage;
  app: AppHost;
  /** The batch submitter's address (20 bytes). */
  submitter: Uint8Array;
  /** The L1 safe head the lane starts from. */
  safeHead: number;
  /** Dumps a snapshot at every seal when given. */
  snapshots?: SnapshotManager;
  hooks: LaneHooks;
}

/** The lane over `storage`, with the snapshot hook at every seal when snapshots are kept. */
export function createLane(w: LaneWiring): InclusionLane {
  const { storage, snapshots, hooks } = w;
  const seal = snapshots ? (b: number, i: number, now: number) => snapshots.atSeal(b, i, now) : undefined;
  const onSeal = seal && hooks.wrapSeal ? hooks.wrapSeal(seal) : seal;
  return new InclusionLane(
    {
      store: storage.laneStore,
      history: storage.history,
      app: w.app,
      submitter: w.submitter,
      policy: () => loadBatchPolicy(storage.db),
      maxBatchOpenMs: hooks.maxBatchOpenMs,
      queueCapacity: hooks.queueCapacity,
      maxChunk: hooks.maxChunk ?? MAX_CHUNK,
      now: hooks.now,
      log: hooks.log,
      onCommitted: hooks.onCommitted,
      onFatal: hooks.onFatal,
      ...(hooks.onCommitTimed ? { onCommitTimed: hooks.onCommitTimed } : {}),
      ...(hooks.guard ? { guard: hooks.guard } : {}),
      ...(onSeal ? { onSeal } : {}),
    },
    w.safeHead,
  );
}

export interface LaneStackOptions {
  dataDir: string;
  app: AppHost;
  submitter: Uint8Array;
  hooks: LaneHooks;
  /** Keep snapshots (dump at every seal, load the newest at start). Off: replay from genesis. */
  snapshots?: { writer?: SnapshotFileWriter; registerDelayMs?: number; now?: () => number } | false;
  /** The safe head to start from; the stored one by default (a harness writes it first). */
  safeHead?: number;
  /**
   * Runs on the open storage before anything reads it: what a harness's "L1" stored before
   * the lane existed (heads, early deposits).
   */
  prepare?: (storage: LaneStorage) => void;
}

export interface LaneStack extends LaneStorage {
  app: AppHost;
  snapshots: SnapshotManager | undefined;
  rebuilt: RebuildResult;
  lane: InclusionLane;
  /** Stops the lane and the snapshots, then closes the database. Idempotent. */
  close(): void;
}

/**
 * Storage, snapshots, rebuild and lane, as `run` builds them, for in-process use without L1
 * (tests, benchmarks). The lane is created, not started: `lane.start()` is the caller's.
 * @throws when the data dir has no stored L1 heads and no `safeHead` is given.
 */
export function createLaneStack(o: LaneStackOptions): LaneStack {
  const storage = openLaneStorage(o.dataDir);
  let snapshots: SnapshotManager | undefined;
  let lane: InclusionLane | undefined;
  try {
    o.prepare?.(storage);
    if (o.snapshots) {
      const s = o.snapshots;
      snapshots = SnapshotManager.open({
        db: storage.db,
        dataDir: o.dataDir,
        app: o.app,
        log: o.hooks.log,
        ...(s.now ? { now: s.now } : {}),
        ...(s.writer ? { writer: s.writer } : {}),
        ...(s.registerDelayMs !== undefined ? { registerDelayMs: s.registerDelayMs } : {}),
      });
    }
    const rebuilt = restoreApp(storage, o.app, snapshots, o.hooks.log);
    const safeHead = o.safeHead ?? storage.reader.heads()?.safeBlock;
    if (safeHead === undefined) throw new Error(`${o.dataDir}: no stored L1 heads and no safe head given`);
    lane = createLane({ storage, app: o.app, submitter: o.submitter, safeHead, hooks: o.hooks, ...(snapshots ? { snapshots } : {}) });
    let closed = false;
    const theLane = lane;
    return {
      ...storage,
      app: o.app,
      snapshots,
      rebuilt,
      lane: theLane,
      close: () => {
        if (closed) return;
        closed = true;
        theLane.stop();
        snapshots?.stop();
        storage.db.close();
      },
    };
  } catch (e) {
    lane?.stop();
    snapshots?.stop();
    storage.db.close();
    throw e;
  }
}
