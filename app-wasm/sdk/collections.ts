// Deterministic collections whose canonical bytes the SDK writes and reads, so an app never
// writes serialisation code.
//
// Every map is a crit-bit tree over the key's canonical bytes. Why not a hash table: keys are
// chosen by users (any address, any name), and a public deterministic hash can be flooded
// with colliding keys; a crit-bit tree has a hard bound (one node per differing key bit),
// never rehashes, and walks in key order, which is the dump order. Keys are encoded so that
// no key's bytes are a prefix of another's (fixed length, or a length prefix), which is what
// a crit-bit tree needs.
//
// Why the nodes live in unmanaged memory (heap.alloc), not in GC objects: the collector's
// work at the end of a mark phase grows with the number of live objects, so a large managed
// state would one day make a single call exceed its fuel budget, and every retry would hit
// the same wall (SPEC 2.8 restores the state, GC debt included). Unmanaged state keeps the
// managed heap to a call's own temporaries. Values are stored as their canonical bytes:
// `get` decodes a fresh copy, `set` encodes it back.
//
// Values follow Solidity mapping semantics: `get` of an absent key gives the empty value,
// and an empty value is never stored or dumped. So two histories that reach the same
// contents dump the same bytes, whatever order they inserted in.
//
// Dump of one collection: count u32 LE || count × (key || value), strictly ascending by key
// bytes. Keys: an address is its 20 bytes, an integer 8 bytes big-endian, bytes a u16
// big-endian length then the bytes.

import { Address, ADDRESS_LENGTH } from "./address";
import { Reader, Record, Writer } from "./codec";

/** Anything the app's dump is made of, in the order the app persisted it. */
export abstract class Persistent {
  abstract dumpTo(w: Writer): void;
  /** Decodes into a pending copy; false (with nothing changed) when the bytes are refused. */
  abstract stageLoad(r: Reader): bool;
  /** Makes the pending copy current (every collection staged fine). */
  abstract commitLoad(): void;
  abstract abortLoad(): void;
}

// Leaf, 16 bytes + key:  [0,4) key length  [4,8) value block  [8,12) value length  [16,..) key
// Inner node, 16 bytes:  [0,4) child 0  [4,8) child 1  [8,12) critical byte  [12,16) other-bits mask
// A child with bit 0 set is an inner node (pointer | 1), else a leaf; heap blocks are 16-byte
// aligned, so bit 0 is free for the tag.
const LEAF_KEY: usize = 16;
const INNER_SIZE: usize = 16;

// One reader and one writer for values, reused: decode and encode never call back into a map.
const VALUE_READER = Reader.at(0, 0);
const VALUE_WRITER = new Writer(64);
const ADDRESS_KEY = memory.data(24, 8);

// @ts-ignore: decorator
@inline function addressKey(a: Address): usize {
  a.writeTo(ADDRESS_KEY);
  return ADDRESS_KEY;
}

// @ts-ignore: decorator
@inline function keyByte(kp: usize, kl: usize, i: usize): u32 {
  return i < kl ? <u32>load<u8>(kp + i) : 0;
}

// 1 when the bit that `other` leaves clear is set in c (the crit-bit direction trick)
// @ts-ignore: decorator
@inline function direction(other: u32, c: u32): usize {
  return <usize>((1 + (other | c)) >> 8);
}

function compareKeys(ap: usize, al: usize, bp: usize, bl: usize): i32 {
  const c = memory.compare(ap, bp, al < bl ? al : bl);
  if (c != 0) return c;
  return al < bl ? -1 : al > bl ? 1 : 0;
}

function freeTree(p: usize): void {
  if (p == 0) return;
  const stack = new Array<usize>();
  stack.push(p);
  while (stack.length > 0) {
    const n = stack.pop();
    if ((n & 1) != 0) {
      const q = n - 1;
      stack.push(<usize>load<u32>(q));
      stack.push(<usize>load<u32>(q, 4));
      heap.free(q);
    } else {
      heap.free(<usize>load<u32>(n, 4));
      heap.free(n);
    }
  }
}

/** The crit-bit tree under every map and set, over encoded keys. */
export abstract class Tree<V> extends Persistent {
  // the root pointer lives in memory so that an insert can hold "the slot that points here"
  private slot: usize = Tree.newSlot();
  private n: u32 = 0;
  private pendingSlot: usize = 0;
  private pendingN: u32 = 0;

