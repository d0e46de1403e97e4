// Outputs (SPEC 2.8) and the debug log: the only two host imports the SDK uses.
//
// Outputs are consensus: they are part of each sequenced entry, and a replay compares them.
// The debug log is not: the host prints it only at SEQ_LOG_LEVEL=debug and replay drops it,
// so nothing an app decides may depend on it (it returns nothing, and cannot fail).

import { Address } from "./address";
import { Writer } from "./codec";
import { U256 } from "./u256";

// @ts-ignore: decorator
@external("env", "emit")
declare function hostEmit(kind: i32, ptr: usize, len: usize): void;

// @ts-ignore: decorator
@external("env", "log")
declare function hostLog(ptr: usize, len: usize): void;

// @ts-ignore: decorator
@external("env", "clock")
declare function hostClock(): i64;

/**
 * The app clock as of the input being run: the largest L1 block of every executed input and
 * of this one (SPEC 2.6). The same value in validate and apply of one op, and in inspect the
 * clock of the state queried. Consensus: it comes from the host, never from wall time.
 */
export function clock(): i64 {
  return hostClock();
}

export const NOTICE: i32 = 0;
export const VOUCHER: i32 = 1;
export const REPORT: i32 = 2;

/** A notice: a statement of fact about the app, for frontends and indexers. */
export function notice(payload: Uint8Array): void {
  hostEmit(NOTICE, payload.dataStart, <usize>payload.length);
}

/**
 * A voucher: an L1 call the app authorises, as Cartesi's `Voucher(address,uint256,bytes)`
 * packed: destination (20) || value (32, big-endian) || payload.
 */
export function voucher(destination: Address, value: U256, payload: Uint8Array = new Uint8Array(0)): void {
  const w = new Writer(52 + payload.length);
  w.address(destination).u256BE(value).bytes(payload);
  const b = w.finish();
  hostEmit(VOUCHER, b.dataStart, <usize>b.length);
}

/** A report (a diagnostic, and the answer to an inspect query): UTF-8 text. */
export function report(text: string): void {
  const b = String.UTF8.encode(text);
  hostEmit(REPORT, changetype<usize>(b), <usize>b.byteLength);
}

/** A report with binary content (inspect answers a program decodes). */
export function reportBytes(payload: Uint8Array): void {
  hostEmit(REPORT, payload.dataStart, <usize>payload.length);
}

/** A debug line: printed by the host at SEQ_LOG_LEVEL=debug, ignored by replay. */
export function debug(text: string): void {
  const b = String.UTF8.encode(text);
  hostLog(changetype<usize>(b), <usize>b.byteLength);
}
