/**
 * Feeds a follower from the local database, on its own read-only connection: the committed
 * history rows as feed entries, and a rollback when a recovery generation cut history. Only
 * committed rows are visible to it (SQLite WAL readers), so a follower never reflects state
 * that was not durable.
 */
import type { Database } from "bun:sqlite";
import { readSnapshotFile, sha256, snapshotDir } from "../storage/snapshot-files.ts";
import { bytesEqual } from "../core/bytes.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { RecoveryStore } from "../storage/recovery-store.ts";
import { SnapshotStore } from "../storage/snapshot-store.ts";
import type { FollowerEntry, FollowerRollback, StartingPoint } from "./follower.ts";

export class LocalEntrySource {
  readonly #history: HistoryQueries;
  readonly #recovery: RecoveryStore;
  readonly #snapshots: SnapshotStore;
  #generation: number;

  constructor(
    db: Database,
    private readonly dataDir: string,
  ) {
    this.#history = new HistoryQueries(db);
    this.#recovery = new RecoveryStore(db);
    this.#snapshots = new SnapshotStore(db);
    this.#generation = this.#recovery.generation();
  }

  /**
   * The newest snapshot whose file reads back with its registered hash, or genesis. A file
   * the lane garbage-collects between the row and the read is simply skipped this time.
   */
  startingPoint(): StartingPoint {
    this.#generation = this.#recovery.generation();
    const row = this.#snapshots.newest();
    if (row && row.l2TxIndex <= this.#history.headOffset()) {
      try {
        const bytes = readSnapshotFile(snapshotDir(this.dataDir), row.fileName);
        if (bytes.length === row.sizeBytes && bytesEqual(sha256(bytes), row.sha256)) {
          return {
            offset: row.l2TxIndex,
            dump: bytes,
            position: { executedInputCount: BigInt(row.executedInputCount), clock: BigInt(row.clock) },
          };
        }
      } catch {
        // collected under us: start from genesis this once (correct, only slower)
      }
    }
    return { offset: 0, dump: null, position: { executedInputCount: 0n, clock: 0n } };
  }

  /** A rollback since the last call, if recovery started a new generation. */
  rollback(): FollowerRollback | null {
    const g = this.#recovery.generation();
    if (g === this.#generation) return null;
    const cut = this.#recovery.generationSource().cutSince(this.#generation);
    this.#generation = g;
    return { offset: cut ?? 0, generation: g };
  }

  head(): number {
    return this.#history.headOffset();
  }

  /** Up to `limit` committed entries from `offset` on. */
  entries(offset: number, limit: number): FollowerEntry[] {
    return this.#history.replayPage(offset, limit).map((r) =>
      r.userOpId !== null
        ? { offset: r.offset, kind: "user_op", sender: r.uSender!, nonce: r.nonce!, fee: r.fee, data: r.data!, safeBlock: BigInt(r.safeBlock) }
        : { offset: r.offset, kind: "direct_input", sender: r.iSender!, block: BigInt(r.blockNumber!), payload: r.payload! },
    );
  }
}
