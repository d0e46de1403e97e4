// The wallet app (SPEC 2.7), implementing the sequencer's WASM app ABI version 1
// (docs/app-abi.md). Everything here is consensus code: integer math only, no clock, no
// randomness, no managed allocations on the hot path, and no input an attacker can send
// may trap. The only traps left are out-of-memory and host contract violations.

import {
  ADDR_LEN,
  LEAF_BALANCE,
  LEAF_NONCE,
  accountCount,
  findAccount,
  forEachAccount,
  getOrCreateAccount,
  resetAccounts,
} from "./accounts";
import { u256Add, u256FromBE, u256IsZero, u256Lt, u256SetMax, u256SubInPlace, u256ToBE } from "./u256";

// ---- host imports (the ONLY ones allowed by ABI v1, besides env.abort) -------------------

// @ts-ignore: decorator
@external("env", "emit")
declare function hostEmit(kind: i32, ptr: usize, len: usize): void;

const OUTPUT_NOTICE: i32 = 0;
const OUTPUT_VOUCHER: i32 = 1;
const OUTPUT_REPORT: i32 = 2;

// ---- ABI constants ---------------------------------------------------------------------

const ABI_VERSION: i32 = 1;

/** Largest method payload: Transfer = 1 + 32 + 20. */
const MAX_DATA_LEN: u32 = 53;
const SELECTOR_WITHDRAWAL: u8 = 0x00;
const WITHDRAWAL_LEN: u32 = 33;
const SELECTOR_TRANSFER: u8 = 0x01;
const TRANSFER_LEN: u32 = 53;

// validate() reason codes (any non-zero code is a rejection; the text is authoritative)
const OK: i32 = 0;
const REJECT_BAD_NONCE: i32 = 1;
const REJECT_INSUFFICIENT_FEE_BALANCE: i32 = 2;
const REJECT_DATA_TOO_LONG: i32 = 3;
const REJECT_NONCE_EXHAUSTED: i32 = 4;

// Errors that the host must treat as fatal when returned by apply_* / init / load.
const ERR_NOT_INITIALIZED: i32 = 100;
const ERR_PRECONDITION: i32 = 101;
const ERR_BAD_CONFIG: i32 = 102;
const ERR_ALREADY_INITIALIZED: i32 = 103;

// load() error codes (state untouched)
const LOAD_BAD_HEADER: i32 = 1;
const LOAD_BAD_VERSION: i32 = 2;
const LOAD_BAD_LENGTH: i32 = 3;
const LOAD_NOT_CANONICAL: i32 = 4;

// ---- static memory ---------------------------------------------------------------------

// init config: fee recipient || ether portal || erc20 portal || erc20 token, 20 bytes each
const CONFIG_LEN: u32 = 80;
const CONFIG: usize = memory.data(80, 16);
const FEE_RECIPIENT: usize = CONFIG;
const ETHER_PORTAL: usize = CONFIG + 20;
const ERC20_PORTAL: usize = CONFIG + 40;
const ERC20_TOKEN: usize = CONFIG + 60;
let initialized = false;

const ERR_CAP: usize = 256;
const ERR_BUF: usize = memory.data(256, 16);
let errLen: usize = 0;

// one output record: at most from(20) || to(20) || amount(32)
const OUT_BUF: usize = memory.data(96, 16);
// a report's text
const REPORT_CAP: usize = 128;
const REPORT_BUF: usize = memory.data(128, 16);
// scratch u256 values (LE)
const TMP_A: usize = memory.data(32, 16);
const TMP_B: usize = memory.data(32, 16);

// ---- small helpers ---------------------------------------------------------------------

function isZeroAddress(p: usize): bool {
  return (load<u64>(p) | load<u64>(p, 8) | <u64>load<u32>(p, 16)) == 0;
}

function addressEq(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) && load<u32>(a, 16) == load<u32>(b, 16);
}

// Error text is assembled byte by byte into a static buffer: no strings, no allocation.
function errReset(): void {
  errLen = 0;
}

function errByte(b: u8): void {
  if (errLen < ERR_CAP) {
    store<u8>(ERR_BUF + errLen, b);
    errLen++;
  }
}

// Literal text: ASCII only, so copying the low byte of each UTF-16 unit is exact.
function errText(s: string): void {
  for (let i = 0; i < s.length; i++) errByte(<u8>s.charCodeAt(i));
}

function errU32(v: u32): void {
  if (v >= 10) errU32(v / 10);
  errByte(<u8>(48 + (v % 10)));
}

/** Emits a report (a diagnostic: why an included input did nothing). ASCII literals only. */
function report(text: string): void {
  let n: usize = 0;
  for (let i = 0; i < text.length && n < REPORT_CAP; i++) store<u8>(REPORT_BUF + n++, <u8>text.charCodeAt(i));
  hostEmit(OUTPUT_REPORT, REPORT_BUF, n);
}

