/**
 * export-l1 against a scripted node: chunking, halving on "range too large", contiguity and
 * count checks, and the all-or-nothing file write. (The real-anvil path is test/e2e/verify.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAbiParameters, encodeEventTopics, encodeFunctionData, type PublicClient } from "viem";
import { bytesToHex, type Address, type Hex } from "../core/bytes.ts";
import { inputBoxAbi, inputsAbi } from "../l1/contracts.ts";
import { createLogger } from "../observability/log.ts";
import { exportL1Inputs, ExportError } from "./export.ts";
import { parseL1Inputs } from "./files.ts";

const BOX: Address = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const APP: Address = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9";
const SENDER: Address = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const dir = mkdtempSync(join(tmpdir(), "export-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FakeInput {
  index: number;
  block: number;
  payload: Hex;
}

function fakeNode(o: {
  inputs: FakeInput[];
  safe: number;
  latest?: number;
  deployment?: number;
  /** getLogs fails with this code when asked for more than this many blocks. */
  maxSpan?: number;
  count?: (block: bigint) => bigint;
  failAt?: number;
}) {
  const calls: { from: bigint; to: bigint; ok: boolean }[] = [];
  const client = {
    getChainId: async () => 31337,
    getCode: async () => "0x6080" as Hex,
    getBlockNumber: async () => BigInt(o.latest ?? o.safe + 2),
    getBlock: async () => ({ number: BigInt(o.safe) }),
    readContract: async (args: { functionName: string; blockNumber?: bigint }) => {
      if (args.functionName === "getDeploymentBlockNumber") return BigInt(o.deployment ?? 1);
      if (args.functionName === "getNumberOfInputs") {
        if (o.count) return o.count(args.blockNumber!);
        return BigInt(o.inputs.filter((i) => BigInt(i.block) <= args.blockNumber!).length);
      }
      throw new Error(`unexpected ${args.functionName}`);
    },
    // Raw eth_getLogs, as src/l1/input-logs.ts asks for it.
    request: async (req: { method: string; params: [{ fromBlock: Hex; toBlock: Hex }] }) => {
      if (req.method !== "eth_getLogs") throw new Error(`unexpected ${req.method}`);
      const args = { fromBlock: BigInt(req.params[0].fromBlock), toBlock: BigInt(req.params[0].toBlock) };
      const span = Number(args.toBlock - args.fromBlock + 1n);
      if (o.maxSpan !== undefined && span > o.maxSpan) {
        calls.push({ from: args.fromBlock, to: args.toBlock, ok: false });
        throw Object.assign(new Error("query returned more than 10000 results"), { code: -32005 });
      }
      if (o.failAt !== undefined && args.fromBlock <= BigInt(o.failAt) && BigInt(o.failAt) <= args.toBlock) {
        throw new Error("node exploded");
      }
      calls.push({ from: args.fromBlock, to: args.toBlock, ok: true });
      return o.inputs
        .filter((i) => BigInt(i.block) >= args.fromBlock && BigInt(i.block) <= args.toBlock)
        .map((i) => ({
          address: BOX,
          topics: encodeEventTopics({ abi: inputBoxAbi, eventName: "InputAdded", args: { appContract: APP, index: BigInt(i.index) } }),
          blockNumber: `0x${i.block.toString(16)}`,
          transactionHash: bytesToHex(new Uint8Array(32).fill(i.index + 1)),
          removed: false,
          data: encodeAbiParameters(
            [{ type: "bytes" }],
            [
              encodeFunctionData({
                abi: inputsAbi,
                functionName: "EvmAdvance",
                args: [31337n, APP, SENDER, BigInt(i.block), BigInt(1000 + i.block), 0n, BigInt(i.index), i.payload],
              }),
            ],
          ),
        }));
    },
  };
  return { client: client as unknown as PublicClient, calls };
}

const lines: string[] = [];
const log = createLogger({ write: (l) => lines.push(l) });
const inputs: FakeInput[] = Array.from({ length: 30 }, (_, i) => ({ index: i, block: 5 + i * 7, payload: bytesToHex(Uint8Array.of(i, 0xab)) }));

describe("export-l1", () => {
  test("chunks the range, halves it on long-range errors, logs progress, writes every input", async () => {
    const node = fakeNode({ inputs, safe: 300, maxSpan: 40 });
    const out = join(dir, "a.jsonl");
    const r = await exportL1Inputs({ client: node.client, inputBox: BOX, app: APP, out, log, maxLogRange: 100n });
    expect(r).toMatchObject({ inputs: 30, fromBlock: 1n, toBlock: 300n, firstInputIndex: 0, lastInputIndex: 29 });
    const back = parseL1Inputs(readFileSync(out, "utf8"), out);
    expect(back.map((x) => x.inputIndex)).toEqual(inputs.map((i) => i.index));
    expect(back[3]).toEqual({
      inputIndex: 3,
      sender: SENDER,
      blockNumber: 26,
      blockTimestamp: 1026,
      transactionHash: bytesToHex(new Uint8Array(32).fill(4)),
      payload: Uint8Array.of(3, 0xab),
    });
    expect(node.calls.some((c) => !c.ok)).toBe(true);
    expect(node.calls.filter((c) => c.ok).every((c) => c.to - c.from + 1n <= 40n)).toBe(true);
    // the successful ranges tile [1, 300] exactly
    const ok = node.calls.filter((c) => c.ok).sort((a, b) => Number(a.from - b.from));
    expect(ok[0]!.from).toBe(1n);
    for (let k = 1; k < ok.length; k++) expect(ok[k]!.from).toBe(ok[k - 1]!.to + 1n);
    expect(ok[ok.length - 1]!.to).toBe(300n);
    expect(lines.some((l) => JSON.parse(l).msg === "export-l1 progress")).toBe(true);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  test("explicit bounds are honoured", async () => {
    const node = fakeNode({ inputs, safe: 300 });
    const out = join(dir, "b.jsonl");
    const r = await exportL1Inputs({ client: node.client, inputBox: BOX, app: APP, out, log, fromBlock: 50n, toBlock: 100n });
    expect(r).toMatchObject({ firstInputIndex: 7, lastInputIndex: 13, inputs: 7 });
  });

  test("a gap in the logs, a count disagreement or a node failure leaves no file", async () => {
    const gap = fakeNode({ inputs: inputs.filter((i) => i.index !== 12), safe: 300 });
    const out = join(dir, "c.jsonl");
    await expect(exportL1Inputs({ client: gap.client, inputBox: BOX, app: APP, out, log })).rejects.toThrow(/index 13 follows 11/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tmp`)).toBe(false);

    const tail = fakeNode({ inputs, safe: 300, count: () => 31n });
    await expect(exportL1Inputs({ client: tail.client, inputBox: BOX, app: APP, out, log })).rejects.toThrow(ExportError);
    expect(existsSync(out)).toBe(false);

    const head = fakeNode({ inputs: inputs.slice(1), safe: 300 });
    await expect(exportL1Inputs({ client: head.client, inputBox: BOX, app: APP, out, log })).rejects.toThrow(/not 0/);

    const dead = fakeNode({ inputs, safe: 300, failAt: 200 });
    await expect(exportL1Inputs({ client: dead.client, inputBox: BOX, app: APP, out, log, maxLogRange: 50n })).rejects.toThrow(/exploded/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tmp`)).toBe(false);

    const future = fakeNode({ inputs, safe: 300, latest: 310 });
    await expect(exportL1Inputs({ client: future.client, inputBox: BOX, app: APP, out, log, toBlock: 311n })).rejects.toThrow(/beyond the chain head/);
  });
});
