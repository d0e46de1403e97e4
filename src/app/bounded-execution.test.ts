/**
 * SPEC 2.8 with real modules compiled in the test from AssemblyScript: an infinite loop,
 * unbounded recursion, memory growth, `unreachable` and a non-zero result, each triggered by
 * one op or one direct input. Each must fail with its class, leave the app exactly as it was
 * before the call (dump and counters), and leave the instance serving.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { EXECUTION_LIMITS, ExecutionFailedError, MAX_MEMORY_PAGES } from "../core/execution-limits.ts";
import { compileHostileApp, FAILING_MODES, GROW_CALLS_TO_NEAR_CAP, MODE } from "../../test/support/hostile-app.ts";
import { AppHost } from "./host.ts";
import { ALICE, BOB, CONFIG, compileAs, fixtureSource } from "../../scripts/lib/app-fixtures.ts";

const FEE = 1356;

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileHostileApp();
});

const MODES = FAILING_MODES;

/**
 * An instance with some history. Growth is charged, so one call cannot reach the page cap
 * from a small memory: successful ops grow it close to the cap first.
 */
function warmed(): AppHost {
  const h = AppHost.create(wasm, CONFIG);
  for (let i = 0; i < 3; i++) h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), BigInt(10 + i));
  h.applyDirectInput(BOB, 20n, Uint8Array.of(0));
  for (let i = 0; i < GROW_CALLS_TO_NEAR_CAP; i++) h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(MODE.grow), 21n);
  return h;
}

describe("a failing user op (SPEC 2.8 rule 1)", () => {
  for (const [mode, cls] of MODES) {
    test(`mode ${mode}: ${cls} → ExecutionFailedError, state and counters exactly as before, instance serving`, () => {
      const h = warmed();
      const before = h.dump();
      const pos = h.position;
      const t0 = performance.now();
      let err: unknown;
      try {
        h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(mode), 99n);
      } catch (e) {
        err = e;
      }
      const ms = performance.now() - t0;
      expect(err).toBeInstanceOf(ExecutionFailedError);
      expect((err as ExecutionFailedError).failure).toBe(cls);
      expect(h.dump()).toEqual(before);
      expect(h.position).toEqual(pos);
      expect(h.isDead).toBe(false);
      // the next op runs on the restored state
      h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), 100n);
      expect(new DataView(h.dump().buffer).getUint32(0, true)).toBe(new DataView(before.buffer).getUint32(0, true) + 1);
      // one budget of the cheapest-instruction loop, plus the restore: far below a second
      expect(ms).toBeLessThan(1000);
    });
  }

  test("a failure inside validate is a rejection carrying the class, with the state restored", async () => {
    const looping = await compileAs(
      fixtureSource({
        validate:
          "export function validate(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize): i32 { let i: u32 = 0; while (l > 0) { i++; store<u32>(64, i); } return 0; }",
      }),
    );
    const h = AppHost.create(looping, CONFIG);
    const before = h.dump();
    const v = h.validate(ALICE, 0, FEE, Uint8Array.of(1));
    expect(v).toMatchObject({ ok: false, failure: "fuel" });
    expect(h.dump()).toEqual(before);
    expect(h.validate(ALICE, 0, FEE, new Uint8Array())).toEqual({ ok: true });
  });
});

describe("a failing direct input (SPEC 2.8 rule 2)", () => {
  for (const [mode, cls] of MODES) {
    test(`mode ${mode}: ${cls} → an included no-op: state restored, outputs none, count +1, clock moved`, () => {
      const h = warmed();
      const before = h.dump();
      const pos = h.position;
      expect(h.applyDirectInput(BOB, 500n, Uint8Array.of(mode))).toEqual({ outputs: [], failure: cls });
      expect(h.dump()).toEqual(before);
      expect(h.executedInputCount).toBe(pos.executedInputCount + 1n);
      expect(h.clock).toBe(500n);
    });
  }
});

