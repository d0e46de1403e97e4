/**
 * Property: the order the sequencer confirms is the order the canonical scheduler executes,
 * and the app state is byte-identical, wherever the sequencer's batches were accepted. Where
 * a batch landed too late, the difference is exactly the expected one: the scheduler runs the
 * accepted prefix, then only direct inputs forced by the backstop.
 *
 * Fixed seed and a few hundred runs here; `bun scripts/property-long.ts` runs many more.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MAX_WAIT_BLOCKS } from "../../src/core/scheduler-rules.ts";
import { comparable, runWorkload, type Action, type OpKind } from "./equivalence-harness.ts";

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("deposit" as const), user: fc.integer({ min: 0, max: 2 }), amount: fc.bigInt({ min: 1n, max: 10n ** 18n }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("other" as const), payload: fc.uint8Array({ maxLength: 40 }) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant("op" as const),
      user: fc.integer({ min: 0, max: 3 }),
      kind: fc.constantFrom<OpKind>(
        "transfer", "transfer", "transfer", "overdraft", "withdraw", "bad_nonce", "low_fee", "junk",
        // SPEC 2.8: the app fails; the lane refuses the op and must restore the app exactly
        "fail_loop", "fail_trap", "fail_recursion", "fail_validate",
      ),
      to: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("advance" as const),
      // Single blocks often: a deposit then one block puts it exactly at the safe head,
      // the boundary of the drain rule (block <= safe_block).
      blocks: fc.oneof(
        { weight: 6, arbitrary: fc.constant(1) },
        { weight: 8, arbitrary: fc.integer({ min: 2, max: 8 }) },
        { weight: 1, arbitrary: fc.integer({ min: 100, max: 1500 }) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("post" as const),
      // Mostly prompt; sometimes later than MAX_WAIT_BLOCKS allows.
      delay: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 30 }) }, { weight: 1, arbitrary: fc.integer({ min: 1150, max: 1400 }) }),
      duplicate: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("malformed" as const), bytes: fc.uint8Array({ maxLength: 64 }) }) },
  // a direct input the app fails on: an included no-op on both sides (SPEC 2.8)
  { weight: 1, arbitrary: fc.constant({ t: "failing_input" as const }) },
);

/** Every workload starts with funded users, so that most ops can actually pay their fee. */
const PROLOGUE: Action[] = [
  { t: "deposit", user: 0, amount: 10n ** 18n },
  { t: "deposit", user: 1, amount: 10n ** 18n },
  { t: "deposit", user: 2, amount: 10n ** 16n },
  { t: "advance", blocks: 6 },
];

export const workloadArb = fc
  .array(actionArb, { minLength: 4, maxLength: 40 })
  .map((actions) => [...PROLOGUE, ...actions]);

export async function checkWorkload(
  actions: readonly Action[],
): Promise<{ stale: boolean; ops: number; failedOps: number; failedInputs: number }> {
  const r = await runWorkload(actions);
  const history = r.history.map(comparable);
  const executed = r.executed.map(comparable);
  // Identical order over the accepted prefix, entry by entry.
  expect(executed.slice(0, r.prefix)).toEqual(history.slice(0, r.prefix));
  // Identical state bytes at the end of the accepted prefix.
  expect(Buffer.from(r.schedulerDumpAtPrefix).toString("hex")).toBe(Buffer.from(r.sequencerDumpAtPrefix).toString("hex"));
  if (r.accepted === r.sealed) {
    // Every batch accepted: the whole history is what L1 executes, nothing more.
    expect(executed).toEqual(history);
  } else {
    // The first rejected batch poisons the nonce: after the prefix the scheduler executes
    // no op at all, only direct inputs, in L1 order, each forced because it waited long enough.
    const rest = r.executed.slice(r.prefix);
    for (const e of rest) {
      expect(e.kind).toBe("direct_input");
      if (e.kind === "direct_input") {
        expect(e.cause).toBe("forced");
        expect(BigInt(r.lastInclusionBlock) - BigInt(e.blockNumber) >= MAX_WAIT_BLOCKS).toBe(true);
      }
    }
    const idx = rest.map((e) => (e.kind === "direct_input" ? e.inputIndex : -1));
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
  }
  return {
    stale: r.accepted < r.sealed,
    ops: r.history.filter((h) => h.kind === "user_op").length,
    failedOps: r.failedOps,
    failedInputs: r.failedInputs,
  };
}