  private static newSlot(): usize {
    const s = heap.alloc(4);
    store<u32>(s, 0);
    return s;
  }

  /** Length of the encoded key at the reader's position (not consumed); -1 when malformed. */
  protected abstract keyLength(r: Reader): i32;
  /** The empty value, used for absent keys and to decode. */
  protected abstract emptyValue(): V;
  protected abstract encodeValue(w: Writer, v: V): void;
  protected abstract decodeValue(r: Reader): V;
  protected abstract valueIsEmpty(v: V): bool;

  /** Entries stored (never counts an empty value). */
  get size(): u32 {
    return this.n;
  }

  protected findLeaf(kp: usize, kl: usize): usize {
    let p = <usize>load<u32>(this.slot);
    if (p == 0) return 0;
    while ((p & 1) != 0) {
      const q = p - 1;
      p = <usize>load<u32>(q + (direction(load<u32>(q, 12), keyByte(kp, kl, <usize>load<u32>(q, 8))) << 2));
    }
    return <usize>load<u32>(p) == kl && memory.compare(p + LEAF_KEY, kp, kl) == 0 ? p : 0;
  }

  protected getAt(kp: usize, kl: usize): V {
    const leaf = this.findLeaf(kp, kl);
    if (leaf == 0) return this.emptyValue();
    return this.decodeValue(VALUE_READER.reset(<usize>load<u32>(leaf, 4), <i32>load<u32>(leaf, 8)));
  }

  protected hasAt(kp: usize, kl: usize): bool {
    return this.findLeaf(kp, kl) != 0;
  }

  /** Stores `value`, or removes the key when the value is empty. */
  protected setAt(kp: usize, kl: usize, value: V): void {
    if (this.valueIsEmpty(value)) {
      this.deleteAt(kp, kl);
      return;
    }
    VALUE_WRITER.reset();
    this.encodeValue(VALUE_WRITER, value);
    const b = VALUE_WRITER.finish();
    this.putBytes(kp, kl, b.dataStart, <usize>b.length);
  }

  private putBytes(kp: usize, kl: usize, vp: usize, vl: usize): void {
    const leaf = this.leafFor(kp, kl);
    let block = <usize>load<u32>(leaf, 4);
    if (block == 0 || <usize>load<u32>(leaf, 8) != vl) {
      if (block != 0) heap.free(block);
      block = heap.alloc(vl > 0 ? vl : 1);
      store<u32>(leaf, <u32>block, 4);
      store<u32>(leaf, <u32>vl, 8);
    }
    memory.copy(block, vp, vl);
  }

  /** The leaf for a key, inserted (with no value block yet) when absent. */
  private leafFor(kp: usize, kl: usize): usize {
    let p = <usize>load<u32>(this.slot);
    if (p == 0) {
      const leaf = this.newLeaf(kp, kl);
      store<u32>(this.slot, <u32>leaf);
      return leaf;
    }
    while ((p & 1) != 0) {
      const q = p - 1;
      p = <usize>load<u32>(q + (direction(load<u32>(q, 12), keyByte(kp, kl, <usize>load<u32>(q, 8))) << 2));
    }
    const best = p;
    const bl = <usize>load<u32>(best);
    const bp = best + LEAF_KEY;
    // first differing byte, and its most significant differing bit
    const len = bl > kl ? bl : kl;
    let newByte: usize = 0;
    let diff: u32 = 0;
    for (; newByte < len; newByte++) {
      diff = keyByte(bp, bl, newByte) ^ keyByte(kp, kl, newByte);
      if (diff != 0) break;
    }
    if (diff == 0) return best;
    diff |= diff >> 1;
    diff |= diff >> 2;
    diff |= diff >> 4;
    const other: u32 = (diff & ~(diff >> 1)) ^ 0xff;
    const newDir = direction(other, keyByte(bp, bl, newByte));

    const leaf = this.newLeaf(kp, kl);
    const node = heap.alloc(INNER_SIZE);
    store<u32>(node, <u32>newByte, 8);
    store<u32>(node, other, 12);
    store<u32>(node + ((1 - newDir) << 2), <u32>leaf);
    // walk down again to where the node belongs: above the first node that tests a later
    // byte, or a less significant bit of the same byte
    let where = this.slot;
    while (true) {
      const c = <usize>load<u32>(where);
      if ((c & 1) == 0) break;
      const q = c - 1;
      const qByte = <usize>load<u32>(q, 8);
      const qOther = load<u32>(q, 12);
      if (qByte > newByte) break;
      if (qByte == newByte && qOther > other) break;
      where = q + (direction(qOther, keyByte(kp, kl, qByte)) << 2);
    }
    store<u32>(node + (newDir << 2), load<u32>(where));
    store<u32>(where, <u32>(node | 1));
    return leaf;
  }

