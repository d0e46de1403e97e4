// Unsigned 256-bit integers for balances and amounts. Immutable values: every operation
// returns a new U256, so a value stored in a map never changes behind the author's back.
// Overflow is never silent: `add`/`sub` come in checked (null on overflow) and saturating
// forms, and the plain forms trap, which SPEC 2.8 turns into a refused op (use them only
// where a check just proved they cannot overflow).

export class U256 {
  // little-endian limbs: value = l0 + l1·2^64 + l2·2^128 + l3·2^192
  constructor(
    public readonly l0: u64 = 0,
    public readonly l1: u64 = 0,
    public readonly l2: u64 = 0,
    public readonly l3: u64 = 0,
  ) {}

  static zero(): U256 {
    return new U256();
  }

  static max(): U256 {
    return new U256(U64.MAX_VALUE, U64.MAX_VALUE, U64.MAX_VALUE, U64.MAX_VALUE);
  }

  static fromU64(v: u64): U256 {
    return new U256(v);
  }

  /** The 32 little-endian bytes at `ptr`. */
  static fromLEPtr(ptr: usize): U256 {
    return new U256(load<u64>(ptr), load<u64>(ptr, 8), load<u64>(ptr, 16), load<u64>(ptr, 24));
  }

  /** The 32 big-endian bytes at `ptr` (Solidity's uint256 encoding). */
  static fromBEPtr(ptr: usize): U256 {
    return new U256(
      bswap<u64>(load<u64>(ptr, 24)),
      bswap<u64>(load<u64>(ptr, 16)),
      bswap<u64>(load<u64>(ptr, 8)),
      bswap<u64>(load<u64>(ptr)),
    );
  }

  /** `bytes[offset, offset+32)` read big-endian; null when the bytes are too short. */
  static fromBE(bytes: Uint8Array, offset: i32 = 0): U256 | null {
    if (offset < 0 || offset + 32 > bytes.length) return null;
    return U256.fromBEPtr(bytes.dataStart + <usize>offset);
  }

  /** `bytes[offset, offset+32)` read little-endian; null when the bytes are too short. */
  static fromLE(bytes: Uint8Array, offset: i32 = 0): U256 | null {
    if (offset < 0 || offset + 32 > bytes.length) return null;
    return U256.fromLEPtr(bytes.dataStart + <usize>offset);
  }

  writeLE(ptr: usize): void {
    store<u64>(ptr, this.l0);
    store<u64>(ptr, this.l1, 8);
    store<u64>(ptr, this.l2, 16);
    store<u64>(ptr, this.l3, 24);
  }

  writeBE(ptr: usize): void {
    store<u64>(ptr, bswap<u64>(this.l3));
    store<u64>(ptr, bswap<u64>(this.l2), 8);
    store<u64>(ptr, bswap<u64>(this.l1), 16);
    store<u64>(ptr, bswap<u64>(this.l0), 24);
  }

  /** 32 big-endian bytes. */
  toBE(): Uint8Array {
    const out = new Uint8Array(32);
    this.writeBE(out.dataStart);
    return out;
  }

  isZero(): bool {
    return (this.l0 | this.l1 | this.l2 | this.l3) == 0;
  }

  /** True when the value fits in a u64 (then `l0` is it). */
  fitsU64(): bool {
    return (this.l1 | this.l2 | this.l3) == 0;
  }

  cmp(b: U256): i32 {
    if (this.l3 != b.l3) return this.l3 < b.l3 ? -1 : 1;
    if (this.l2 != b.l2) return this.l2 < b.l2 ? -1 : 1;
    if (this.l1 != b.l1) return this.l1 < b.l1 ? -1 : 1;
    if (this.l0 != b.l0) return this.l0 < b.l0 ? -1 : 1;
    return 0;
  }

  eq(b: U256): bool {
    return this.cmp(b) == 0;
  }
  lt(b: U256): bool {
    return this.cmp(b) < 0;
  }
  lte(b: U256): bool {
    return this.cmp(b) <= 0;
  }
  gt(b: U256): bool {
    return this.cmp(b) > 0;
  }
  gte(b: U256): bool {
    return this.cmp(b) >= 0;
  }

