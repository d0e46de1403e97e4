// Unsigned 256-bit integers stored in linear memory as 4 little-endian u64 limbs
// (i.e. the 32-byte little-endian encoding). Every function works on raw pointers so
// that the hot path allocates nothing. Callers pass 32-byte regions; none of these trap.

/** a == 0 */
export function u256IsZero(a: usize): bool {
  return (load<u64>(a) | load<u64>(a, 8) | load<u64>(a, 16) | load<u64>(a, 24)) == 0;
}

/** a < b, comparing from the most significant limb down. */
export function u256Lt(a: usize, b: usize): bool {
  let x = load<u64>(a, 24);
  let y = load<u64>(b, 24);
  if (x != y) return x < y;
  x = load<u64>(a, 16);
  y = load<u64>(b, 16);
  if (x != y) return x < y;
  x = load<u64>(a, 8);
  y = load<u64>(b, 8);
  if (x != y) return x < y;
  return load<u64>(a) < load<u64>(b);
}

/** dst -= b. The caller guarantees dst >= b, so no borrow escapes the top limb. */
export function u256SubInPlace(dst: usize, b: usize): void {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 8) {
    const x = load<u64>(dst + i);
    const y = load<u64>(b + i);
    const d1 = x - y;
    const d = d1 - borrow;
    borrow = u64(x < y) | u64(d1 < borrow);
    store<u64>(dst + i, d);
  }
}

/**
 * out = a + b (mod 2^256); returns true when the true sum overflowed 256 bits.
 * `out` may alias `a` or `b`: each limb is read before it is written.
 */
export function u256Add(out: usize, a: usize, b: usize): bool {
  let carry: u64 = 0;
  for (let i: usize = 0; i < 32; i += 8) {
    const x = load<u64>(a + i);
    const y = load<u64>(b + i);
    const s1 = x + y;
    const s = s1 + carry;
    carry = u64(s1 < x) | u64(s < s1);
    store<u64>(out + i, s);
  }
  return carry != 0;
}

/** dst = 2^256 - 1 */
export function u256SetMax(dst: usize): void {
  store<u64>(dst, U64.MAX_VALUE);
  store<u64>(dst, U64.MAX_VALUE, 8);
  store<u64>(dst, U64.MAX_VALUE, 16);
  store<u64>(dst, U64.MAX_VALUE, 24);
}

/** dst (LE) = the 32 big-endian bytes at src. dst and src must not overlap. */
export function u256FromBE(dst: usize, src: usize): void {
  store<u64>(dst, bswap<u64>(load<u64>(src, 24)));
  store<u64>(dst, bswap<u64>(load<u64>(src, 16)), 8);
  store<u64>(dst, bswap<u64>(load<u64>(src, 8)), 16);
  store<u64>(dst, bswap<u64>(load<u64>(src)), 24);
}

/** dst (32 big-endian bytes) = the LE value at src. dst and src must not overlap. */
export function u256ToBE(dst: usize, src: usize): void {
  store<u64>(dst, bswap<u64>(load<u64>(src, 24)));
  store<u64>(dst, bswap<u64>(load<u64>(src, 16)), 8);
  store<u64>(dst, bswap<u64>(load<u64>(src, 8)), 16);
  store<u64>(dst, bswap<u64>(load<u64>(src)), 24);
}