  private newLeaf(kp: usize, kl: usize): usize {
    const leaf = heap.alloc(LEAF_KEY + kl);
    store<u32>(leaf, <u32>kl);
    store<u32>(leaf, 0, 4);
    store<u32>(leaf, 0, 8);
    store<u32>(leaf, 0, 12);
    memory.copy(leaf + LEAF_KEY, kp, kl);
    this.n++;
    return leaf;
  }

  protected deleteAt(kp: usize, kl: usize): bool {
    let wherep = this.slot;
    let p = <usize>load<u32>(wherep);
    if (p == 0) return false;
    let whereq: usize = 0;
    let q: usize = 0;
    let dir: usize = 0;
    while ((p & 1) != 0) {
      whereq = wherep;
      q = p - 1;
      dir = direction(load<u32>(q, 12), keyByte(kp, kl, <usize>load<u32>(q, 8)));
      wherep = q + (dir << 2);
      p = <usize>load<u32>(wherep);
    }
    if (<usize>load<u32>(p) != kl || memory.compare(p + LEAF_KEY, kp, kl) != 0) return false;
    heap.free(<usize>load<u32>(p, 4));
    heap.free(p);
    this.n--;
    if (whereq == 0) {
      store<u32>(this.slot, 0);
      return true;
    }
    store<u32>(whereq, load<u32>(q + ((1 - dir) << 2)));
    heap.free(q);
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    freeTree(<usize>load<u32>(this.slot));
    store<u32>(this.slot, 0);
    this.n = 0;
  }

  /** Leaf pointers in ascending key order (an explicit stack: no recursion). */
  protected leaves(): usize[] {
    const out = new Array<usize>();
    const root = <usize>load<u32>(this.slot);
    if (root == 0) return out;
    const stack = new Array<usize>();
    stack.push(root);
    while (stack.length > 0) {
      const p = stack.pop();
      if ((p & 1) != 0) {
        const q = p - 1;
        stack.push(<usize>load<u32>(q, 4)); // child 1 first, so child 0 comes out first
        stack.push(<usize>load<u32>(q));
      } else {
        out.push(p);
      }
    }
    return out;
  }

  /** Key bytes of a leaf, as a fresh array (in their encoded form). */
  protected static leafKey(leaf: usize): Uint8Array {
    const kl = <i32>load<u32>(leaf);
    const b = new Uint8Array(kl);
    memory.copy(b.dataStart, leaf + LEAF_KEY, <usize>kl);
    return b;
  }

  protected leafValue(leaf: usize): V {
    return this.decodeValue(Reader.at(<usize>load<u32>(leaf, 4), <i32>load<u32>(leaf, 8)));
  }

  dumpTo(w: Writer): void {
    w.u32(this.n);
    const all = this.leaves();
    for (let i = 0; i < all.length; i++) {
      const leaf = all[i];
      w.raw(leaf + LEAF_KEY, <i32>load<u32>(leaf));
      w.raw(<usize>load<u32>(leaf, 4), <i32>load<u32>(leaf, 8));
    }
  }

