// The ABI exports (docs/app-abi.md §4), written once for every app.
//
// Memory: apps build with `--runtime minimal` (asconfig.json), whose collector runs only when
// asked, and the SDK asks at the end of an export, when no managed reference is on the stack:
// after every maintenance call, after a call that grew memory, and after every 32nd call. A
// collection costs the live managed heap (the app object and the collection handles:
// collections keep their contents in unmanaged memory) plus the garbage since the last one,
// so it stays bounded by the work of the calls it follows. It is charged to the call it ends,
// so a call's fuel can differ by one collection between two instances with different
// histories (a restart): the lane's 90 % admission margin covers that. An entry file re-exports
// them with `export * from "../sdk/abi"` and registers its App with run(). Every result an
// app could get wrong (counters, memory handling, dump framing) is decided here.

import { Address } from "./address";
import { Reader, Writer } from "./codec";
import { App, Deposit, Input, Op, Query, registered } from "./app";
import { clock, report as reportText } from "./outputs";
import { U256 } from "./u256";

const ABI_VERSION: i32 = 1;
const HOST_CONFIG_LEN: usize = 80;

// validate() reason codes (informational: the text is what the user sees)
const OK: i32 = 0;
const REJECT_BAD_NONCE: i32 = 1;
const REJECT_INSUFFICIENT_FEE_BALANCE: i32 = 2;
const REJECT_DATA_TOO_LONG: i32 = 3;
const REJECT_NONCE_EXHAUSTED: i32 = 4;
const REJECT_BY_APP: i32 = 5;
// failures (SPEC 2.8) and load errors
const ERR_NOT_INITIALIZED: i32 = 100;
const ERR_PRECONDITION: i32 = 101;
const ERR_BAD_CONFIG: i32 = 102;
const ERR_ALREADY_INITIALIZED: i32 = 103;
const LOAD_BAD_HEADER: i32 = 1;
const LOAD_BAD_VERSION: i32 = 2;
const LOAD_NOT_CANONICAL: i32 = 4;

let app: App | null = null;
let callsSinceCollect: u32 = 0;
let pagesAtCollect: i32 = 0;

function maybeCollect(): void {
  callsSinceCollect++;
  if (callsSinceCollect >= 32 || memory.size() > pagesAtCollect) {
    __collect();
    callsSinceCollect = 0;
    pagesAtCollect = memory.size();
  }
}
let errorBytes: Uint8Array = new Uint8Array(0);
let dumpBytes: Uint8Array | null = null;
let loadReader: Reader | null = null;

function fail(code: i32, text: string): i32 {
  errorBytes = Uint8Array.wrap(String.UTF8.encode(text));
  return code;
}

function magicOf(s: string): u32 {
  let m: u32 = 0;
  for (let i = 0; i < 4 && i < s.length; i++) m |= (<u32>s.charCodeAt(i) & 0xff) << (8 * i);
  return m;
}

/** Copies [ptr, ptr+len) out of the host's input region (valid for this call only). */
function copyIn(ptr: usize, len: usize): Uint8Array {
  const b = new Uint8Array(<i32>len);
  memory.copy(b.dataStart, ptr, len);
  return b;
}

// ---- lifecycle --------------------------------------------------------------------------------

export function abi_version(): i32 {
  return ABI_VERSION;
}

export function alloc(len: usize): usize {
  return heap.alloc(len);
}

export function dealloc(ptr: usize): void {
  heap.free(ptr);
}

export function max_data_len(): i32 {
  const a = registered();
  return a != null ? a.maxDataLength : 0;
}

export function last_error_ptr(): usize {
  return errorBytes.dataStart;
}

export function last_error_len(): usize {
  return <usize>errorBytes.length;
}

/** config = the host's 80 bytes (§5) || the app's own bytes (SEQ_APP_CONFIG). */
export function init(ptr: usize, len: usize): i32 {
  const rc = initImpl(ptr, len);
  __collect();
  return rc;
}