function fail(code: i32, text: string): i32 {
  errReset();
  errText(text);
  return code;
}

// ---- ABI exports: lifecycle ------------------------------------------------------------

export function abi_version(): i32 {
  return ABI_VERSION;
}

/** A block of `len` bytes for the host to write inputs into; valid until dealloc. */
export function alloc(len: usize): usize {
  return heap.alloc(len);
}

export function dealloc(ptr: usize): void {
  heap.free(ptr);
}

export function max_data_len(): i32 {
  return <i32>MAX_DATA_LEN;
}

export function last_error_ptr(): usize {
  return ERR_BUF;
}

export function last_error_len(): usize {
  return errLen;
}

export function init(ptr: usize, len: usize): i32 {
  if (initialized) return fail(ERR_ALREADY_INITIALIZED, "already initialized");
  if (len != CONFIG_LEN) return fail(ERR_BAD_CONFIG, "config must be 80 bytes");
  memory.copy(CONFIG, ptr, CONFIG_LEN);
  if (isZeroAddress(FEE_RECIPIENT)) return fail(ERR_BAD_CONFIG, "fee recipient must not be the zero address");
  if (!isZeroAddress(ETHER_PORTAL) && addressEq(ETHER_PORTAL, ERC20_PORTAL)) {
    return fail(ERR_BAD_CONFIG, "ether portal and erc20 portal must differ");
  }
  initialized = true;
  errReset();
  return OK;
}

// ---- ABI exports: user operations --------------------------------------------------------

/**
 * Read-only admission check. `fee` (the u16 exponent) is unused by the wallet: it only
 * needs the linear amount the host computed once in src/core/fees.ts.
 */
export function validate(sender: usize, nonce: u32, fee: u32, feeLinear: usize, data: usize, dataLen: usize): i32 {
  if (!initialized) return fail(ERR_NOT_INITIALIZED, "not initialized");
  if (dataLen > MAX_DATA_LEN) {
    errReset();
    errText("data too long: max ");
    errU32(MAX_DATA_LEN);
    errText(", got ");
    errU32(<u32>dataLen);
    return REJECT_DATA_TOO_LONG;
  }
  const acct = findAccount(sender);
  const expected: u32 = acct != 0 ? load<u32>(acct, LEAF_NONCE) : 0;
  if (nonce != expected) {
    errReset();
    errText("bad nonce: expected ");
    errU32(expected);
    errText(", got ");
    errU32(nonce);
    return REJECT_BAD_NONCE;
  }
  // nonces are u32 on the wire; accepting the last one would wrap the account to 0 and
  // make every old signature valid again
  if (nonce == U32.MAX_VALUE) return fail(REJECT_NONCE_EXHAUSTED, "nonce exhausted");
  if (acct == 0) {
    memory.fill(TMP_A, 0, 32);
    if (u256Lt(TMP_A, feeLinear)) return fail(REJECT_INSUFFICIENT_FEE_BALANCE, "insufficient balance for fee");
  } else if (u256Lt(acct + LEAF_BALANCE, feeLinear)) {
    return fail(REJECT_INSUFFICIENT_FEE_BALANCE, "insufficient balance for fee");
  }
  return OK;
}

/**
 * Executes an op that validate() accepted in this very state. Returns 0 whenever the op is
 * included — including business no-ops — and non-zero only on a host contract violation.
 */
export function apply_user_op(
  sender: usize,
  nonce: u32,
  fee: u32,
  feeLinear: usize,
  data: usize,
  dataLen: usize,
  safeBlock: i64,
): i32 {
  releaseDump();
  if (validate(sender, nonce, fee, feeLinear, data, dataLen) != OK) {
    // keep the validate() text, which says which precondition failed
    return initialized ? ERR_PRECONDITION : ERR_NOT_INITIALIZED;
  }
  const acct = getOrCreateAccount(sender);
  store<u32>(acct, nonce + 1, LEAF_NONCE);
  u256SubInPlace(acct + LEAF_BALANCE, feeLinear);
  creditSaturating(getOrCreateAccount(FEE_RECIPIENT) + LEAF_BALANCE, feeLinear);

  if (dataLen == WITHDRAWAL_LEN && load<u8>(data) == SELECTOR_WITHDRAWAL) {
    withdraw(acct, data + 1);
  } else if (dataLen == TRANSFER_LEN && load<u8>(data) == SELECTOR_TRANSFER) {
    transfer(acct, data + 1, data + 33);
  } else {
    // does not decode: included as a no-op (nonce and fee already taken)
    report("undecodable data: neither a withdrawal (0x00, 33 bytes) nor a transfer (0x01, 53 bytes)");
  }
  return OK;
}

