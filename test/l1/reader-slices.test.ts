/**
 * The input reader stores a burst of landed inputs in slices cut at block boundaries, letting
 * the event loop (and so the inclusion lane, which shares the thread) run between them. Real
 * anvil, real InputBox inputs, a real ReaderStore on a SQLite file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { toHex } from "viem";
import { hexToBytes } from "../../src/core/bytes.ts";
import { inputBoxAbi } from "../../src/l1/contracts.ts";
import { InputReader, sliceAtBlockBoundaries } from "../../src/l1/reader.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { openDatabase } from "../../src/storage/db.ts";
import { ReaderStore, type SafeInputRow } from "../../src/storage/reader-store.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { tempDir } from "../support/sequencer.ts";

function row(inputIndex: number, blockNumber: number, bytes: number): SafeInputRow {
  return {
    inputIndex,
    sender: new Uint8Array(20),
    blockNumber,
    blockTimestamp: 0,
    txHash: new Uint8Array(32),
    payload: new Uint8Array(bytes),
  };
}
const shape = (slices: SafeInputRow[][]) => slices.map((s) => s.map((r) => `${r.inputIndex}@${r.blockNumber}`));

describe("sliceAtBlockBoundaries", () => {
  test("cuts once a slice holds maxBytes, but never inside a block", () => {
    const inputs = [row(0, 10, 100), row(1, 10, 100), row(2, 11, 100), row(3, 12, 100), row(4, 12, 100), row(5, 12, 100), row(6, 13, 50)];
    expect(shape(sliceAtBlockBoundaries(inputs, 150))).toEqual([["0@10", "1@10"], ["2@11", "3@12", "4@12", "5@12"], ["6@13"]]);
    expect(shape(sliceAtBlockBoundaries(inputs, 1_000_000))).toEqual([inputs.map((r) => `${r.inputIndex}@${r.blockNumber}`)]);
    // Every input exactly once, in order, whatever the bound.
    for (const max of [0, 1, 99, 100, 101, 250, 600]) {
      expect(sliceAtBlockBoundaries(inputs, max).flat()).toEqual(inputs);
      for (const s of sliceAtBlockBoundaries(inputs, max)) expect(s.length).toBeGreaterThan(0);
    }
  });

  test("a block larger than the bound stays whole; no inputs is one empty slice", () => {
    const big = [row(0, 5, 10_000), row(1, 5, 10_000), row(2, 6, 1)];
    expect(shape(sliceAtBlockBoundaries(big, 100))).toEqual([["0@5", "1@5"], ["2@6"]]);
    expect(sliceAtBlockBoundaries([], 100)).toEqual([[]]);
  });
});

describe("InputReader on anvil", () => {
  let l1: DevnetAnvil;
  const dir = tempDir("reader-slices-");
  beforeAll(async () => {
    l1 = await withDevnetAnvil();
  }, 30_000);
  afterAll(async () => {
    await l1?.stop();
    dir.remove();
  });

  test("a burst of 8 inputs of 1 KB is stored in 4 transactions, each claiming its last block, with the event loop running in between", async () => {
    const { inputBox, application, inputBoxDeploymentBlock } = l1.deployment;
    const wallet = l1.walletClient(4);
    const blocks: number[] = [];
    for (let i = 0; i < 8; i++) {
      const hash = await wallet.writeContract({
        address: inputBox,
        abi: inputBoxAbi,
        functionName: "addInput",
        args: [application, toHex(new Uint8Array(1000).fill(i + 1))],
      });
      const r = await l1.publicClient.waitForTransactionReceipt({ hash });
      expect(r.status).toBe("success");
      blocks.push(Number(r.blockNumber));
    }
    await l1.mine(2);

    const db = openDatabase(dir.path);
    try {
      const store = new ReaderStore(db);
      const appends: { inputs: number[]; safe: number }[] = [];
      const append = store.append.bind(store);
      store.append = (inputs, heads, ...rest) => {
        appends.push({ inputs: inputs.map((i) => i.inputIndex), safe: heads.safeBlock });
        return append(inputs, heads, ...rest);
      };
      const seen: { safe: number | null } = { safe: null };
      const reader = new InputReader({
        client: l1.publicClient as never,
        inputBox,
        app: application,
        fromBlock: BigInt(inputBoxDeploymentBlock),
        store,
        pollIntervalMs: 1000,
        log: silentLogger,
        longRangeErrorCodes: [],
        maxSliceBytes: 2000,
        onSafeHead: (b) => (seen.safe = b),
        submitter: hexToBytes("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 20),
      });

      // Stands in for the lane: one callback per event-loop turn while the sync runs, noting
      // how many slices were stored when it got the thread.
      const seenByOthers: number[] = [];
      let syncing = true;
      const tick = () => {
        seenByOthers.push(appends.length);
        if (syncing) setImmediate(tick);
      };
      setImmediate(tick);
      const safe = await reader.syncOnce();
      syncing = false;

      const head = Number((await l1.publicClient.getBlock({ blockTag: "safe" })).number);
      expect(head).toBeGreaterThanOrEqual(blocks[7]!);
      expect(safe).toBe(head);
      expect(seen.safe).toBe(head);
      // One slice per 2 inputs (2 KB), each claiming its own last block; the last one claims
      // the range's end. Then nothing more (the range was fully scanned).
      const withInputs = appends.filter((a) => a.inputs.length > 0);
      expect(withInputs.map((a) => a.inputs)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
      expect(withInputs.slice(0, 3).map((a) => a.safe)).toEqual([blocks[1]!, blocks[3]!, blocks[5]!]);
      expect(withInputs[3]!.safe).toBe(head);
      // Others ran while only some slices were stored.
      expect(seenByOthers.some((n) => n > 0 && n < withInputs.length)).toBe(true);

      // The store holds all 8, in order, and the heads of the whole range.
      expect(store.nextInputIndex()).toBe(8);
      expect(store.heads()!.safeBlock).toBe(head);
      const payloads = db.query("SELECT input_index, payload FROM safe_inputs ORDER BY input_index").all() as { input_index: number; payload: Uint8Array }[];
      expect(payloads.map((p) => p.input_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      payloads.forEach((p, i) => expect(Buffer.from(p.payload).equals(Buffer.alloc(1000, i + 1))).toBe(true));
    } finally {
      db.close();
    }
  }, 60_000);
});
