/**
 * The default wallet app's method payloads (SPEC §2.7), for clients, tools and tests: one
 * selector byte, then SSZ fields (uint256 little-endian, address as 20 raw bytes).
 */
import { hexToBytes } from "../core/bytes.ts";

function u256le(out: Uint8Array, at: number, value: bigint): void {
  if (value < 0n || value >> 256n !== 0n) throw new RangeError("amount must fit in uint256");
  let a = value;
  for (let i = 0; i < 32; i++) {
    out[at + i] = Number(a & 0xffn);
    a >>= 8n;
  }
}

/** `0x01 Transfer{amount: uint256, to: address}`: 53 bytes. */
export function encodeTransfer(amount: bigint, to: string): Uint8Array {
  const out = new Uint8Array(53);
  out[0] = 1;
  u256le(out, 1, amount);
  out.set(hexToBytes(to, 20), 33);
  return out;
}

/** `0x00 Withdrawal{amount: uint256}`: 33 bytes. */
export function encodeWithdrawal(amount: bigint): Uint8Array {
  const out = new Uint8Array(33);
  u256le(out, 1, amount);
  return out;
}
