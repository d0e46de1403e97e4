import { describe, expect, test } from "bun:test";
import {
  FRAME_ADVANCE_BLOCKS,
  MAX_WAIT_BLOCKS,
  coversFrameFee,
  isBatchInput,
  isDrainableAt,
  isForcedByBackstop,
  isStale,
  shouldOpenNewFrame,
} from "./scheduler-rules.ts";

test("constants", () => {
  expect(MAX_WAIT_BLOCKS).toBe(1200n);
  expect(FRAME_ADVANCE_BLOCKS).toBe(5n);
});

describe("shouldOpenNewFrame", () => {
  test("opens at exactly S + 5, not before", () => {
    expect(shouldOpenNewFrame(100n, 104n)).toBe(false);
    expect(shouldOpenNewFrame(100n, 105n)).toBe(true);
    expect(shouldOpenNewFrame(100n, 5000n)).toBe(true);
  });
  test("a safe head behind the frame (reorg of the view) never opens one", () => {
    expect(shouldOpenNewFrame(100n, 90n)).toBe(false);
    expect(shouldOpenNewFrame(0n, 0n)).toBe(false);
  });
});

describe("isDrainableAt", () => {
  test("block <= safe_block", () => {
    expect(isDrainableAt(9n, 10n)).toBe(true);
    expect(isDrainableAt(10n, 10n)).toBe(true);
    expect(isDrainableAt(11n, 10n)).toBe(false);
  });
});

describe("isStale", () => {
  test("1199 blocks is still fresh, 1200 is stale", () => {
    expect(isStale(1299n, 100n)).toBe(false);
    expect(isStale(1300n, 100n)).toBe(true);
    expect(isStale(1199n, 0n)).toBe(false);
    expect(isStale(1200n, 0n)).toBe(true);
  });
  test("saturates at 0 when the frame is ahead of the inclusion block", () => {
    expect(isStale(10n, 5000n)).toBe(false);
  });
  test("SPEC worked example: batch 1 @1232 with frame 1228 is fresh", () => {
    expect(isStale(1232n, 1228n)).toBe(false);
    expect(isStale(20n, 10n)).toBe(false);
  });
});

describe("isForcedByBackstop", () => {
  test("SPEC worked example: the malformed batch @1230 forces D1@12, D2@20 and D3@24", () => {
    expect(isForcedByBackstop(1230n, 12n)).toBe(true); // waited 1218
    expect(isForcedByBackstop(1230n, 20n)).toBe(true); // waited 1210
    expect(isForcedByBackstop(1230n, 24n)).toBe(true); // waited 1206
    expect(isForcedByBackstop(1230n, 31n)).toBe(false); // waited 1199
    expect(isForcedByBackstop(1235n, 1235n)).toBe(false);
  });
  test("saturates", () => {
    expect(isForcedByBackstop(5n, 10n)).toBe(false);
  });
});

describe("isBatchInput (rule 2: by sender only)", () => {
  const submitter = new Uint8Array(20).fill(0x70);
  test("the submitter's inputs are batches, anyone else's are direct inputs", () => {
    expect(isBatchInput(submitter.slice(), submitter)).toBe(true);
    const other = submitter.slice();
    other[19] = 0x71;
    expect(isBatchInput(other, submitter)).toBe(false);
    expect(isBatchInput(new Uint8Array(20), submitter)).toBe(false);
    expect(isBatchInput(submitter.subarray(0, 19), submitter)).toBe(false);
  });
});

describe("coversFrameFee", () => {
  test("max_fee equal to the frame fee covers it; one below does not", () => {
    expect(coversFrameFee(5, 5)).toBe(true);
    expect(coversFrameFee(6, 5)).toBe(true);
    expect(coversFrameFee(4, 5)).toBe(false);
    expect(coversFrameFee(0, 0)).toBe(true);
  });
});
