/**
 * LaneStore.transaction against a real SQLite file: the lane's one commit per chunk must be
 * all-or-nothing, reusable, and nest as a savepoint.
 */
import { afterEach, expect, test } from "bun:test";
import { type OpsDir, opsDir } from "../../test/support/storage.ts";

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