  stageLoad(r: Reader): bool {
    const count = r.u32();
    if (!r.ok() || <u64>count > <u64>r.remaining) return false;
    // build a separate tree, so a refused dump changes nothing
    const savedSlot = this.slot;
    const savedN = this.n;
    this.slot = Tree.newSlot();
    this.n = 0;
    let prevP: usize = 0;
    let prevL: usize = 0;
    let good = true;
    for (let i: u32 = 0; i < count; i++) {
      // keys and values are used in place in the dump bytes: no copies
      const kl = this.keyLength(r);
      const at = r.position;
      if (kl < 0 || !r.skip(kl)) {
        good = false;
        break;
      }
      const kp = r.pointerTo(at);
      if (i > 0 && compareKeys(prevP, prevL, kp, <usize>kl) >= 0) {
        good = false; // not strictly ascending
        break;
      }
      const from = r.position;
      const value = this.decodeValue(r);
      if (!r.ok() || this.valueIsEmpty(value)) {
        good = false;
        break;
      }
      // canonical: the value must re-encode to exactly the bytes it came from
      VALUE_WRITER.reset();
      this.encodeValue(VALUE_WRITER, value);
      const enc = VALUE_WRITER.finish();
      const vl = r.position - from;
      if (enc.length != vl || memory.compare(enc.dataStart, r.pointerTo(from), <usize>vl) != 0) {
        good = false;
        break;
      }
      this.putBytes(kp, <usize>kl, r.pointerTo(from), <usize>vl);
      prevP = kp;
      prevL = <usize>kl;
      // Free the decoded values now and then. Safe: every managed object still needed is
      // reachable from a global (the app, its collections, the loader's reader and writer).
      if ((i & 1023) == 1023) __collect();
    }
    this.pendingSlot = this.slot;
    this.pendingN = this.n;
    this.slot = savedSlot;
    this.n = savedN;
    if (!good) this.abortLoad();
    return good;
  }

  commitLoad(): void {
    freeTree(<usize>load<u32>(this.slot));
    heap.free(this.slot);
    this.slot = this.pendingSlot;
    this.n = this.pendingN;
    this.pendingSlot = 0;
  }

  abortLoad(): void {
    if (this.pendingSlot == 0) return;
    freeTree(<usize>load<u32>(this.pendingSlot));
    heap.free(this.pendingSlot);
    this.pendingSlot = 0;
  }
}

// ---- key encodings -----------------------------------------------------------------------------

const INT_KEY = memory.data(8, 8);

// @ts-ignore: decorator
@inline function intKey(k: u64): usize {
  store<u64>(INT_KEY, bswap<u64>(k));
  return INT_KEY;
}

export const MAX_BYTES_KEY: i32 = 0xffff;

/** u16 BE length || bytes. Callers check the length of user input first (else a failure). */
function bytesKey(k: Uint8Array): Uint8Array {
  if (k.length > MAX_BYTES_KEY) unreachable();
  const b = new Uint8Array(2 + k.length);
  store<u16>(b.dataStart, bswap<u16>(<u16>k.length));
  memory.copy(b.dataStart + 2, k.dataStart, <usize>k.length);
  return b;
}

/** u16 BE length prefix + body, peeked at the reader's position; -1 when it is cut short. */
function bytesKeyLength(r: Reader): i32 {
  if (r.remaining < 2) return -1;
  const p = r.pointerTo(r.position);
  return 2 + <i32>bswap<u16>(load<u16>(p));
}

// ---- maps: values are Records ------------------------------------------------------------------

abstract class RecordTree<V extends Record> extends Tree<V> {
  protected emptyValue(): V {
    return instantiate<V>();
  }
  protected encodeValue(w: Writer, v: V): void {
    v.encode(w);
  }
  protected decodeValue(r: Reader): V {
    const v = instantiate<V>();
    v.decode(r);
    return v;
  }
  protected valueIsEmpty(v: V): bool {
    return v.isEmpty();
  }
}

/**
 * address → V. `get` returns a copy of the stored value, or the empty value; change it and
 * `set` it back. `set` of an empty value removes the key.
 */
export class AddressMap<V extends Record> extends RecordTree<V> {
  get(k: Address): V {
    return this.getAt(addressKey(k), ADDRESS_LENGTH);
  }
  has(k: Address): bool {
    return this.hasAt(addressKey(k), ADDRESS_LENGTH);
  }
  set(k: Address, v: V): void {
    this.setAt(addressKey(k), ADDRESS_LENGTH, v);
  }
  delete(k: Address): bool {
    return this.deleteAt(addressKey(k), ADDRESS_LENGTH);
  }
  /** Keys in ascending order (allocates: for queries, not for every op). */
  keys(): Address[] {
    const all = this.leaves();
    const out = new Array<Address>(all.length);
    for (let i = 0; i < all.length; i++) out[i] = Address.fromPtr(all[i] + LEAF_KEY);
    return out;
  }
  protected keyLength(r: Reader): i32 {
    return ADDRESS_LENGTH;
  }
}

