// Byte writers and readers for dumps, outputs and payloads. A Reader never traps: a read past
// the end returns zeros and marks the reader bad, so decoding attacker input is one check at
// the end (`r.ok()`), not a trap (which SPEC 2.8 would turn into a failure).

import { Address, ADDRESS_LENGTH } from "./address";
import { U256 } from "./u256";

const EMPTY = new Uint8Array(0);

export class Writer {
  private data: Uint8Array;
  private n: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.data = new Uint8Array(capacity > 0 ? capacity : 64);
  }

  get length(): i32 {
    return this.n;
  }

  /** Forgets what was written, keeping the buffer (SDK internals reuse one writer). */
  reset(): void {
    this.n = 0;
  }

  /** Pointer to `k` writable bytes at the end, which now count as written. */
  private take(k: i32): usize {
    if (this.n + k > this.data.length) {
      let cap = this.data.length << 1;
      while (cap < this.n + k) cap <<= 1;
      const next = new Uint8Array(cap);
      memory.copy(next.dataStart, this.data.dataStart, <usize>this.n);
      this.data = next;
    }
    const p = this.data.dataStart + <usize>this.n;
    this.n += k;
    return p;
  }

  u8(v: u8): Writer {
    store<u8>(this.take(1), v);
    return this;
  }
  /** Little-endian. */
  u32(v: u32): Writer {
    store<u32>(this.take(4), v);
    return this;
  }
  /** Little-endian. */
  u64(v: u64): Writer {
    store<u64>(this.take(8), v);
    return this;
  }
  u16BE(v: u16): Writer {
    store<u16>(this.take(2), bswap<u16>(v));
    return this;
  }
  u32BE(v: u32): Writer {
    store<u32>(this.take(4), bswap<u32>(v));
    return this;
  }
  u64BE(v: u64): Writer {
    store<u64>(this.take(8), bswap<u64>(v));
    return this;
  }
  u256LE(v: U256): Writer {
    v.writeLE(this.take(32));
    return this;
  }
  /** Solidity's uint256 encoding. */
  u256BE(v: U256): Writer {
    v.writeBE(this.take(32));
    return this;
  }
  address(a: Address): Writer {
    a.writeTo(this.take(ADDRESS_LENGTH));
    return this;
  }
  bytes(b: Uint8Array): Writer {
    memory.copy(this.take(b.length), b.dataStart, <usize>b.length);
    return this;
  }
  /** `len` bytes from raw memory at `ptr`. */
  raw(ptr: usize, len: i32): Writer {
    memory.copy(this.take(len), ptr, <usize>len);
    return this;
  }
  /** UTF-8, no length prefix. */
  text(s: string): Writer {
    return this.bytes(Uint8Array.wrap(String.UTF8.encode(s)));
  }
  /** Overwrites the u32 (LE) at `at`, e.g. a count known only after the entries. */
  patchU32(at: i32, v: u32): void {
    store<u32>(this.data.dataStart + <usize>at, v);
  }

  /** The bytes written so far (a view: valid until the next write). */
  finish(): Uint8Array {
    return this.data.subarray(0, this.n);
  }
}

export class Reader {
  private pos: i32 = 0;
  private bad: bool = false;
  private start: usize;
  private len: i32;
  // keeps a managed source alive while the reader uses it
  private readonly owner: Uint8Array | null;

  constructor(data: Uint8Array) {
    this.owner = data;
    this.start = data.dataStart;
    this.len = data.length;
  }

  /** A reader over raw memory the caller keeps valid (SDK internals). */
  static at(ptr: usize, len: i32): Reader {
    return new Reader(EMPTY).reset(ptr, len);
  }

  /** Points this reader at raw memory, from its start (SDK internals reuse one reader). */
  reset(ptr: usize, len: i32): Reader {
    this.start = ptr;
    this.len = len;
    this.pos = 0;
    this.bad = false;
    return this;
  }

  /** Bytes consumed so far. */
  get position(): i32 {
    return this.pos;
  }

  /** Skips `k` bytes; false (and bad) when fewer remain. */
  skip(k: i32): bool {
    this.at(k);
    return !this.bad;
  }

  /** Address of byte `i` of the input (SDK internals). */
  pointerTo(i: i32): usize {
    return this.start + <usize>i;
  }

  get remaining(): i32 {
    return this.bad ? 0 : this.len - this.pos;
  }

  /** True when no read ran past the end. */
  ok(): bool {
    return !this.bad;
  }

  /** True when every byte was read and no read ran past the end. */
  done(): bool {
    return !this.bad && this.pos == this.len;
  }

  /** Marks the input invalid (e.g. a value that decodes but breaks a rule). */
  fail(): void {
    this.bad = true;
  }

  private at(k: i32): usize {
    if (this.bad || k < 0 || this.pos + k > this.len) {
      this.bad = true;
      return 0;
    }
    const p = this.start + <usize>this.pos;
    this.pos += k;
    return p;
  }

