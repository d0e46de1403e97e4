import { describe, expect, test } from "bun:test";
import { seededBytes } from "../../test/support/bytes.ts";
import { keccak256 as viemKeccak } from "viem";
import { bytesToHex } from "./bytes.ts";
import { createKeccak256, keccak256, keccakBackend } from "./keccak.ts";
import { nativeKeccakLoadError } from "../runtime/native-addons.ts";

describe("keccak256", () => {
  test("the native addon loads on linux-x64 (the platform the binary ships for)", () => {
    if (process.platform === "linux" && process.arch === "x64") {
      expect(nativeKeccakLoadError()).toBeUndefined();
      expect(keccakBackend()).toBe("native");
    }
  });

  test("native, JS and viem agree on every length around the 136-byte rate, and on 32 KB", () => {
    const native = createKeccak256("native");
    const js = createKeccak256("js");
    const lengths = [0, 1, 31, 32, 33, 135, 136, 137, 271, 272, 273, 1000, 32_768, 65_537];
    for (const [i, n] of lengths.entries()) {
      const b = seededBytes(i + 1, n);
      const want = viemKeccak(b);
      expect(bytesToHex(native(b))).toBe(want);
      expect(bytesToHex(js(b))).toBe(want);
      expect(bytesToHex(keccak256(b))).toBe(want);
    }
  });

  test("results are independent copies: a later hash does not overwrite an earlier one", () => {
    const a = keccak256(seededBytes(7, 10));
    const keep = bytesToHex(a);
    keccak256(seededBytes(8, 10));
    expect(bytesToHex(a)).toBe(keep);
    expect(a.length).toBe(32);
  });

  test("subarrays hash only their own bytes", () => {
    const big = seededBytes(9, 200);
    const view = big.subarray(50, 150);
    expect(bytesToHex(keccak256(view))).toBe(viemKeccak(view.slice()));
  });
});
