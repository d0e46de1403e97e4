/**
 * Fee math (SPEC 2.3). A fee is a u16 exponent n meaning floor((129/128)^n) smallest units.
 * Consensus-relevant: integer bigint arithmetic only, in exactly the order the spec gives,
 * because every floor() changes the result.
 */
import { InvalidFeeError } from "./protocol-errors.ts";

/**
 * Largest legal fee exponent: the last n whose 64.64 fixed(n) fits in 256 bits, so
 * fee_to_linear(n) < 2^192 and implementations with u256 arithmetic agree with bigint.
 */
export const MAX_FEE_EXPONENT = 17101;

/** Headroom added by suggested_max_fee: (129/128)^53 ≈ 1.51. */
export const SUGGESTED_FEE_HEADROOM = 53;

const FRAC_BITS = 64n;
const ONE = 1n << FRAC_BITS;

/** mul(a, b) = floor(a*b / 2^64), the spec's fixed-point product. */
function mul(a: bigint, b: bigint): bigint {
  return (a * b) >> FRAC_BITS;
}

/** T[i] ≈ (129/128)^(2^i) in 64.64 fixed point; 15 entries cover every u15 exponent. */
const T: readonly bigint[] = (() => {
  const t: bigint[] = [129n << 57n];
  for (let i = 1; i <= 14; i++) t.push(mul(t[i - 1]!, t[i - 1]!));
  return t;
})();

/** fixed(n): product of T[i] over set bits i of n, ascending, starting from ONE. */
function fixed(n: number): bigint {
  let r = ONE;
  for (let i = 0; i < T.length; i++) {
    if ((n >> i) & 1) r = mul(r, T[i]!);
  }
  return r;
}

/** Lazily filled memo: feeToLinear runs per op on the hot path. */
const memo: (bigint | undefined)[] = new Array(MAX_FEE_EXPONENT + 1);

/** @throws InvalidFeeError unless n is an integer in [0, MAX_FEE_EXPONENT]. */
export function assertFeeExponent(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_FEE_EXPONENT) {
    throw new InvalidFeeError(`fee exponent must be an integer in [0, ${MAX_FEE_EXPONENT}], got ${n}`);
  }
}

/** floor((129/128)^n) in smallest units, computed exactly as SPEC 2.3 prescribes. */
export function feeToLinear(n: number): bigint {
  const cached = memo[n];
  if (cached !== undefined) return cached;
  assertFeeExponent(n);
  const v = fixed(n) >> FRAC_BITS;
  memo[n] = v;
  return v;
}

/** Log-space knobs of the batch policy (all fee exponents, possibly negative). */
export interface BatchPolicy {
  logAlpha: number;
  logOnePlusAlpha: number;
  logGasPrice: number;
  logSlack: number;
  logBaseGas: number;
  logDelta: number;
  logUserOpBytes: number;
  logMaxBatchBytes: number;
}

export const DEFAULT_BATCH_POLICY: Readonly<BatchPolicy> = Object.freeze({
  logAlpha: -229,
  logOnePlusAlpha: 20,
  logGasPrice: 0,
  logSlack: 296,
  logBaseGas: 1403,
  logDelta: 419,
  logUserOpBytes: 621,
  logMaxBatchBytes: 1333,
});

/** gas_price + slack + one_plus_alpha + delta + user_op_bytes (1356 by default). */
export function recommendedFee(p: BatchPolicy): number {
  const fee = p.logGasPrice + p.logSlack + p.logOnePlusAlpha + p.logDelta + p.logUserOpBytes;
  assertFeeExponent(fee);
  return fee;
}

/** base_gas - alpha - delta (1213 by default). */
export function batchSizeTargetExponent(p: BatchPolicy): number {
  const e = p.logBaseGas - p.logAlpha - p.logDelta;
  assertFeeExponent(e);
  return e;
}

/** A byte count from an exponent; refuses sizes a JS number cannot hold exactly. */
function linearBytes(exponent: number): number {
  const v = feeToLinear(exponent);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidFeeError(`size exponent ${exponent} gives ${v} bytes, beyond any usable size`);
  }
  return Number(v);
}

/** Batch size at which the sequencer closes a batch, in bytes (12578 by default). */
export function batchSizeTargetBytes(p: BatchPolicy): number {
  return linearBytes(batchSizeTargetExponent(p));
}

/** Hard cap on an encoded batch, in bytes (32003 by default). */
export function maxBatchBytes(p: BatchPolicy): number {
  return linearBytes(p.logMaxBatchBytes);
}

/** max(fee, recommended) + 53, clamped so it is still a legal exponent. */
export function suggestedMaxFee(fee: number, recommended: number): number {
  return Math.min(MAX_FEE_EXPONENT, Math.max(fee, recommended) + SUGGESTED_FEE_HEADROOM);
}
