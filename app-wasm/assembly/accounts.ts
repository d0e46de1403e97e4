// Account table: a crit-bit (PATRICIA) tree keyed by the 20-byte address.
//
// Why a crit-bit tree and not a hash table: addresses in Transfer.to are chosen freely by
// users, so a public, deterministic hash could be flooded with colliding keys. A crit-bit
// tree has a hard worst case (at most 160 internal nodes on any path, one per key bit),
// needs no rehashing, never moves a leaf (so leaf pointers stay valid across inserts),
// and its in-order walk is already sorted by address — exactly the canonical dump order.
//
// Nodes live in 64 KiB chunks taken from the runtime heap and are never freed one by one
// (accounts are never deleted); `resetAccounts` returns every chunk at once for `load`.

export const ADDR_LEN: usize = 20;

// Leaf (one account), 64 bytes:
//   [0,20) address   [20,24) nonce u32 LE   [24,32) zero   [32,64) balance u256 LE
export const LEAF_SIZE: usize = 64;
export const LEAF_NONCE: usize = 20;
export const LEAF_BALANCE: usize = 32;

// Internal node, 16 bytes:
//   [0,4) child 0   [4,8) child 1   [8,12) critical byte index   [12,16) "other bits" mask
// A child pointer with bit 0 set points to an internal node (pointer | 1); otherwise to a
// leaf. All nodes are 16-byte aligned, so bit 0 is free for the tag.
const NODE_SIZE: usize = 16;

const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER: usize = 16; // [0,4) next chunk pointer, rest padding for alignment

// The root lives in memory (not a global) so that the insert loop can hold a pointer to
// "the slot that points at the current node", whether that slot is the root or a child.
const ROOT_SLOT: usize = memory.data(4, 4);

let chunkList: usize = 0; // singly linked list of every chunk, newest first
let bumpPtr: usize = 0;
let bumpEnd: usize = 0;
let count: u32 = 0;

export function accountCount(): u32 {
  return count;
}

export function rootNode(): usize {
  return load<u32>(ROOT_SLOT);
}

function nodeAlloc(size: usize): usize {
  if (bumpPtr + size > bumpEnd) {
    const chunk = heap.alloc(CHUNK_SIZE);
    store<u32>(chunk, <u32>chunkList);
    chunkList = chunk;
    // heap blocks are 16-byte aligned; the header keeps the first node aligned too
    bumpPtr = chunk + CHUNK_HEADER;
    bumpEnd = chunk + CHUNK_SIZE;
  }
  const p = bumpPtr;
  bumpPtr += size;
  memory.fill(p, 0, size);
  return p;
}

/** Drops every account and gives all node memory back to the heap. */
export function resetAccounts(): void {
  let c = chunkList;
  while (c != 0) {
    const next = <usize>load<u32>(c);
    heap.free(c);
    c = next;
  }
  chunkList = 0;
  bumpPtr = 0;
  bumpEnd = 0;
  count = 0;
  store<u32>(ROOT_SLOT, 0);
}

// 1 when bit `(otherbits ^ 0xff)` of byte c is set, else 0 (the crit-bit direction trick).
// @ts-ignore: decorator
@inline function direction(otherbits: u32, c: u32): usize {
  return <usize>((1 + (otherbits | c)) >> 8);
}

/** Leaf whose address is closest to key in the tree's bit order (tree must be non-empty). */
function bestLeaf(key: usize): usize {
  let p = <usize>load<u32>(ROOT_SLOT);
  while ((p & 1) != 0) {
    const q = p - 1;
    const c = <u32>load<u8>(key + <usize>load<u32>(q, 8));
    p = <usize>load<u32>(q + (direction(load<u32>(q, 12), c) << 2));
  }
  return p;
}

/** The account for the address at `key`, or 0 when it has never been created. */
export function findAccount(key: usize): usize {
  if (load<u32>(ROOT_SLOT) == 0) return 0;
  const leaf = bestLeaf(key);
  return memory.compare(leaf, key, ADDR_LEN) == 0 ? leaf : 0;
}

/** The account for `key`, created with nonce 0 and balance 0 when absent. */
export function getOrCreateAccount(key: usize): usize {
  if (load<u32>(ROOT_SLOT) == 0) {
    const leaf = newLeaf(key);
    store<u32>(ROOT_SLOT, <u32>leaf);
    return leaf;
  }
  const best = bestLeaf(key);

  // Find the first differing byte and, within it, the most significant differing bit.
  let newByte: usize = 0;
  let diff: u32 = 0;
  for (; newByte < ADDR_LEN; newByte++) {
    diff = <u32>load<u8>(best + newByte) ^ <u32>load<u8>(key + newByte);
    if (diff != 0) break;
  }
  if (diff == 0) return best; // the key already exists

  diff |= diff >> 1;
  diff |= diff >> 2;
  diff |= diff >> 4;
  const otherbits: u32 = (diff & ~(diff >> 1)) ^ 0xff;
  const newDir = direction(otherbits, <u32>load<u8>(best + newByte));

  const leaf = newLeaf(key);
  const node = nodeAlloc(NODE_SIZE);
  store<u32>(node, <u32>newByte, 8);
  store<u32>(node, otherbits, 12);
  store<u32>(node + ((1 - newDir) << 2), <u32>leaf);

  // Walk down again to the slot where the new node belongs: above the first node that
  // tests a later byte, or a less significant bit of the same byte.
  let slot = ROOT_SLOT;
  while (true) {
    const p = <usize>load<u32>(slot);
    if ((p & 1) == 0) break;
    const q = p - 1;
    const qByte = <usize>load<u32>(q, 8);
    const qOther = load<u32>(q, 12);
    if (qByte > newByte) break;
    if (qByte == newByte && qOther > otherbits) break;
    const c = <u32>load<u8>(key + qByte);
    slot = q + (direction(qOther, c) << 2);
  }
  store<u32>(node + (newDir << 2), load<u32>(slot));
  store<u32>(slot, <u32>(node | 1));
  return leaf;
}

function newLeaf(key: usize): usize {
  const leaf = nodeAlloc(LEAF_SIZE);
  memory.copy(leaf, key, ADDR_LEN);
  count++;
  return leaf;
}

// Explicit stack for the in-order walk: depth is bounded by 160 (one node per key bit),
// so 2 slots per level plus one is always enough.
const WALK_STACK: usize = memory.data(4 * 400, 4);

/**
 * Calls back, in ascending address order, for every account. AssemblyScript has no
 * closures, so the visitor is a function index plus an opaque context value.
 */
export function forEachAccount(visit: (leaf: usize, ctx: usize) => void, ctx: usize): void {
  let root = <usize>load<u32>(ROOT_SLOT);
  if (root == 0) return;
  let sp: usize = 0;
  store<u32>(WALK_STACK, <u32>root);
  sp = 1;
  while (sp > 0) {
    sp--;
    const p = <usize>load<u32>(WALK_STACK + (sp << 2));
    if ((p & 1) == 0) {
      visit(p, ctx);
      continue;
    }
    const q = p - 1;
    // push child 1 first so child 0 (the smaller addresses) is visited first
    store<u32>(WALK_STACK + (sp << 2), load<u32>(q, 4));
    store<u32>(WALK_STACK + ((sp + 1) << 2), load<u32>(q));
    sp += 2;
  }
}