  /** this + b, or null when the sum does not fit in 256 bits. */
  checkedAdd(b: U256): U256 | null {
    const s0 = this.l0 + b.l0;
    let c: u64 = u64(s0 < this.l0);
    const t1 = this.l1 + b.l1;
    const s1 = t1 + c;
    c = u64(t1 < this.l1) | u64(s1 < t1);
    const t2 = this.l2 + b.l2;
    const s2 = t2 + c;
    c = u64(t2 < this.l2) | u64(s2 < t2);
    const t3 = this.l3 + b.l3;
    const s3 = t3 + c;
    c = u64(t3 < this.l3) | u64(s3 < t3);
    return c != 0 ? null : new U256(s0, s1, s2, s3);
  }

  /** this - b, or null when b > this. */
  checkedSub(b: U256): U256 | null {
    if (this.lt(b)) return null;
    const d0 = this.l0 - b.l0;
    let br: u64 = u64(this.l0 < b.l0);
    const t1 = this.l1 - b.l1;
    const d1 = t1 - br;
    br = u64(this.l1 < b.l1) | u64(t1 < br);
    const t2 = this.l2 - b.l2;
    const d2 = t2 - br;
    br = u64(this.l2 < b.l2) | u64(t2 < br);
    const d3 = this.l3 - b.l3 - br;
    return new U256(d0, d1, d2, d3);
  }

  /** this + b, clamped at 2^256 - 1. */
  saturatingAdd(b: U256): U256 {
    const s = this.checkedAdd(b);
    return s != null ? s : U256.max();
  }

  /** this + b; traps on overflow (a failure, SPEC 2.8): check first. */
  add(b: U256): U256 {
    const s = this.checkedAdd(b);
    if (s == null) unreachable();
    return s!;
  }

  /** this - b; traps when b > this (a failure, SPEC 2.8): check first. */
  sub(b: U256): U256 {
    const d = this.checkedSub(b);
    if (d == null) unreachable();
    return d!;
  }

  /** this × m, or null when the product does not fit in 256 bits. */
  checkedMulU64(m: u64): U256 | null {
    if (m == 0 || this.isZero()) return U256.zero();
    // schoolbook on 32-bit halves of m, limb by limb, with 128-bit partial products
    let carry: u64 = 0;
    const r0 = mulAdd(this.l0, m, carry);
    carry = mulHi;
    const r1 = mulAdd(this.l1, m, carry);
    carry = mulHi;
    const r2 = mulAdd(this.l2, m, carry);
    carry = mulHi;
    const r3 = mulAdd(this.l3, m, carry);
    if (mulHi != 0) return null;
    return new U256(r0, r1, r2, r3);
  }

  /** Decimal text (for reports and debug lines). */
  toString(): string {
    if (this.isZero()) return "0";
    let digits = "";
    let v: U256 = this;
    while (!v.isZero()) {
      const q = divSmall(v, 10);
      digits = String.fromCharCode(48 + <i32>divRem) + digits;
      v = q;
    }
    return digits;
  }
}

// ---- 64×64 → 128 multiply and small division, integer only -----------------------------

let mulHi: u64 = 0;

/** Low 64 bits of a·b + c; the high 64 bits go to mulHi. */
function mulAdd(a: u64, b: u64, c: u64): u64 {
  const aLo = a & 0xffffffff;
  const aHi = a >> 32;
  const bLo = b & 0xffffffff;
  const bHi = b >> 32;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
  let lo = (ll & 0xffffffff) | (mid << 32);
  let hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  const lo2 = lo + c;
  if (lo2 < lo) hi++;
  mulHi = hi;
  return lo2;
}

let divRem: u64 = 0;

/** v / d for a small divisor (d < 2^32); the remainder goes to divRem. */
function divSmall(v: U256, d: u64): U256 {
  let r: u64 = 0;
  const q3 = divLimb(v.l3, d, r);
  r = divRem;
  const q2 = divLimb(v.l2, d, r);
  r = divRem;
  const q1 = divLimb(v.l1, d, r);
  r = divRem;
  const q0 = divLimb(v.l0, d, r);
  return new U256(q0, q1, q2, q3);
}

/** (r·2^64 + limb) / d with r < d < 2^32, done on 32-bit halves; remainder to divRem. */
function divLimb(limb: u64, d: u64, r: u64): u64 {
  const hiPart = (r << 32) | (limb >> 32);
  const qHi = hiPart / d;
  const r1 = hiPart % d;
  const loPart = (r1 << 32) | (limb & 0xffffffff);
  const qLo = loPart / d;
  divRem = loPart % d;
  return (qHi << 32) | qLo;
}