describe("sequencer ≡ scheduler", () => {
  test("a workload where every batch lands promptly matches exactly", async () => {
    const actions: Action[] = [
      { t: "deposit", user: 0, amount: 10n ** 18n },
      { t: "deposit", user: 1, amount: 10n ** 17n },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "transfer", to: 1 },
      { t: "op", user: 1, kind: "withdraw", to: 0 },
      { t: "op", user: 3, kind: "transfer", to: 0 }, // cannot pay the fee: rejected, not stored
      { t: "advance", blocks: 7 },
      { t: "post", delay: 2, duplicate: true },
      { t: "deposit", user: 2, amount: 5n },
      { t: "op", user: 0, kind: "overdraft", to: 2 },
      { t: "advance", blocks: 7 },
    ];
    const r = await runWorkload(actions);
    expect(r.sealed).toBeGreaterThan(1);
    expect(r.accepted).toBe(r.sealed);
    expect(r.history.filter((h) => h.kind === "user_op").length).toBe(3);
    await checkWorkload(actions);
  });

  test("failing ops are refused with the app restored, failing deposits are included no-ops, on both sides (SPEC 2.8)", async () => {
    const actions: Action[] = [
      { t: "deposit", user: 0, amount: 10n ** 18n },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "transfer", to: 1 },
      { t: "op", user: 0, kind: "fail_loop", to: 0 },
      { t: "op", user: 0, kind: "transfer", to: 2 },
      { t: "op", user: 0, kind: "fail_trap", to: 0 },
      { t: "op", user: 0, kind: "fail_recursion", to: 0 },
      { t: "op", user: 0, kind: "fail_validate", to: 0 },
      { t: "failing_input" },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "withdraw", to: 0 },
      { t: "advance", blocks: 7 },
    ];
    const r = await runWorkload(actions);
    expect(r.failedOps).toBe(4);
    expect(r.failedInputs).toBe(1);
    // the ops around the failures kept consecutive nonces: nothing of a failed op remained
    expect(r.history.filter((h) => h.kind === "user_op").map((h) => h.kind === "user_op" && h.nonce)).toEqual([0, 1, 2]);
    const failed = r.history.find((h) => h.kind === "direct_input" && h.failure !== null);
    expect(failed).toMatchObject({ failure: "fuel", outputs: [] });
    await checkWorkload(actions);
  });

  test("a deposit exactly at the safe head of a new frame is drained before that frame's ops", async () => {
    const actions: Action[] = [
      { t: "deposit", user: 0, amount: 10n ** 18n },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "transfer", to: 1 },
      { t: "advance", blocks: 6 },
      { t: "deposit", user: 1, amount: 5n },
      { t: "advance", blocks: 1 }, // the deposit's block is now the safe head
      { t: "op", user: 0, kind: "transfer", to: 1 }, // opens the frame at that head
      { t: "advance", blocks: 3 },
    ];
    const r = await runWorkload(actions);
    expect(r.history.map((h) => h.kind)).toEqual(["direct_input", "user_op", "direct_input", "user_op"]);
    await checkWorkload(actions);
  });

  test("a batch landing 1200 blocks late poisons the nonce; the difference is exact", async () => {
    const actions: Action[] = [
      { t: "deposit", user: 0, amount: 10n ** 18n },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "transfer", to: 1 },
      { t: "advance", blocks: 6 },
      { t: "post", delay: 1300, duplicate: false },
      { t: "deposit", user: 1, amount: 7n },
      { t: "advance", blocks: 6 },
      { t: "op", user: 0, kind: "transfer", to: 2 },
      { t: "advance", blocks: 1400 },
    ];
    const r = await runWorkload(actions);
    expect(r.stale).toBeGreaterThan(0);
    expect(r.accepted).toBeLessThan(r.sealed);
    expect(r.executed.some((e) => e.kind === "direct_input" && e.cause === "forced")).toBe(true);
    await checkWorkload(actions);
  });

  test("random workloads (fixed seed)", async () => {
    const runs = Number(process.env.SEQ_PROPERTY_RUNS ?? 200);
    let stale = 0;
    let ops = 0;
    let failedOps = 0;
    let failedInputs = 0;
    await fc.assert(
      fc.asyncProperty(workloadArb, async (actions) => {
        const r = await checkWorkload(actions);
        if (r.stale) stale++;
        ops += r.ops;
        failedOps += r.failedOps;
        failedInputs += r.failedInputs;
      }),
      { seed: 20261123, numRuns: runs, endOnFailure: true },
    );
    // The generator really exercises both regimes.
    expect(stale).toBeGreaterThan(0);
    expect(ops).toBeGreaterThan(runs);
    expect(failedOps).toBeGreaterThan(runs / 4);
    expect(failedInputs).toBeGreaterThan(0);
    console.log(
      `equivalence: ${runs} random schedules, ${stale} with a stale batch, ${ops} ops sequenced, ` +
        `${failedOps} failing ops refused, ${failedInputs} failing direct inputs included as no-ops`,
    );
  }, 600_000);
});
