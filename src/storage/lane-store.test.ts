/**
 * LaneStore.transaction against a real SQLite file: the lane's one commit per chunk must be
 * all-or-nothing, reusable, and nest as a savepoint.
 */
import { afterEach, expect, test } from "bun:test";
import { type OpsDir, opsDir } from "../../test/support/storage.ts";
import { isBatchInput } from "../core/scheduler-rules.ts";
import { ReaderStore } from "./reader-store.ts";

const open: OpsDir[] = [];
afterEach(() => open.splice(0).forEach((w) => w.close()));

function world(): OpsDir {
  const w = opsDir("lane-store-");
  open.push(w);
  return w;
}
const h = (n: number) => new Uint8Array(32).fill(n);
const count = (w: OpsDir) => (w.db.query("SELECT COUNT(*) AS n FROM user_ops").get() as { n: number }).n;

test("commits what the function wrote and returns its value, many times over", () => {
  const w = world();
  for (let i = 1; i <= 5; i++) {
    const v = w.lane.transaction(() => {
      w.insert(h(i));
      return i * 10;
    });
    expect(v).toBe(i * 10);
    expect(count(w)).toBe(i);
    expect(w.db.inTransaction).toBe(false);
  }
  expect(w.lane.nextOffset()).toBe(5);
});

test("a throw rolls back everything the function wrote and rethrows", () => {
  const w = world();
  w.insert(h(1));
  expect(() =>
    w.lane.transaction(() => {
      w.insert(h(2), h(3));
      throw new Error("app rejected");
    }),
  ).toThrow("app rejected");
  expect(count(w)).toBe(1);
  expect(w.db.inTransaction).toBe(false);
  // The wrapper is reused after a rollback.
  w.lane.transaction(() => w.insert(h(4)));
  expect(count(w)).toBe(2);
});

test("nested, the inner one is a savepoint: its rollback keeps the outer writes", () => {
  const w = world();
  w.lane.transaction(() => {
    w.insert(h(1));
    expect(() =>
      w.lane.transaction(() => {
        w.insert(h(2));
        throw new Error("inner");
      }),
    ).toThrow("inner");
    w.insert(h(3));
  });
  const hashes = (w.db.query("SELECT tx_hash FROM user_ops ORDER BY user_op_id").all() as { tx_hash: Uint8Array }[]).map(
    (r) => r.tx_hash[0],
  );
  expect(hashes).toEqual([1, 3]);
});

test("undrainedDirects classifies by sender exactly as the scheduler's rule 2 (isBatchInput)", () => {
  // The lane selects direct inputs in SQL; this pins that query to core's one definition.
  const w = world();
  const submitter = new Uint8Array(20).fill(0x70);
  const near = submitter.slice();
  near[0] = 0x71;
  const senders = [submitter, new Uint8Array(20).fill(0x22), near, submitter, new Uint8Array(20), submitter.slice()];
  const reader = new ReaderStore(w.db);
  const first = reader.nextInputIndex();
  reader.append(
    senders.map((sender, i) => ({
      inputIndex: first + i,
      sender,
      blockNumber: 11,
      blockTimestamp: 0,
      txHash: new Uint8Array(32).fill(i + 1),
      payload: new Uint8Array([i]),
    })),
    { safeBlock: 11, finalizedBlock: 5, scannedThroughBlock: 11 },
    0,
  );
  const got = w.lane.undrainedDirects(first - 1, submitter).map((d) => d.inputIndex);
  const want = senders.flatMap((s, i) => (isBatchInput(s, submitter) ? [] : [first + i]));
  expect(want).toEqual([first + 1, first + 2, first + 4]);
  expect(got).toEqual(want);
});