// The fee recipient cannot refuse a fee (the op is already included), so an overflow here
// clamps at 2^256-1. Unreachable in practice: fees are < 2^192 each.
function creditSaturating(balance: usize, amount: usize): void {
  if (u256Add(balance, balance, amount)) u256SetMax(balance);
}

// Voucher bytes: destination(20) || value(32, big-endian) || payload (empty for ETH).
function withdraw(acct: usize, amountLE: usize): void {
  memory.copy(TMP_A, amountLE, 32);
  if (u256Lt(acct + LEAF_BALANCE, TMP_A)) {
    report("withdrawal: insufficient balance");
    return;
  }
  u256SubInPlace(acct + LEAF_BALANCE, TMP_A);
  memory.copy(OUT_BUF, acct, ADDR_LEN);
  u256ToBE(OUT_BUF + 20, TMP_A);
  hostEmit(OUTPUT_VOUCHER, OUT_BUF, 52);
}

// Notice bytes: from(20) || to(20) || amount(32, big-endian), i.e.
// abi.encodePacked(address from, address to, uint256 amount).
function transfer(from: usize, amountLE: usize, to: usize): void {
  memory.copy(TMP_A, amountLE, 32);
  if (u256Lt(from + LEAF_BALANCE, TMP_A)) {
    report("transfer: insufficient balance");
    return;
  }
  if (!addressEq(from, to) && !u256IsZero(TMP_A)) {
    // look up before creating so that a refused transfer leaves no empty account behind
    const existing = findAccount(to);
    if (existing != 0) {
      if (u256Add(TMP_B, existing + LEAF_BALANCE, TMP_A)) {
        report("transfer: the recipient's balance would overflow");
        return;
      }
      memory.copy(existing + LEAF_BALANCE, TMP_B, 32);
    } else {
      memory.copy(getOrCreateAccount(to) + LEAF_BALANCE, TMP_A, 32);
    }
    u256SubInPlace(from + LEAF_BALANCE, TMP_A);
  }
  memory.copy(OUT_BUF, from, ADDR_LEN);
  memory.copy(OUT_BUF + 20, to, ADDR_LEN);
  u256ToBE(OUT_BUF + 40, TMP_A);
  hostEmit(OUTPUT_NOTICE, OUT_BUF, 72);
}

// ---- ABI exports: direct inputs --------------------------------------------------------

const ETHER_DEPOSIT_MIN: usize = 52; // sender(20) || value(32) || extra
const ERC20_DEPOSIT_MIN: usize = 72; // token(20) || sender(20) || value(32) || extra

/** Every direct input is included; only well-formed portal deposits change state. */
export function apply_direct_input(sender: usize, block: i64, payload: usize, len: usize): i32 {
  releaseDump();
  if (!initialized) return fail(ERR_NOT_INITIALIZED, "not initialized");
  if (!isZeroAddress(ETHER_PORTAL) && addressEq(sender, ETHER_PORTAL)) {
    if (len >= ETHER_DEPOSIT_MIN) deposit(sender, payload, payload + 20);
    else report("ether deposit: payload shorter than 52 bytes");
  } else if (!isZeroAddress(ERC20_PORTAL) && addressEq(sender, ERC20_PORTAL)) {
    if (len < ERC20_DEPOSIT_MIN) report("erc20 deposit: payload shorter than 72 bytes");
    else if (isZeroAddress(ERC20_TOKEN) || !addressEq(payload, ERC20_TOKEN)) report("erc20 deposit: not the configured token");
    else deposit(sender, payload + 20, payload + 40);
  } else {
    report("input ignored: not from a configured portal");
  }
  return OK;
}

// A deposit that would overflow the balance is refused (included no-op, with a report): the
// funds stay locked in the portal rather than being silently clamped. Zero deposits create
// nothing, which keeps "absent" and "all zero" the same state. Notice bytes, shaped like a
// transfer's: portal(20) || owner(20) || amount(32, big-endian).
function deposit(portal: usize, owner: usize, valueBE: usize): void {
  u256FromBE(TMP_A, valueBE);
  if (!u256IsZero(TMP_A)) {
    const existing = findAccount(owner);
    if (existing != 0) {
      if (u256Add(TMP_B, existing + LEAF_BALANCE, TMP_A)) {
        report("deposit refused: the balance would overflow");
        return;
      }
      memory.copy(existing + LEAF_BALANCE, TMP_B, 32);
    } else {
      memory.copy(getOrCreateAccount(owner) + LEAF_BALANCE, TMP_A, 32);
    }
  }
  memory.copy(OUT_BUF, portal, ADDR_LEN);
  memory.copy(OUT_BUF + 20, owner, ADDR_LEN);
  memory.copy(OUT_BUF + 40, valueBE, 32);
  hostEmit(OUTPUT_NOTICE, OUT_BUF, 72);
}

