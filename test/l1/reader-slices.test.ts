/**
 * How the input reader keeps a burst of landed inputs from holding the thread it shares with
 * the inclusion lane: it stores them in slices cut at block boundaries, yielding between
 * them, and sizes its eth_getLogs block span by the payload bytes the answers carry. Real
 * anvil, real InputBox inputs, a real ReaderStore on a SQLite file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { toHex } from "viem";
import { hexToBytes } from "../../src/core/bytes.ts";
import { inputBoxAbi } from "../../src/l1/contracts.ts";
import { InputReader, type InputReaderOptions, nextLogSpan, sliceAtBlockBoundaries } from "../../src/l1/reader.ts";
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

describe("nextLogSpan", () => {
  test("halves the span just fetched after a large answer, doubles after a small one, keeps it in between", () => {
    expect(nextLogSpan(10_000n, 32n, 5_000_000, 10_000n, 4_000_000)).toBe(16n);
    expect(nextLogSpan(16n, 16n, 900_000, 10_000n, 4_000_000)).toBe(32n);
    expect(nextLogSpan(16n, 16n, 2_000_000, 10_000n, 4_000_000)).toBe(16n);
    // A short last range (the safe head) that was still too large halves what it fetched.
    expect(nextLogSpan(64n, 10n, 5_000_000, 10_000n, 4_000_000)).toBe(5n);
  });

  test("stays within [1, maxSpan]", () => {
    expect(nextLogSpan(1n, 1n, 50_000_000, 10_000n, 4_000_000)).toBe(1n);
    expect(nextLogSpan(8_000n, 8_000n, 0, 10_000n, 4_000_000)).toBe(10_000n);
    expect(nextLogSpan(10_000n, 10_000n, 0, 10_000n, 4_000_000)).toBe(10_000n);
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

  /** A reader of the devnet app's inputs through `client`, storing into `store`. */
  const newReader = (store: ReaderStore, client: unknown, o: Partial<InputReaderOptions>) =>
    new InputReader({
      client: client as InputReaderOptions["client"],
      inputBox: l1.deployment.inputBox,
      app: l1.deployment.application,
      fromBlock: BigInt(l1.deployment.inputBoxDeploymentBlock),
      store,
      pollIntervalMs: 1000,
      log: silentLogger,
      longRangeErrorCodes: [],
      onSafeHead: () => {},
      submitter: hexToBytes("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 20),
      ...o,
    });

  test("a burst of 8 inputs of 1 KB is stored in 4 transactions, each claiming its last block, with the event loop running in between", async () => {
    const { inputBox, application } = l1.deployment;
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
      const reader = newReader(store, l1.publicClient, { maxSliceBytes: 2000, onSafeHead: (b) => (seen.safe = b) });

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

  test("after a large eth_getLogs answer the next ranges are narrower; every input is stored once, in order", async () => {
    const { inputBox, application } = l1.deployment;
    const wallet = l1.walletClient(5);
    const burst = async (n: number, fill: number) => {
      for (let i = 0; i < n; i++) {
        const hash = await wallet.writeContract({
          address: inputBox,
          abi: inputBoxAbi,
          functionName: "addInput",
          args: [application, toHex(new Uint8Array(2000).fill(fill + i))],
        });
        expect((await l1.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
      }
      await l1.mine(2);
    };
    const sub = tempDir("reader-span-");
    const db = openDatabase(sub.path);
    try {
      // Every eth_getLogs the reader sends, as block spans (the client is real; this only watches).
      const spans: number[] = [];
      const client = l1.publicClient;
      const request = client.request.bind(client);
      const watched = Object.assign(Object.create(client), {
        request: (args: { method: string; params?: unknown }) => {
          if (args.method === "eth_getLogs") {
            const f = (args.params as { fromBlock: string; toBlock: string }[])[0]!;
            spans.push(Number(BigInt(f.toBlock) - BigInt(f.fromBlock) + 1n));
          }
          return request(args as never);
        },
      });
      const store = new ReaderStore(db);
      const already = store.nextInputIndex();
      const reader = newReader(store, watched, { targetFetchBytes: 5000 });
      // The first sync reads the whole history at once (10,000-block span): far over 5 KB.
      await burst(6, 10);
      await reader.syncOnce();
      expect(spans.length).toBe(1);
      const firstSpan = spans[0]!;
      // The next sync, over as many empty blocks again and another burst, starts at half the
      // first span (empty answers then widen it again), so it takes several requests.
      await l1.mine(firstSpan);
      await burst(6, 20);
      await reader.syncOnce();
      const later = spans.slice(1);
      expect(later[0]).toBe(Math.floor(firstSpan / 2));
      expect(later.length).toBeGreaterThan(1);
      // Nothing lost or doubled across the differently sized ranges.
      const rows = db.query("SELECT input_index, payload FROM safe_inputs ORDER BY input_index").all() as { input_index: number; payload: Uint8Array }[];
      expect(rows.map((r) => r.input_index)).toEqual([...Array(rows.length).keys()]);
      const mine = rows.slice(already + rows.length - 12 - already);
      expect(mine.map((r) => r.payload[0])).toEqual([10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25]);
    } finally {
      db.close();
      sub.remove();
    }
  }, 60_000);
});
