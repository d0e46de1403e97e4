import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  DEFAULT_BATCH_POLICY,
  MAX_FEE_EXPONENT,
  batchSizeTargetBytes,
  batchSizeTargetExponent,
  feeToLinear,
  maxBatchBytes,
  recommendedFee,
  suggestedMaxFee,
} from "./fees.ts";
import { InvalidFeeError } from "./protocol-errors.ts";

/** Independent re-implementation straight from the SPEC text, without memo or shortcuts. */
function referenceFeeToLinear(n: number): bigint {
  const ONE = 1n << 64n;
  const mul = (a: bigint, b: bigint) => (a * b) / ONE;
  const t: bigint[] = [129n * 2n ** 57n];
  for (let i = 1; i <= 14; i++) t[i] = mul(t[i - 1]!, t[i - 1]!);
  let r = ONE;
  for (let i = 0; i <= 14; i++) if (n & (1 << i)) r = mul(r, t[i]!);
  return r >> 64n;
}

describe("feeToLinear", () => {
  const vectors: [number, bigint][] = [
    [0, 1n],
    [10, 1n],
    [100, 2n],
    [1000, 2397n],
    [1060, 3824n],
    [1213, 12578n],
    [1333, 32003n],
    [1356, 38276n],
    [1409, 57816n],
    [2000, 5747530n],
  ];
  for (const [n, want] of vectors) {
    test(`SPEC vector ${n} -> ${want}`, () => {
      expect(feeToLinear(n)).toBe(want);
      expect(feeToLinear(n)).toBe(want); // memoized path
    });
  }

  test("17101 is legal: the last exponent whose fixed-point value fits in 256 bits", () => {
    const v = feeToLinear(MAX_FEE_EXPONENT);
    expect(v).toBe(referenceFeeToLinear(MAX_FEE_EXPONENT));
    expect(v < 1n << 192n).toBe(true);
    expect(referenceFeeToLinear(MAX_FEE_EXPONENT + 1) >= 1n << 192n).toBe(true);
  });

  test("rejects out-of-range and non-integer exponents with InvalidFeeError", () => {
    for (const bad of [17102, -1, 1.5, Number.NaN, Infinity, 65535]) {
      expect(() => feeToLinear(bad)).toThrow(InvalidFeeError);
    }
  });

  test("matches the reference and is monotone over the whole legal range", () => {
    let prev = 0n;
    for (let n = 0; n <= MAX_FEE_EXPONENT; n++) {
      const v = feeToLinear(n);
      if (n % 97 === 0) expect(v).toBe(referenceFeeToLinear(n));
      expect(v >= prev).toBe(true);
      prev = v;
    }
  });

  test("random exponents agree with the reference", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FEE_EXPONENT }), (n) => feeToLinear(n) === referenceFeeToLinear(n)),
      { numRuns: 500 },
    );
  });
});

describe("batch policy", () => {
  test("defaults", () => {
    expect(recommendedFee(DEFAULT_BATCH_POLICY)).toBe(1356);
    expect(batchSizeTargetExponent(DEFAULT_BATCH_POLICY)).toBe(1213);
    expect(batchSizeTargetBytes(DEFAULT_BATCH_POLICY)).toBe(12578);
    expect(maxBatchBytes(DEFAULT_BATCH_POLICY)).toBe(32003);
  });

  test("gas price moves the recommended fee one for one", () => {
    expect(recommendedFee({ ...DEFAULT_BATCH_POLICY, logGasPrice: 100 })).toBe(1456);
  });

  test("a policy that yields an illegal exponent is a typed error", () => {
    expect(() => recommendedFee({ ...DEFAULT_BATCH_POLICY, logGasPrice: -5000 })).toThrow(InvalidFeeError);
    expect(() => maxBatchBytes({ ...DEFAULT_BATCH_POLICY, logMaxBatchBytes: 17000 })).toThrow(InvalidFeeError);
  });

  test("suggestedMaxFee", () => {
    expect(suggestedMaxFee(1356, 1356)).toBe(1409);
    expect(suggestedMaxFee(2000, 1356)).toBe(2053);
    expect(suggestedMaxFee(100, 1356)).toBe(1409);
    expect(suggestedMaxFee(17090, 1356)).toBe(MAX_FEE_EXPONENT);
  });
});