  u8(): u8 {
    const p = this.at(1);
    return p == 0 ? 0 : load<u8>(p);
  }
  u32(): u32 {
    const p = this.at(4);
    return p == 0 ? 0 : load<u32>(p);
  }
  u64(): u64 {
    const p = this.at(8);
    return p == 0 ? 0 : load<u64>(p);
  }
  u16BE(): u16 {
    const p = this.at(2);
    return p == 0 ? 0 : bswap<u16>(load<u16>(p));
  }
  u32BE(): u32 {
    const p = this.at(4);
    return p == 0 ? 0 : bswap<u32>(load<u32>(p));
  }
  u64BE(): u64 {
    const p = this.at(8);
    return p == 0 ? 0 : bswap<u64>(load<u64>(p));
  }
  u256LE(): U256 {
    const p = this.at(32);
    return p == 0 ? U256.zero() : U256.fromLEPtr(p);
  }
  u256BE(): U256 {
    const p = this.at(32);
    return p == 0 ? U256.zero() : U256.fromBEPtr(p);
  }
  address(): Address {
    const p = this.at(ADDRESS_LENGTH);
    return p == 0 ? Address.zero() : Address.fromPtr(p);
  }
  /** A copy of the next `k` bytes (empty and bad when fewer remain). */
  bytes(k: i32): Uint8Array {
    const p = this.at(k);
    const out = new Uint8Array(p == 0 ? 0 : k);
    if (p != 0) memory.copy(out.dataStart, p, <usize>k);
    return out;
  }
  /** A copy of everything left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}

/**
 * A value kept in an SDK collection. `encode`/`decode` give its canonical bytes; an empty
 * value (all fields zero) is never stored, so "absent" and "empty" are the same state, as
 * with a Solidity mapping. `decode` marks the reader bad on bytes it does not accept.
 * Subclasses need a constructor without arguments that makes the empty value.
 */
export abstract class Record {
  abstract encode(w: Writer): void;
  abstract decode(r: Reader): void;
  abstract isEmpty(): bool;
}

/**
 * A record described once, by its fields in order: `fields(f)` passes every field through `f`
 * (this.x = f.u64(this.x)), and the SDK derives the canonical bytes (encode, decode) and
 * emptiness from that one list. An author lists fields and never writes serialisation.
 */
export abstract class Struct extends Record {
  abstract fields(f: Fields): void;
  encode(w: Writer): void {
    this.fields(new Fields(0, w, null));
  }
  decode(r: Reader): void {
    this.fields(new Fields(1, null, r));
  }
  isEmpty(): bool {
    const f = new Fields(2, null, null);
    this.fields(f);
    return f.empty;
  }
}

/** What Struct.fields passes its fields through: an encoder, a decoder or an emptiness test. */
export class Fields {
  /** Still true when every field seen so far was zero (mode 2). */
  empty: bool = true;

  constructor(
    private readonly mode: i32, // 0 encode, 1 decode, 2 is-empty
    private readonly w: Writer | null,
    private readonly r: Reader | null,
  ) {}

  u8(v: u8): u8 {
    if (this.mode == 0) this.w!.u8(v);
    else if (this.mode == 1) return this.r!.u8();
    else if (v != 0) this.empty = false;
    return v;
  }
  bool(v: bool): bool {
    if (this.mode == 1) {
      const b = this.r!.u8();
      if (b > 1) this.r!.fail(); // one canonical byte per bool
      return b == 1;
    }
    return this.u8(v ? 1 : 0) == 1;
  }
  u32(v: u32): u32 {
    if (this.mode == 0) this.w!.u32(v);
    else if (this.mode == 1) return this.r!.u32();
    else if (v != 0) this.empty = false;
    return v;
  }
  u64(v: u64): u64 {
    if (this.mode == 0) this.w!.u64(v);
    else if (this.mode == 1) return this.r!.u64();
    else if (v != 0) this.empty = false;
    return v;
  }
  u256(v: U256): U256 {
    if (this.mode == 0) this.w!.u256LE(v);
    else if (this.mode == 1) return this.r!.u256LE();
    else if (!v.isZero()) this.empty = false;
    return v;
  }
  address(v: Address): Address {
    if (this.mode == 0) this.w!.address(v);
    else if (this.mode == 1) return this.r!.address();
    else if (!v.isZero()) this.empty = false;
    return v;
  }
  /** Bytes of any length up to 65,535 (a u16 length, then the bytes). */
  bytes(v: Uint8Array): Uint8Array {
    if (this.mode == 0) {
      if (v.length > 0xffff) unreachable();
      this.w!.u16BE(<u16>v.length).bytes(v);
    } else if (this.mode == 1) {
      return this.r!.bytes(<i32>this.r!.u16BE());
    } else if (v.length != 0) this.empty = false;
    return v;
  }
}
