import { expect, test } from "bun:test";
import { encodeFunctionData, type Address } from "viem";
import { bytesToHex } from "../core/bytes.ts";
import { encodeAddInput, inputBoxAbi } from "./contracts.ts";

test("encodeAddInput equals viem's encodeFunctionData for every padding class and a 32 KB batch", () => {
  const app: Address = "0xab7528bb862fb57e8a2bcd567a2e929a0be56a5e";
  for (const n of [0, 1, 31, 32, 33, 63, 64, 65, 1000, 32_003]) {
    const payload = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    const want = encodeFunctionData({ abi: inputBoxAbi, functionName: "addInput", args: [app, bytesToHex(payload)] });
    expect(encodeAddInput(app, payload)).toBe(want);
  }
});
