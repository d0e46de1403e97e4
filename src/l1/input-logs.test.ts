import { describe, expect, test } from "bun:test";
import { seededBytes } from "../../test/support/bytes.ts";
import { decodeAbiParameters, decodeFunctionData, encodeAbiParameters, encodeEventTopics, encodeFunctionData, type Address, type Hex } from "viem";
import { bytesToHex } from "../core/bytes.ts";
import { DecodeError } from "../core/errors.ts";
import { inputBoxAbi, inputsAbi } from "./contracts.ts";
import { decodeEvmAdvanceData, decodeInputAddedLog } from "./input-logs.ts";

const APP: Address = "0xab7528bb862fb57e8a2bcd567a2e929a0be56a5e";
const SENDER: Address = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

function logData(index: bigint, payload: Uint8Array, o: { app?: Address; chainId?: bigint } = {}): Hex {
  const input = encodeFunctionData({
    abi: inputsAbi,
    functionName: "EvmAdvance",
    args: [o.chainId ?? 31337n, o.app ?? APP, SENDER, 1234n, 1_700_000_000n, 2n ** 255n + 7n, index, bytesToHex(payload)],
  });
  return encodeAbiParameters([{ type: "bytes" }], [input]);
}

function rawLog(index: bigint, data: Hex) {
  const topics = encodeEventTopics({ abi: inputBoxAbi, eventName: "InputAdded", args: { appContract: APP, index } }) as string[];
  return { address: "0x1", topics, data, blockNumber: "0x4d2", transactionHash: `0x${"11".repeat(32)}`, removed: false };
}

describe("InputAdded decoding by hand", () => {
  test("equals viem's decoder for payloads of every size class, up to 64 KB", () => {
    for (const [i, n] of [0, 1, 31, 32, 33, 64, 1000, 32_768, 65_536].entries()) {
      const payload = seededBytes(i + 3, n);
      const data = logData(BigInt(i * 1000), payload);
      const ours = decodeEvmAdvanceData(data);
      // the independent reference: viem's generic ABI decoder on the same bytes
      const input = decodeAbiParameters([{ type: "bytes" }], data)[0] as Hex;
      const [chainId, app, sender, block, timestamp, randao, index, payloadHex] = decodeFunctionData({ abi: inputsAbi, data: input }).args;
      expect(ours.chainId).toBe(chainId);
      expect(ours.appContract).toBe(app.toLowerCase() as Address);
      expect(bytesToHex(ours.msgSender)).toBe(sender.toLowerCase() as Hex);
      expect(ours.blockNumber).toBe(block);
      expect(ours.blockTimestamp).toBe(timestamp);
      expect(ours.prevRandao).toBe(randao);
      expect(ours.index).toBe(index);
      expect(bytesToHex(ours.payload)).toBe(payloadHex);
    }
  });

  test("a whole log: topics, index and block checked", () => {
    const d = decodeInputAddedLog(rawLog(5n, logData(5n, seededBytes(1, 10))), APP);
    expect(d.index).toBe(5n);
    expect(d.logBlockNumber).toBe(1234n);
    expect(d.transactionHash).toBe(`0x${"11".repeat(32)}`);
  });

  test("malformed logs are DecodeErrors naming what is wrong", () => {
    const good = logData(5n, seededBytes(1, 40));
    const cases: [string, () => unknown][] = [
      ["index", () => decodeInputAddedLog(rawLog(6n, good), APP)],
      ["another app", () => decodeInputAddedLog(rawLog(5n, good), "0x0000000000000000000000000000000000000001")],
      ["does not match", () => decodeInputAddedLog(rawLog(5n, logData(5n, seededBytes(1, 4), { app: SENDER })), APP)],
      ["pending", () => decodeInputAddedLog({ ...rawLog(5n, good), blockNumber: null }, APP)],
      ["removed", () => decodeInputAddedLog({ ...rawLog(5n, good), removed: true }, APP)],
      ["not an InputAdded", () => decodeInputAddedLog({ ...rawLog(5n, good), topics: [] }, APP)],
      ["non-hex", () => decodeEvmAdvanceData(`${good.slice(0, -2)}zz`)],
      ["non-hex", () => decodeEvmAdvanceData(`${good.slice(0, 100)}g${good.slice(101)}`)],
      ["whole bytes", () => decodeEvmAdvanceData(`${good}0`)],
      ["selector", () => decodeEvmAdvanceData(encodeAbiParameters([{ type: "bytes" }], [`0xdeadbeef${"00".repeat(300)}`]))],
      ["claimed", () => decodeEvmAdvanceData(good.slice(0, -64) as Hex)],
      ["out of bounds", () => decodeEvmAdvanceData("0x")],
      ["too large", () => decodeEvmAdvanceData(`0x${"ff".repeat(64)}`)],
      ["dirty upper bytes", () => {
        // set a byte inside the app address word's zero padding (word 1 of the EvmAdvance head)
        const b = Buffer.from(good.slice(2), "hex");
        b[64 + 4 + 32 + 3] = 1;
        return decodeEvmAdvanceData(`0x${b.toString("hex")}`);
      }],
    ];
    for (const [what, f] of cases) {
      let err: unknown = null;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as Error).message).toContain(what);
    }
  });
});
