import { describe, expect, test } from "bun:test";
import { assessDanger, dangerHeadroom, dangerThreshold, staleViewBoundMs, type DangerView } from "./danger.ts";

const p = { marginBlocks: 300, secondsPerBlock: 12 };
const base: DangerView = { safeHead: 2000, safeAdvancedAtMs: 1_000_000, nowMs: 1_000_000, unaccepted: [], open: null };

describe("danger detector", () => {
  test("threshold is 1200 - margin", () => {
    expect(dangerThreshold(p)).toBe(900);
  });
  test("a sealed batch at threshold - 1 is fine; at threshold it is in danger", () => {
    expect(assessDanger({ ...base, unaccepted: [{ nonce: 4, firstSafeBlock: 2000 - 899 }] }, p).state).toBe("ok");
    expect(assessDanger({ ...base, unaccepted: [{ nonce: 4, firstSafeBlock: 2000 - 900 }] }, p)).toEqual({
      state: "danger",
      batchNonce: 4,
      which: "sealed",
      ageBlocks: 900,
      thresholdBlocks: 900,
    });
  });
  test("sealed batches are checked before the open one", () => {
    const v = { ...base, unaccepted: [{ nonce: 4, firstSafeBlock: 1000 }], open: { nonce: 5, firstSafeBlock: 900 } };
    expect(assessDanger(v, p)).toMatchObject({ batchNonce: 4, which: "sealed" });
    expect(assessDanger({ ...v, unaccepted: [] }, p)).toMatchObject({ batchNonce: 5, which: "open" });
  });
  test("a frozen safe head ages batches by one block per SEQ_SECONDS_PER_BLOCK", () => {
    const v = { ...base, unaccepted: [{ nonce: 0, firstSafeBlock: 2000 - 890 }] };
    expect(assessDanger({ ...v, nowMs: base.nowMs + 9 * 12_000 + 11_999 }, p).state).toBe("ok");
    expect(assessDanger({ ...v, nowMs: base.nowMs + 10 * 12_000 }, p)).toMatchObject({ state: "danger", ageBlocks: 900 });
  });
  test("a view older than the bound is stale even with no batch at risk", () => {
    const bound = staleViewBoundMs(p);
    expect(bound).toBe(75 * 12_000);
    expect(assessDanger({ ...base, nowMs: base.nowMs + bound }, p).state).toBe("ok");
    expect(assessDanger({ ...base, nowMs: base.nowMs + bound + 1 }, p)).toMatchObject({ state: "stale_view" });
    expect(staleViewBoundMs({ marginBlocks: 4, secondsPerBlock: 1 })).toBe(60_000);
  });
  test("the headroom agrees with the verdict: danger exactly when no block is left", () => {
    expect(dangerHeadroom(base, p)).toBeNull();
    for (const age of [0, 1, 500, 899, 900, 950]) {
      for (const v of [
        { ...base, unaccepted: [{ nonce: 4, firstSafeBlock: 2000 - age }], open: { nonce: 5, firstSafeBlock: 1999 } },
        { ...base, open: { nonce: 5, firstSafeBlock: 2000 - age } },
        { ...base, unaccepted: [{ nonce: 4, firstSafeBlock: 2000 - age + 10 }], nowMs: base.nowMs + 10 * 12_000 },
      ]) {
        const h = dangerHeadroom(v, p)!;
        expect(h.ageBlocks).toBe(age);
        expect(h.blocksLeft).toBe(900 - age);
        expect(h.blocksLeft <= 0).toBe(assessDanger(v, p).state === "danger");
      }
    }
  });
});
