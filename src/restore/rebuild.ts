import { AppSnapshotError } from "../app/errors.ts";
import type { AppHost } from "../app/host.ts";
import type { Logger } from "../observability/log.ts";
import { SnapshotError } from "../snapshots/errors.ts";
import type { SnapshotSource } from "../snapshots/source.ts";
import type { HistoryQueries } from "../storage/queries.ts";

const PAGE = 4096;

/**
 * Rebuilds the app state at startup by executing the stored history in order. The ops were
 * validated when accepted, so replay only applies them; an op that fails here means storage
 * and app disagree (ExecutionFailedError), which the caller must treat as fatal. A direct
 * input may fail again: it failed when it was sequenced too (an included no-op, SPEC 2.8).
 */
export function replayHistory(
  app: AppHost,
  history: HistoryQueries,
  fromOffset: number,
  log: Logger,
  /** Stop before this offset (default: the head of the history). */
  toOffset?: number,
): { replayed: number; ms: number } {
  const started = performance.now();
  const head = toOffset ?? history.headOffset();
  let offset = fromOffset;
  let lastReport = started;
  while (offset < head) {
    const rows = history.replayPage(offset, Math.min(PAGE, head - offset));
    if (rows.length === 0) break;
    for (const row of rows) {
      if (row.offset !== offset) throw new Error(`history gap: expected offset ${offset}, found ${row.offset}`);
      // Senders go to the app as the stored bytes: no hex round trip per entry.
      if (row.userOpId !== null) {
        app.applyUserOp(row.uSender!, row.nonce!, row.fee, row.data!, BigInt(row.safeBlock));
      } else {
        app.applyDirectInput(row.iSender!, BigInt(row.blockNumber!), row.payload!);
      }
      offset++;
    }
    const now = performance.now();
    if (now - lastReport > 2000) {
      lastReport = now;
      log.info("replaying history", { offset, head, percent: Math.floor((offset * 100) / head) });
    }
  }
  const ms = performance.now() - started;
  return { replayed: offset - fromOffset, ms };
}

export interface RebuildResult {
  /** The snapshot loaded, or null when the history was replayed from genesis. */
  snapshot: { path: string; l2TxIndex: number; bytes: number } | null;
  loadMs: number;
  replayed: number;
  replayMs: number;
}

/**
 * Startup rebuild (SPEC §7): load the newest snapshot, then replay the history from the
 * offset it covers. With no snapshot at all, replays from 0. A referenced snapshot that is
 * missing, corrupt or refused by the app is fatal (SnapshotError naming the file): silently
 * replaying from genesis would hide a broken data dir and could take hours.
 */
export function rebuildApp(
  app: AppHost,
  history: HistoryQueries,
  snapshots: SnapshotSource,
  log: Logger,
): RebuildResult {
  const t0 = performance.now();
  const snap = snapshots.loadNewest(history.headOffset());
  let from = 0;
  if (snap) {
    try {
      app.load(snap.bytes, { executedInputCount: snap.executedInputCount, clock: snap.clock });
    } catch (e) {
      if (e instanceof AppSnapshotError) {
        throw new SnapshotError("SNAPSHOT_CORRUPT", snap.path, `the app refused snapshot ${snap.path}: ${e.message}`, { cause: e });
      }
      throw e;
    }
    from = snap.l2TxIndex;
  }
  const loadMs = performance.now() - t0;
  const r = replayHistory(app, history, from, log);
  return {
    snapshot: snap ? { path: snap.path, l2TxIndex: snap.l2TxIndex, bytes: snap.bytes.length } : null,
    loadMs,
    replayed: r.replayed,
    replayMs: r.ms,
  };
}
