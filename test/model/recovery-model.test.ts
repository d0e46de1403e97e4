/**
 * Model check of liveness recovery (issue 6 item 8). See test/model/recovery-model.ts for the
 * model and docs/recovery.md "Model check" for what it proves and what it does not.
 *
 * The correct design must pass exhaustively under the bounds; every deliberately broken variant
 * must yield a counterexample of the expected invariant. Set MODEL_VERBOSE=1 to print traces.
 *
 * Run the explorer directly for any variant:
 *   bun test/model/recovery-model.ts <variant> '{"maxBlock":5}'
 */
import { describe, expect, test } from "bun:test";
import { explore, formatViolation, type ExploreResult, type Invariant, type ModelConfig } from "./recovery-model.ts";

const verbose = process.env.MODEL_VERBOSE === "1";

function summary(name: string, r: ExploreResult): string {
  return `${name}: ${r.states} states, ${r.transitions} transitions, max depth ${r.maxDepth}, ${r.ms} ms`;
}

/** Explores and asserts no invariant is violated; prints the counterexample if one is. */
function expectHolds(name: string, cfg: Partial<ModelConfig>, minStates: number): ExploreResult {
  const r = explore(cfg);
  console.log(summary(name, r));
  for (const v of r.violations) console.log(formatViolation(v));
  expect(r.truncated).toBe(false);
  expect(r.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual([]);
  expect(r.states).toBeGreaterThan(minStates);
  return r;
}

/** Explores a broken variant and returns the counterexample for `inv` (asserting it exists). */
function expectCounterexample(name: string, cfg: Partial<ModelConfig>, inv: Invariant) {
  const r = explore({ ...cfg, stopWhenFound: [inv] });
  const v = r.violations.find((x) => x.invariant === inv);
  console.log(`${summary(name, r)} -> ${v ? `${inv} counterexample, ${v.trace.length} steps: ${v.trace.join(" ; ")}` : `NO ${inv} counterexample`}`);
  if (verbose) for (const x of r.violations) console.log(formatViolation(x));
  expect(v).toBeDefined();
  if (!v) throw new Error("unreachable");
  return v;
}

// Smaller bounds for the control runs (still exhaustive, just quicker).
const SMALL: Partial<ModelConfig> = { slots: 2, maxBatches: 2, maxBlock: 5 };

describe("recovery model check: the design holds", () => {
  test("default bounds (3 batches, 3 wallet slots, MAX_WAIT 4, margin 2, adversarial mempool, crashes)", () => {
    const r = expectHolds("correct", {}, 100_000);
    // Non-vacuity: the interesting paths are all reached.
    for (const kind of [
      "DANGER", // runtime detector
      "startup:@starting", // restart decision
      "mine+stale", // a batch lands stale and poisons the nonce
      "mine@flushing+accepted", // a pre-recovery batch lands while flushing
      "mine@flushing+stale",
      "flush noop@flushing+over-batch", // a no-op replaces a pending batch tx
      "evict@flushing", // the mempool drops a flush no-op
      "CRASH@flushing",
      "CRASH@cascading",
      "CASCADE@cascading", // invalidation + reopen
      "cascade@cascading", // nothing doomed: back online without invalidation
    ])
      expect(r.coverage[kind] ?? 0).toBeGreaterThan(0);
    // Once the flush is done, no batch of ours can land any more.
    expect(r.coverage["mine@cascading+accepted"]).toBeUndefined();
    expect(r.coverage["mine@cascading+stale"]).toBeUndefined();
  });

  test("honest mempool (replacement and eviction are final)", () => {
    expectHolds("honest mempool", { adversarialMempool: false }, 50_000);
  });

  test("the issue's detector wording (open batch counts even when empty) with a synchronous check before each confirm", () => {
    expectHolds("pre-guard, empty open batch counts", { ...SMALL, confirmGuard: "pre", restampEmptyOpen: false, dangerCountsEmptyOpen: true }, 5_000);
  });

  test("the submitter's raise-after-broadcast bug is harmless without crashes (the crash is what exposes it)", () => {
    expectHolds("raise-after-broadcast, no crashes", { ...SMALL, submitterRaisesAfterBroadcast: true, crashes: false }, 5_000);
  });
});

describe("recovery model check: broken variants are caught", () => {
  test("(a) flush finishes without the watermark condition -> a zombie batch lands (I3)", () => {
    const v = expectCounterexample("flush ignores W", { flushIgnoresWatermark: true }, "I3");
    const done = v.trace.findIndex((a) => a.startsWith("flush done"));
    const cascade = v.trace.findIndex((a) => a.startsWith("CASCADE"));
    expect(done).toBeGreaterThanOrEqual(0);
    expect(cascade).toBeGreaterThan(done);
    expect(v.trace.at(-1)).toStartWith("mine");
    expect(v.message).toContain("zombie");
  });

  test("(a) also with an honest mempool: a queued tx behind a nonce gap", () => {
    const v = expectCounterexample("flush ignores W, honest mempool", { flushIgnoresWatermark: true, adversarialMempool: false }, "I3");
    expect(v.trace.some((a) => a.startsWith("CASCADE"))).toBe(true);
  });

  test("(a) the same bug also lets a batch land between flush and cascade, which then invalidates an executed batch (I1)", () => {
    const v = expectCounterexample("flush ignores W", { flushIgnoresWatermark: true }, "I1");
    expect(v.message).toContain("invalidated");
  });

  test("(b) submitter persists the watermark after broadcasting + crash -> zombie (I3)", () => {
    const v = expectCounterexample("raise after broadcast", { submitterRaisesAfterBroadcast: true }, "I3");
    const crash = v.trace.indexOf("CRASH");
    const submit = v.trace.findIndex((a) => a.startsWith("submit") && a.includes("later"));
    expect(submit).toBeGreaterThanOrEqual(0);
    expect(crash).toBeGreaterThan(submit);
  });

  test("(c) cascade without re-syncing the reader to the flush's safe block -> invalidates an executed batch (I1)", () => {
    const v = expectCounterexample("cascade without resync", { cascadeWithoutResync: true }, "I1");
    expect(v.message).toContain("invalidated");
  });
});

describe("recovery model check: design findings", () => {
  test("detector that ignores an empty open batch + check before confirm -> op confirmed into a doomed batch (I2a)", () => {
    const v = expectCounterexample("pre-guard, empty open ignored", { confirmGuard: "pre", restampEmptyOpen: false }, "I2a");
    expect(v.trace.at(-1)).toStartWith("confirm");
  });

  test("confirmations gated only by the asynchronous detector -> I2a", () => {
    expectCounterexample("no confirm guard", { confirmGuard: "none", dangerCountsEmptyOpen: true }, "I2a");
  });

  test("startup decision before the reader has synced (wall-clock anchor lost in the crash) -> I2a", () => {
    const v = expectCounterexample("startup without sync", { startupRequiresSync: false }, "I2a");
    expect(v.trace).toContain("CRASH");
  });

  test("no wall-clock fallback: a stalled reader hides the danger -> I2a", () => {
    expectCounterexample("no wall clock", { wallClockFallback: false }, "I2a");
  });

  test("margin must exceed the safe lag + 1 block: margin 1 -> I2a", () => {
    expectCounterexample("margin 1", { margin: 1 }, "I2a");
  });
});
