import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  addressFromBytes,
  bytesEqual,
  bytesToHex,
  concatBytes,
  hexToBytes,
  normalizeAddress,
  readU16LE,
  readU32LE,
  readU64LE,
  u256BE,
  writeU16LE,
  writeU32LE,
  writeU64LE,
} from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { EncodeError } from "./protocol-errors.ts";

describe("hex", () => {
  test("round-trips random bytes, lowercase out", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const h = bytesToHex(b);
        expect(h).toBe(`0x${Buffer.from(b).toString("hex")}`);
        expect(bytesEqual(hexToBytes(h), b)).toBe(true);
        expect(bytesEqual(hexToBytes(h.toUpperCase().replace("0X", "0x")), b)).toBe(true);
        return true;
      }),
    );
  });

  test("the native path (256 bytes and up) round-trips and rejects exactly like the loop", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 250, maxLength: 2000 }), (b) => {
        const h = bytesToHex(b);
        expect(h).toBe(`0x${Buffer.from(b).toString("hex")}`);
        expect(bytesEqual(hexToBytes(h), b)).toBe(true);
        expect(bytesEqual(hexToBytes(h.toUpperCase().replace("0X", "0x")), b)).toBe(true);
        return true;
      }),
      { numRuns: 50 },
    );
    const good = `0x${"ab".repeat(300)}`;
    for (const pos of [2, 3, 100, 101, good.length - 2, good.length - 1]) {
      for (const bad of ["g", " ", "\u0661", "x"]) {
        const h = good.slice(0, pos) + bad + good.slice(pos + 1);
        expect(() => hexToBytes(h)).toThrow(new RegExp(`non-hex character at position ${pos}`));
      }
    }
    // views into a larger buffer encode only their own bytes
    const big = new Uint8Array(1000).map((_, i) => i);
    expect(bytesToHex(big.subarray(100, 400))).toBe(`0x${Buffer.from(big.subarray(100, 400)).toString("hex")}`);
  });

  test("accepts 0x and 0X, empty payload", () => {
    expect(hexToBytes("0x").length).toBe(0);
    expect(hexToBytes("0XaB")).toEqual(new Uint8Array([0xab]));
  });

  test("rejects malformed hex with a clear DecodeError", () => {
    expect(() => hexToBytes("abcd")).toThrow(/start with 0x/);
    expect(() => hexToBytes("")).toThrow(DecodeError);
    expect(() => hexToBytes("0xabc")).toThrow(/odd number/);
    expect(() => hexToBytes("0xzz")).toThrow(/non-hex character at position 2/);
    expect(() => hexToBytes("0xa g")).toThrow(DecodeError);
    expect(() => hexToBytes("0x0\u0661")).toThrow(/position 3/); // non-ASCII digit
    expect(() => hexToBytes("0x00", 2)).toThrow(/must be 2 bytes, got 1/);
    expect(() => hexToBytes(42 as unknown as string)).toThrow(DecodeError);
  });

  test("no char outside [0-9a-fA-F] is accepted", () => {
    for (let c = 0; c < 0x3000; c++) {
      const ch = String.fromCharCode(c);
      const ok = /^[0-9a-fA-F]$/.test(ch);
      const f = () => hexToBytes(`0x0${ch}`);
      if (ok) expect(f()).toHaveLength(1);
      else expect(f).toThrow(DecodeError);
    }
  });
});

describe("addresses", () => {
  test("normalizeAddress lowercases any case", () => {
    expect(normalizeAddress("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  });
  test("rejects wrong lengths and bad digits", () => {
    for (const bad of ["0x", "0x1234", "f39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb9226g", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb9226600"]) {
      expect(() => normalizeAddress(bad)).toThrow(DecodeError);
    }
  });
  test("addressFromBytes", () => {
    expect(addressFromBytes(new Uint8Array(20).fill(0xab))).toBe(`0x${"ab".repeat(20)}`);
    expect(() => addressFromBytes(new Uint8Array(19))).toThrow(DecodeError);
  });
});

describe("little-endian integers", () => {
  test("u16/u32/u64 round-trip and match DataView", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff_ffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (a, b, c) => {
        const buf = new Uint8Array(14);
        writeU16LE(buf, 0, a);
        writeU32LE(buf, 2, b);
        writeU64LE(buf, 6, c);
        const dv = new DataView(buf.buffer);
        return (
          readU16LE(buf, 0) === a && dv.getUint16(0, true) === a &&
          readU32LE(buf, 2) === b && dv.getUint32(2, true) === b &&
          readU64LE(buf, 6) === c && dv.getBigUint64(6, true) === c
        );
      }),
    );
  });
  test("out-of-range writes throw EncodeError, short reads DecodeError", () => {
    const buf = new Uint8Array(8);
    expect(() => writeU16LE(buf, 0, 65536)).toThrow(EncodeError);
    expect(() => writeU32LE(buf, 0, -1)).toThrow(EncodeError);
    expect(() => writeU32LE(buf, 0, 1.5)).toThrow(EncodeError);
    expect(() => writeU64LE(buf, 0, 1n << 64n)).toThrow(EncodeError);
    expect(() => readU32LE(buf, 5)).toThrow(DecodeError);
    expect(() => readU64LE(buf, 1)).toThrow(DecodeError);
  });
  test("u256BE", () => {
    expect(bytesToHex(u256BE(31337n))).toBe(`0x${"0".repeat(60)}7a69`);
    expect(() => u256BE(1n << 256n)).toThrow(EncodeError);
  });
  test("concatBytes", () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
  });
});