// ---- ABI exports: queries --------------------------------------------------------------

export function nonce_of(sender: usize): i64 {
  const acct = findAccount(sender);
  return acct != 0 ? <i64>load<u32>(acct, LEAF_NONCE) : 0;
}

// ---- ABI exports: snapshots ------------------------------------------------------------
//
// Dump format v1 (all integers little-endian):
//   magic "CWAL" (4) || format version u32 = 1 || entry count u32 ||
//   count × ( address(20) || nonce u32 || balance u256 )       (56 bytes per entry)
// Entries are strictly ascending by address bytes, and an entry with nonce 0 and balance 0
// never appears. load() accepts exactly these bytes, so dump(load(x)) == x for every x
// that load() accepts.

const DUMP_MAGIC: u32 = 0x4c415743; // "CWAL" read as LE u32
const DUMP_VERSION: u32 = 1;
const DUMP_HEADER: usize = 12;
const DUMP_ENTRY: usize = 56;

let dumpBuf: usize = 0;
let dumpLen: usize = 0;
let dumpWrite: usize = 0;

// A dump can be large (56 bytes per account); hold it only until the next state change.
function releaseDump(): void {
  if (dumpBuf != 0) {
    heap.free(dumpBuf);
    dumpBuf = 0;
    dumpLen = 0;
  }
}

function writeEntry(leaf: usize, _ctx: usize): void {
  const nonce = load<u32>(leaf, LEAF_NONCE);
  if (nonce == 0 && u256IsZero(leaf + LEAF_BALANCE)) return;
  memory.copy(dumpWrite, leaf, ADDR_LEN);
  store<u32>(dumpWrite, nonce, 20);
  memory.copy(dumpWrite + 24, leaf + LEAF_BALANCE, 32);
  dumpWrite += DUMP_ENTRY;
}

export function dump(): i32 {
  releaseDump();
  const cap = DUMP_HEADER + DUMP_ENTRY * <usize>accountCount();
  dumpBuf = heap.alloc(cap);
  dumpWrite = dumpBuf + DUMP_HEADER;
  forEachAccount(writeEntry, 0);
  dumpLen = dumpWrite - dumpBuf;
  store<u32>(dumpBuf, DUMP_MAGIC);
  store<u32>(dumpBuf, DUMP_VERSION, 4);
  store<u32>(dumpBuf, <u32>((dumpLen - DUMP_HEADER) / DUMP_ENTRY), 8);
  return OK;
}

export function dump_ptr(): usize {
  return dumpBuf;
}

export function dump_len(): usize {
  return dumpLen;
}

// `load` would shadow the load<T> builtin inside this file, hence the rename on export.
export { loadState as load };

/** Replaces the whole state with a dump. Checks everything before touching anything. */
function loadState(ptr: usize, len: usize): i32 {
  releaseDump();
  if (!initialized) return fail(ERR_NOT_INITIALIZED, "not initialized");
  if (len < DUMP_HEADER || load<u32>(ptr) != DUMP_MAGIC) return fail(LOAD_BAD_HEADER, "not a wallet dump");
  if (load<u32>(ptr, 4) != DUMP_VERSION) return fail(LOAD_BAD_VERSION, "unsupported wallet dump version");
  const n = <u64>load<u32>(ptr, 8);
  if (<u64>len != <u64>DUMP_HEADER + n * <u64>DUMP_ENTRY) return fail(LOAD_BAD_LENGTH, "wallet dump length does not match its entry count");
  const first = ptr + DUMP_HEADER;
  for (let i: usize = 0; i < <usize>n; i++) {
    const e = first + i * DUMP_ENTRY;
    if (i > 0 && memory.compare(e - DUMP_ENTRY, e, ADDR_LEN) >= 0) {
      return fail(LOAD_NOT_CANONICAL, "wallet dump entries are not strictly ascending by address");
    }
    if (load<u32>(e, 20) == 0 && u256IsZero(e + 24)) {
      return fail(LOAD_NOT_CANONICAL, "wallet dump holds an empty account");
    }
  }
  resetAccounts();
  for (let i: usize = 0; i < <usize>n; i++) {
    const e = first + i * DUMP_ENTRY;
    const acct = getOrCreateAccount(e);
    store<u32>(acct, load<u32>(e, 20), LEAF_NONCE);
    memory.copy(acct + LEAF_BALANCE, e + 24, 32);
  }
  errReset();
  return OK;
}