function initImpl(ptr: usize, len: usize): i32 {
  if (app != null) return fail(ERR_ALREADY_INITIALIZED, "already initialized");
  const a = registered();
  if (a == null) return fail(ERR_NOT_INITIALIZED, "no app registered: call run(new MyApp()) at the top level of the entry file");
  if (len < HOST_CONFIG_LEN) return fail(ERR_BAD_CONFIG, "config must be at least 80 bytes (the host's part)");
  a.feeRecipient = Address.fromPtr(ptr);
  a.etherPortal = Address.fromPtr(ptr + 20);
  a.erc20Portal = Address.fromPtr(ptr + 40);
  a.erc20Token = Address.fromPtr(ptr + 60);
  if (a.feeRecipient.isZero()) return fail(ERR_BAD_CONFIG, "fee recipient must not be the zero address");
  if (!a.etherPortal.isZero() && a.etherPortal.equals(a.erc20Portal)) {
    return fail(ERR_BAD_CONFIG, "ether portal and erc20 portal must differ");
  }
  const reason = a.configure(copyIn(ptr + HOST_CONFIG_LEN, len - HOST_CONFIG_LEN));
  if (reason != null) return fail(ERR_BAD_CONFIG, "app config refused: " + reason);
  app = a;
  errorBytes = new Uint8Array(0);
  return OK;
}

// ---- user operations -----------------------------------------------------------------------

function admit(a: App, sender: Address, nonce: u32, feeLinear: U256, dataLen: usize): i32 {
  if (dataLen > <usize>a.maxDataLength) {
    return fail(REJECT_DATA_TOO_LONG, "data too long: max " + a.maxDataLength.toString() + ", got " + dataLen.toString());
  }
  const acct = a.accounts.get(sender);
  if (nonce != acct.nonce) {
    return fail(REJECT_BAD_NONCE, "bad nonce: expected " + acct.nonce.toString() + ", got " + nonce.toString());
  }
  // nonces are u32 on the wire; accepting the last one would wrap the account to 0 and make
  // every old signature valid again
  if (nonce == U32.MAX_VALUE) return fail(REJECT_NONCE_EXHAUSTED, "nonce exhausted");
  if (acct.balance.lt(feeLinear)) return fail(REJECT_INSUFFICIENT_FEE_BALANCE, "insufficient balance for fee");
  return OK;
}

export function validate(sender: usize, nonce: u32, fee: u32, feeLinear: usize, data: usize, dataLen: usize): i32 {
  const rc = validateImpl(sender, nonce, fee, feeLinear, data, dataLen);
  maybeCollect();
  return rc;
}

function validateImpl(sender: usize, nonce: u32, fee: u32, feeLinear: usize, data: usize, dataLen: usize): i32 {
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  const who = Address.fromPtr(sender);
  const linear = U256.fromLEPtr(feeLinear);
  const rc = admit(a, who, nonce, linear, dataLen);
  if (rc != OK) return rc;
  const reason = a.check(new Op(who, nonce, fee, linear, copyIn(data, dataLen), clock()));
  if (reason != null) return fail(REJECT_BY_APP, reason);
  return OK;
}

export function apply_user_op(
  sender: usize,
  nonce: u32,
  fee: u32,
  feeLinear: usize,
  data: usize,
  dataLen: usize,
  safeBlock: i64,
): i32 {
  const rc = apply_user_opImpl(sender, nonce, fee, feeLinear, data, dataLen, safeBlock);
  maybeCollect();
  return rc;
}

function apply_user_opImpl(
  sender: usize,
  nonce: u32,
  fee: u32,
  feeLinear: usize,
  data: usize,
  dataLen: usize,
  safeBlock: i64,
): i32 {
  dumpBytes = null;
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  const who = Address.fromPtr(sender);
  const linear = U256.fromLEPtr(feeLinear);
  const op = new Op(who, nonce, fee, linear, copyIn(data, dataLen), clock());
  // the host validates first; this guards the SDK's own invariants, and keeps the text
  if (admit(a, who, nonce, linear, dataLen) != OK || a.check(op) != null) return ERR_PRECONDITION;

  const acct = a.accounts.get(who);
  acct.nonce = nonce + 1;
  acct.balance = acct.balance.sub(linear);
  a.accounts.set(who, acct);
  // the fee recipient cannot refuse a fee once the op is included: clamp (fees are < 2^192)
  const r = a.accounts.get(a.feeRecipient);
  r.balance = r.balance.saturatingAdd(linear);
  a.accounts.set(a.feeRecipient, r);

  a.execute(op);
  return OK;
}

// ---- direct inputs ---------------------------------------------------------------------------

const ETHER_DEPOSIT_MIN: usize = 52; // sender(20) || value(32, BE) || extra
const ERC20_DEPOSIT_MIN: usize = 72; // token(20) || sender(20) || value(32, BE) || extra

export function apply_direct_input(sender: usize, block: i64, payload: usize, len: usize): i32 {
  const rc = apply_direct_inputImpl(sender, block, payload, len);
  maybeCollect();
  return rc;
}

