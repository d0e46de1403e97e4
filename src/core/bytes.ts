/**
 * Byte and hex helpers shared by every protocol module. They sit on the hot path (every
 * POST /tx decodes hex), so they avoid regexes and intermediate strings.
 */
import { DecodeError } from "./errors.ts";
import { EncodeError } from "./protocol-errors.ts";

/** A 20-byte account address, always lowercase so that string equality is address equality. */
export type Address = `0x${string}`;

/** Any 0x-prefixed hex string. */
export type Hex = `0x${string}`;

const HEX_CHARS = "0123456789abcdef";

/** byte -> two lowercase hex chars. */
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, i) => HEX_CHARS[i >> 4]! + HEX_CHARS[i & 15]!);

/** char code -> nibble value, or 255 for a non-hex char. Indexed by charCodeAt (< 128). */
const NIBBLE: Uint8Array = (() => {
  const t = new Uint8Array(128).fill(255);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i; // A-F
    t[97 + i] = 10 + i; // a-f
  }
  return t;
})();

/**
 * From this size up, hex goes through Buffer's native codec (a 32 KB batch took milliseconds
 * in the JS loops); below it the loops win, as they avoid the Buffer allocation.
 */
const NATIVE_HEX_MIN_BYTES = 256;
const ALL_HEX = /^0[xX][0-9a-fA-F]*$/;

/** Shortens attacker-controlled strings before they are embedded in error messages. */
function preview(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}… (${s.length} chars)` : s;
}

/**
 * Decodes a 0x-prefixed hex string (either case). An empty payload ("0x") is valid.
 * @param expectedLen when given, the decoded length in bytes must equal it.
 * @throws DecodeError on a missing prefix, odd length, non-hex char or wrong length.
 */
export function hexToBytes(hex: string, expectedLen?: number): Uint8Array {
  if (typeof hex !== "string") throw new DecodeError("hex value must be a string");
  if (hex.length < 2 || hex.charCodeAt(0) !== 48 || (hex.charCodeAt(1) | 32) !== 120) {
    throw new DecodeError(`hex value must start with 0x: ${preview(hex)}`);
  }
  const digits = hex.length - 2;
  if (digits % 2 !== 0) throw new DecodeError(`hex value has an odd number of digits (${digits})`);
  const len = digits / 2;
  if (expectedLen !== undefined && len !== expectedLen) {
    throw new DecodeError(`hex value must be ${expectedLen} bytes, got ${len}`);
  }
  // Native decoding, after a native check of every digit: Bun's hex decoder does not reject
  // non-hex characters (bytes.test.ts proves the check is needed). A bad digit falls through
  // to the loop below, which names its position.
  if (len >= NATIVE_HEX_MIN_BYTES && ALL_HEX.test(hex)) {
    const b = Buffer.from(hex.slice(2), "hex");
    return new Uint8Array(b.buffer, b.byteOffset, len);
  }
  const out = new Uint8Array(len);
  for (let i = 0, j = 2; i < len; i++, j += 2) {
    const hiCode = hex.charCodeAt(j);
    const loCode = hex.charCodeAt(j + 1);
    const hi = hiCode < 128 ? NIBBLE[hiCode]! : 255;
    const lo = loCode < 128 ? NIBBLE[loCode]! : 255;
    if ((hi | lo) > 15) {
      throw new DecodeError(`hex value has a non-hex character at position ${hi > 15 ? j : j + 1}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Encodes bytes as lowercase 0x-prefixed hex. */
export function bytesToHex(bytes: Uint8Array): Hex {
  if (bytes.length >= NATIVE_HEX_MIN_BYTES) {
    return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}` as Hex;
  }
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_HEX[bytes[i]!]!;
  return s as Hex;
}

/**
 * Validates a 20-byte hex address in any case (no EIP-55 checksum check: the protocol
 * compares bytes, and mixed-case input is common) and returns it lowercase.
 * @throws DecodeError when it is not exactly 0x + 40 hex digits.
 */
export function normalizeAddress(s: string): Address {
  if (typeof s !== "string" || s.length !== 42) {
    throw new DecodeError(`address must be 0x followed by 40 hex digits: ${typeof s === "string" ? preview(s) : typeof s}`);
  }
  hexToBytes(s, 20); // validates prefix and digits
  return s.toLowerCase() as Address;
}

/** Address of 20 raw bytes. */
export function addressFromBytes(bytes: Uint8Array): Address {
  if (bytes.length !== 20) throw new DecodeError(`address must be 20 bytes, got ${bytes.length}`);
  return bytesToHex(bytes) as Address;
}

/** Constant-shape byte equality (not constant-time; nothing here is secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- little-endian integers (SSZ) -------------------------------------------------------

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
export const U64_MAX = (1n << 64n) - 1n;

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new EncodeError(`${what} out of range: ${value}`);
  }
}

/** Writes a u16 LE at `at`. @throws EncodeError on an out-of-range value. */
export function writeU16LE(buf: Uint8Array, at: number, value: number): void {
  checkUint(value, U16_MAX, "u16");
  buf[at] = value & 0xff;
  buf[at + 1] = value >>> 8;
}

export function writeU32LE(buf: Uint8Array, at: number, value: number): void {
  checkUint(value, U32_MAX, "u32");
  buf[at] = value & 0xff;
  buf[at + 1] = (value >>> 8) & 0xff;
  buf[at + 2] = (value >>> 16) & 0xff;
  buf[at + 3] = value >>> 24;
}

export function writeU64LE(buf: Uint8Array, at: number, value: bigint): void {
  if (value < 0n || value > U64_MAX) throw new EncodeError(`u64 out of range: ${value}`);
  const lo = Number(value & 0xffff_ffffn);
  const hi = Number(value >> 32n);
  writeU32LE(buf, at, lo);
  writeU32LE(buf, at + 4, hi);
}

/** Reads a u16 LE. @throws DecodeError when the buffer is too short. */
export function readU16LE(buf: Uint8Array, at: number): number {
  if (at < 0 || at + 2 > buf.length) throw new DecodeError(`u16 read out of bounds at ${at}`);
  return buf[at]! | (buf[at + 1]! << 8);
}

export function readU32LE(buf: Uint8Array, at: number): number {
  if (at < 0 || at + 4 > buf.length) throw new DecodeError(`u32 read out of bounds at ${at}`);
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 0x100_0000;
}

export function readU64LE(buf: Uint8Array, at: number): bigint {
  if (at < 0 || at + 8 > buf.length) throw new DecodeError(`u64 read out of bounds at ${at}`);
  return BigInt(readU32LE(buf, at)) | (BigInt(readU32LE(buf, at + 4)) << 32n);
}

/** Big-endian 32-byte encoding of a non-negative integer (EIP-712 / ABI words). */
export function u256BE(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new EncodeError(`u256 out of range: ${value}`);
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The zero address: a disabled portal or token, and "no address" in configs. */
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