/** u64 → V, ascending by integer. */
export class IntMap<V extends Record> extends RecordTree<V> {
  get(k: u64): V {
    return this.getAt(intKey(k), 8);
  }
  has(k: u64): bool {
    return this.hasAt(intKey(k), 8);
  }
  set(k: u64, v: V): void {
    this.setAt(intKey(k), 8, v);
  }
  delete(k: u64): bool {
    return this.deleteAt(intKey(k), 8);
  }
  keys(): u64[] {
    const all = this.leaves();
    const out = new Array<u64>(all.length);
    for (let i = 0; i < all.length; i++) out[i] = bswap<u64>(load<u64>(all[i] + LEAF_KEY));
    return out;
  }
  protected keyLength(r: Reader): i32 {
    return 8;
  }
}

/** bytes (≤ 65,535) → V, ascending by (length, bytes). */
export class BytesMap<V extends Record> extends RecordTree<V> {
  get(k: Uint8Array): V {
    const e = bytesKey(k);
    return this.getAt(e.dataStart, <usize>e.length);
  }
  has(k: Uint8Array): bool {
    const e = bytesKey(k);
    return this.hasAt(e.dataStart, <usize>e.length);
  }
  set(k: Uint8Array, v: V): void {
    const e = bytesKey(k);
    this.setAt(e.dataStart, <usize>e.length, v);
  }
  delete(k: Uint8Array): bool {
    const e = bytesKey(k);
    return this.deleteAt(e.dataStart, <usize>e.length);
  }
  keys(): Uint8Array[] {
    const all = this.leaves();
    const out = new Array<Uint8Array>(all.length);
    for (let i = 0; i < all.length; i++) out[i] = Tree.leafKey(all[i]).slice(2);
    return out;
  }
  protected keyLength(r: Reader): i32 {
    return bytesKeyLength(r);
  }
}

// ---- sets: keys only -----------------------------------------------------------------------------

/** The value of a set entry: present, no bytes. */
export class Present extends Record {
  encode(w: Writer): void {}
  decode(r: Reader): void {}
  isEmpty(): bool {
    return false;
  }
}

export class AddressSet extends RecordTree<Present> {
  has(k: Address): bool {
    return this.hasAt(addressKey(k), ADDRESS_LENGTH);
  }
  add(k: Address): void {
    this.setAt(addressKey(k), ADDRESS_LENGTH, new Present());
  }
  delete(k: Address): bool {
    return this.deleteAt(addressKey(k), ADDRESS_LENGTH);
  }
  protected keyLength(r: Reader): i32 {
    return ADDRESS_LENGTH;
  }
}

export class IntSet extends RecordTree<Present> {
  has(k: u64): bool {
    return this.hasAt(intKey(k), 8);
  }
  add(k: u64): void {
    this.setAt(intKey(k), 8, new Present());
  }
  delete(k: u64): bool {
    return this.deleteAt(intKey(k), 8);
  }
  protected keyLength(r: Reader): i32 {
    return 8;
  }
}

export class BytesSet extends RecordTree<Present> {
  has(k: Uint8Array): bool {
    const e = bytesKey(k);
    return this.hasAt(e.dataStart, <usize>e.length);
  }
  add(k: Uint8Array): void {
    const e = bytesKey(k);
    this.setAt(e.dataStart, <usize>e.length, new Present());
  }
  delete(k: Uint8Array): bool {
    const e = bytesKey(k);
    return this.deleteAt(e.dataStart, <usize>e.length);
  }
  protected keyLength(r: Reader): i32 {
    return bytesKeyLength(r);
  }
}

/** A single persisted value (a counter, a settings record): dumped as the value's bytes. */
export class Cell<V extends Record> extends Persistent {
  value: V = instantiate<V>();
  private pending: V | null = null;
  dumpTo(w: Writer): void {
    this.value.encode(w);
  }
  stageLoad(r: Reader): bool {
    const v = instantiate<V>();
    v.decode(r);
    if (!r.ok()) return false;
    this.pending = v;
    return true;
  }
  commitLoad(): void {
    this.value = this.pending!;
    this.pending = null;
  }
  abortLoad(): void {
    this.pending = null;
  }
}
