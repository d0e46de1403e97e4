/**
 * The derived tx_hash index (tx-index.db) against real SQLite files: lookups are right before,
 * during and after indexing, a stale or foreign index cannot produce a wrong answer, and a
 * file ahead of the history is reset.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { opsDir } from "../../test/support/storage.ts";
import { StatusQueries } from "./status-queries.ts";
import { attachTxIndex, indexNewOps, TX_CANDIDATES_SQL, txIndexPath, txIndexWatermark } from "./tx-index.ts";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).reverse().forEach((c) => c()));

function hash(n: number): Uint8Array {
  const b = new Uint8Array(32);
  b[0] = 0x7e;
  b[30] = n >> 8;
  b[31] = n & 0xff;
  return b;
}

function world() {
  const w = opsDir("txi-");
  closers.push(() => w.close());
  return { dir: w.dir, db: w.db, insert: (h: Uint8Array) => w.insert(h), status: new StatusQueries(w.db) };
}

const candidates = (db: Database, h: Uint8Array) => (db.query(TX_CANDIDATES_SQL).all(h) as { id: number }[]).map((r) => r.id);

describe("tx index", () => {
  test("an op is found before it is indexed (tail scan) and after (index), at the same offset", () => {
    const w = world();
    for (let i = 0; i < 50; i++) w.insert(hash(i));
    expect(txIndexWatermark(w.db)).toBe(0);
    const before = w.status.txStatus(hash(17));
    expect(before?.offset).toBe(17);

    const p = indexNewOps(w.db, 20);
    expect(p).toEqual({ indexed: 20, watermark: 20, lag: 30 });
    // hash 17 (id 18) is now below the watermark: only the index can supply it
    const tail = w.db.query("SELECT COUNT(*) AS n FROM user_ops WHERE user_op_id > ? AND tx_hash = ?").get(20, hash(17)) as { n: number };
    expect(tail.n).toBe(0);
    expect(w.status.txStatus(hash(17))).toEqual(before);
    // hash 40 is above it: the tail scan supplies it
    expect(w.status.txStatus(hash(40))?.offset).toBe(40);

    while (indexNewOps(w.db, 20).indexed > 0);
    expect(txIndexWatermark(w.db)).toBe(50);
    for (const i of [0, 17, 40, 49]) expect(w.status.txStatus(hash(i))?.offset).toBe(i);
    expect(w.status.txStatus(hash(999))).toBeNull();
  });

  test("the same hash on both sides of the watermark yields both candidates; the newest wins", () => {
    const w = world();
    w.insert(hash(1));
    w.insert(hash(2));
    indexNewOps(w.db, 100);
    w.insert(hash(1)); // a resubmission with the same hash, not indexed yet
    expect(candidates(w.db, hash(1))).toEqual([1, 3]);
    expect(w.status.txStatus(hash(1))?.offset).toBe(2);
    indexNewOps(w.db, 100);
    expect(candidates(w.db, hash(1))).toEqual([1, 3]);
    expect(w.status.txStatus(hash(1))?.offset).toBe(2);
  });

  test("a wrong entry in the index never answers for another op", () => {
    const w = world();
    w.insert(hash(1));
    w.insert(hash(2));
    indexNewOps(w.db, 100);
    // a corrupt mapping: hash 9 → op 2 (which carries hash 2)
    w.db.query("INSERT INTO txi.tx_index (tx_hash, user_op_id) VALUES (?, 2)").run(hash(9));
    expect(candidates(w.db, hash(9))).toEqual([2]);
    expect(w.status.txStatus(hash(9))).toBeNull();
    expect(w.status.txStatus(hash(2))?.offset).toBe(1);
  });

  test("an index file ahead of the history (a restored sequencer.db) is cleared at attach", () => {
    const w = world();
    for (let i = 0; i < 5; i++) w.insert(hash(i));
    indexNewOps(w.db, 100);
    // pretend the index saw ops the database no longer has
    w.db.query("UPDATE txi.tx_index_meta SET watermark = 500").run();
    w.db.query("INSERT INTO txi.tx_index (tx_hash, user_op_id) VALUES (?, 400)").run(hash(77));
    const other = new Database(`${w.dir}/sequencer.db`, { strict: true });
    closers.push(() => other.close());
    expect(attachTxIndex(other, w.dir)).toBe(0);
    expect(txIndexWatermark(other)).toBe(0);
    expect((other.query("SELECT COUNT(*) AS n FROM txi.tx_index").get() as { n: number }).n).toBe(0);
    // and everything is still found (tail scan), then re-indexed
    expect(new StatusQueries(other).txStatus(hash(3))?.offset).toBe(3);
    expect(indexNewOps(other, 100).watermark).toBe(5);
  });

  test("indexing writes only tx-index.db, never sequencer.db", () => {
    const w = world();
    for (let i = 0; i < 10; i++) w.insert(hash(i));
    const changes = () => (w.db.query("SELECT total_changes() AS n").get() as { n: number }).n;
    const dataVersion = () => (w.db.query("PRAGMA main.data_version").get() as { data_version: number }).data_version;
    // data_version of main moves only when *another* connection commits to main; use one
    const worker = new Database(`${w.dir}/sequencer.db`, { strict: true });
    closers.push(() => worker.close());
    attachTxIndex(worker, w.dir);
    const v0 = dataVersion();
    const c0 = changes();
    indexNewOps(worker, 100);
    expect(dataVersion()).toBe(v0);
    expect(changes()).toBe(c0);
    expect(txIndexWatermark(w.db)).toBe(10);
    expect(txIndexPath(w.dir)).toEndWith("tx-index.db");
  });
});