describe("restore", () => {
  test("after memory grew in the failed call, the app is back at its page count (a fresh instance)", () => {
    const h = warmed();
    const pages = new DataView(h.dump().buffer).getUint32(8, true);
    expect(h.applyDirectInput(BOB, 1n, Uint8Array.of(3)).failure).toBe("memory");
    expect(new DataView(h.dump().buffer).getUint32(8, true)).toBe(pages);
    expect(pages).toBeLessThan(MAX_MEMORY_PAGES);
  });

  test("re-applies the inputs since the checkpoint: hundreds of ops, then a failure, same state as without it", () => {
    const a = AppHost.create(wasm, CONFIG);
    const b = AppHost.create(wasm, CONFIG);
    for (let i = 0; i < 700; i++) {
      a.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), BigInt(i));
      b.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), BigInt(i));
      if (i % 97 === 0) expect(() => a.applyUserOp(ALICE, 0, FEE, Uint8Array.of(4), BigInt(i))).toThrow(ExecutionFailedError);
    }
    expect(a.dump()).toEqual(b.dump());
    expect(a.position).toEqual(b.position);
    expect(a.restores).toBe(8);
  });

  test("fuel is deterministic: the same call uses the same fuel, on fresh and restored instances", () => {
    const a = warmed();
    a.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), 1n);
    const used = a.lastFuelUsed;
    expect(used).toBeGreaterThan(0n);
    expect(used).toBeLessThan(EXECUTION_LIMITS.fuelPerCall);
    expect(() => a.applyUserOp(ALICE, 0, FEE, Uint8Array.of(1), 1n)).toThrow(/fuel exhausted/);
    a.applyUserOp(ALICE, 0, FEE, Uint8Array.of(0), 1n);
    expect(a.lastFuelUsed).toBe(used);
  });
});

describe("the lane's admission margin (not consensus)", () => {
  test("an op using 95 % of the budget is applied with the full budget, and refused (restored) under the lane's 90 % limit", async () => {
    const wasm = await compileAs(
      fixtureSource(
        {
          apply_user_op:
            "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { const k = load<u32>(d); for (let i: u32 = 0; i < k; i++) store<u32>(CELL, load<u32>(CELL) + 1); return 0; }",
          dump: "export function dump(): i32 { return 0; }",
          dump_ptr: "export function dump_ptr(): usize { return CELL; }",
          dump_len: "export function dump_len(): usize { return 4; }",
        },
        "const CELL = memory.data(8);",
      ),
    );
    const h = AppHost.create(wasm, CONFIG);
    const iterations = (k: number) => new Uint8Array(new Uint32Array([k]).buffer);
    // calibrate: fuel is linear in the iteration count
    h.applyUserOp(ALICE, 0, FEE, iterations(1000), 1n);
    const a = h.lastFuelUsed;
    h.applyUserOp(ALICE, 0, FEE, iterations(2000), 1n);
    const perIteration = (h.lastFuelUsed - a) / 1000n;
    const base = a - 1000n * perIteration;
    const k = Number((EXECUTION_LIMITS.fuelPerCall * 95n) / 100n - base) / Number(perIteration);
    const data = iterations(Math.floor(k));

    const before = h.dump();
    const limit = (EXECUTION_LIMITS.fuelPerCall * 9n) / 10n;
    let err: unknown;
    try {
      h.applyUserOp(ALICE, 0, FEE, data, 2n, limit);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect((err as ExecutionFailedError).failure).toBe("fuel");
    expect((err as ExecutionFailedError).message).toMatch(/over the sequencer's admission limit of 1800000/);
    expect(h.dump()).toEqual(before);

    // the scheduler's view: the full budget, the op is included
    h.applyUserOp(ALICE, 0, FEE, data, 2n);
    expect(h.lastFuelUsed).toBeGreaterThan(limit);
    expect(h.lastFuelUsed).toBeLessThan(EXECUTION_LIMITS.fuelPerCall);
    expect(h.dump()).not.toEqual(before);
  });
});
