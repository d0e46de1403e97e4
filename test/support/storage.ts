/**
 * A storage test fixture: a real data dir with one open frame into which dummy user ops can
 * be inserted through the real LaneStore.
 */
import type { Database } from "bun:sqlite";
import { openDatabase } from "../../src/storage/db.ts";
import { LaneStore } from "../../src/storage/lane-store.ts";
import { ReaderStore } from "../../src/storage/reader-store.ts";
import { tempDir } from "./sequencer.ts";

export interface OpsDir {
  dir: string;
  db: Database;
  lane: LaneStore;
  /** Inserts one op per hash, in one transaction, with nonces counting up from 0. */
  insert: (...hashes: Uint8Array[]) => void;
  /** Closes the database and removes the directory. */
  close: () => void;
}

export function opsDir(prefix: string): OpsDir {
  const dir = tempDir(prefix);
  const db = openDatabase(dir.path);
  new ReaderStore(db).append([], { safeBlock: 10, finalizedBlock: 5, scannedThroughBlock: 10 }, 0);
  const lane = new LaneStore(db);
  const frameId = lane.transaction(() => lane.openFrame(lane.openBatch(0, null, 1), 0, 10, 0, 1));
  let nonce = 0;
  const insert = (...hashes: Uint8Array[]) =>
    lane.transaction(() => {
      for (const txHash of hashes) {
        lane.insertUserOp({
          frameId,
          sender: new Uint8Array(20).fill(1),
          nonce: nonce++,
          maxFee: 0,
          data: new Uint8Array([1]),
          signature: new Uint8Array(65),
          txHash,
          acceptedAtMs: 1,
        });
      }
    });
  return {
    dir: dir.path,
    db,
    lane,
    insert,
    close: () => {
      db.close();
      dir.remove();
    },
  };
}
