import { describe, expect, test } from "bun:test";
import { bytesToHex } from "../core/bytes.ts";
import { VECTOR_TRANSFER_DATA } from "../core/spec-vectors.ts";
import { encodeTransfer, encodeWithdrawal } from "./wallet-payloads.ts";

describe("wallet payloads", () => {
  test("Transfer matches the SPEC §2.2 vector (10^15 to 0x7099…79C8)", () => {
    expect(bytesToHex(encodeTransfer(10n ** 15n, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"))).toBe(VECTOR_TRANSFER_DATA);
  });
  test("Withdrawal is selector 0x00 then the amount little-endian", () => {
    const w = encodeWithdrawal(258n);
    expect(w.length).toBe(33);
    expect([...w.slice(0, 4)]).toEqual([0, 2, 1, 0]);
  });
  test("amounts outside uint256 are refused", () => {
    expect(() => encodeWithdrawal(1n << 256n)).toThrow(RangeError);
    expect(() => encodeTransfer(-1n, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")).toThrow(RangeError);
  });
});