function apply_direct_inputImpl(sender: usize, block: i64, payload: usize, len: usize): i32 {
  dumpBytes = null;
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  const from = Address.fromPtr(sender);
  const bytes = copyIn(payload, len);
  if (!a.etherPortal.isZero() && from.equals(a.etherPortal)) {
    if (len < ETHER_DEPOSIT_MIN) {
      reportText("ether deposit: payload shorter than 52 bytes");
    } else {
      a.onDeposit(new Deposit(from, null, Address.fromPtr(payload), U256.fromBEPtr(payload + 20), bytes.slice(52), clock()));
    }
  } else if (!a.erc20Portal.isZero() && from.equals(a.erc20Portal)) {
    if (len < ERC20_DEPOSIT_MIN) {
      reportText("erc20 deposit: payload shorter than 72 bytes");
    } else {
      const token = Address.fromPtr(payload);
      if (a.erc20Token.isZero() || !token.equals(a.erc20Token)) {
        reportText("erc20 deposit: not the configured token");
      } else {
        a.onDeposit(new Deposit(from, token, Address.fromPtr(payload + 20), U256.fromBEPtr(payload + 40), bytes.slice(72), clock()));
      }
    }
  } else {
    a.onInput(new Input(from, clock(), bytes));
  }
  return OK;
}

// ---- queries -----------------------------------------------------------------------------------

export function nonce_of(sender: usize): i64 {
  const rc = nonce_ofImpl(sender);
  maybeCollect();
  return rc;
}

function nonce_ofImpl(sender: usize): i64 {
  const a = app;
  if (a == null) return 0;
  return <i64>a.accounts.get(Address.fromPtr(sender)).nonce;
}

/** Read-only: the host discards every change. 0 = accepted, 1 = rejected. */
export function inspect(payload: usize, len: usize, clock: i64): i32 {
  const rc = inspectImpl(payload, len, clock);
  maybeCollect();
  return rc;
}

function inspectImpl(payload: usize, len: usize, clock: i64): i32 {
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  return a.query(new Query(copyIn(payload, len), clock)) ? 0 : 1;
}

// ---- snapshots ---------------------------------------------------------------------------------
//
// Dump: magic (4 ASCII) || version u32 LE || each persisted collection in order (accounts
// first). load() accepts exactly what dump() writes: dump(load(x)) == x for every accepted x.

export function dump(): i32 {
  const rc = dumpImpl();
  __collect();
  return rc;
}

function dumpImpl(): i32 {
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  const w = new Writer(256);
  w.u32(magicOf(a.magic)).u32(a.version);
  for (let i = 0; i < a.stores.length; i++) a.stores[i].dumpTo(w);
  dumpBytes = w.finish();
  return OK;
}

export function dump_ptr(): usize {
  const d = dumpBytes;
  return d != null ? d.dataStart : 0;
}

export function dump_len(): usize {
  const d = dumpBytes;
  return d != null ? <usize>d.length : 0;
}

// `load` would shadow the load<T> builtin inside this file, hence the rename on export.
export { loadState as load };

function loadState(ptr: usize, len: usize): i32 {
  const rc = loadImpl(ptr, len);
  __collect();
  return rc;
}

function failLoad(code: i32, text: string): i32 {
  loadReader = null;
  return fail(code, text);
}

function loadImpl(ptr: usize, len: usize): i32 {
  dumpBytes = null;
  const a = app;
  if (a == null) return fail(ERR_NOT_INITIALIZED, "not initialized");
  // the dump is read in place (the host's block is valid for this call); the reader lives in
  // a global so that collections may collect garbage while they load
  const r = Reader.at(ptr, <i32>len);
  loadReader = r;
  if (r.u32() != magicOf(a.magic) || !r.ok()) return failLoad(LOAD_BAD_HEADER, "not a dump of this app (magic " + a.magic + ")");
  if (r.u32() != a.version || !r.ok()) return failLoad(LOAD_BAD_VERSION, "unsupported dump version (this app reads " + a.version.toString() + ")");
  let staged = 0;
  let good = true;
  for (; staged < a.stores.length; staged++) {
    if (!a.stores[staged].stageLoad(r)) {
      good = false;
      break;
    }
  }
  if (good && !r.done()) good = false;
  if (!good) {
    for (let i = 0; i < staged; i++) a.stores[i].abortLoad();
    loadReader = null;
    return fail(LOAD_NOT_CANONICAL, "dump refused: truncated, trailing bytes, keys not strictly ascending, or an empty entry");
  }
  for (let i = 0; i < a.stores.length; i++) a.stores[i].commitLoad();
  loadReader = null;
  errorBytes = new Uint8Array(0);
  return OK;
}
