/**
 * The mempool flush against a real anvil (issue 6 item 3).
 *
 * Every test runs its own anvil with `--no-mining`: blocks come only from the test's miner
 * (`anvil_mine` every 100 ms), and `safe` is one block behind `latest` (`--slots-in-an-epoch 1`).
 *
 * Deterministic zombies: anvil evicts a pool transaction whose fee cap falls below the base fee
 * (so "underpriced for the current base fee" does not keep a transaction pending), but it keeps
 * one that does not fit in a block. A zombie is therefore a real InputBox.addInput from the
 * submitter key with a 5M gas limit, broadcast while blocks hold 30M gas, after which the block
 * gas limit is lowered to 1M (`evm_setBlockGasLimit`): it stays pending through any number of
 * mined blocks (P = L + 1), while a 21000-gas self-transfer fits. Raising the limit again at the
 * end proves the replaced zombie can no longer land.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { encodeFunctionData, keccak256, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { withDevnetAnvil, type DevnetAnvil } from "../../test/support/anvil.ts";
import { startRpcProxy } from "../../test/support/rpc-proxy.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { hexToBytes } from "../core/bytes.ts";
import { DEVNET_BATCH_SUBMITTER_INDEX, DEVNET_KEYS, inputBoxAbi } from "../l1/contracts.ts";
import { createL1Client } from "../l1/provider.ts";
import { createLogger, silentLogger } from "../observability/log.ts";
import { openDatabase } from "../storage/db.ts";
import { SubmitterStore } from "../storage/submitter-store.ts";
import {
  atRisk,
  bumpFee,
  type FeePair,
  FlushAbortedError,
  FlushRefusedError,
  type FlushOptions,
  type FlushResult,
  flushWallet,
  planFlush,
  replacementFees,
} from "./flush.ts";

const account = privateKeyToAccount(DEVNET_KEYS[DEVNET_BATCH_SUBMITTER_INDEX]!);
const ME = account.address.toLowerCase();

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  const fns = cleanups.reverse();
  cleanups = [];
  for (const f of fns) await f();
});

interface Harness {
  l1: DevnetAnvil;
  store: SubmitterStore;
  db: ReturnType<typeof openDatabase>;
  /** The resilient production client, straight to anvil. */
  client: PublicClient;
  lines: Record<string, unknown>[];
  log: ReturnType<typeof createLogger>;
  rpc(method: string, params: unknown[]): Promise<unknown>;
  count(tag: "latest" | "pending" | "safe"): Promise<number>;
  startBlock: bigint;
  /** flushWallet with this harness's client, store, fees from the DB, log and a 100 ms poll. */
  flush(o?: Partial<FlushOptions>): Promise<FlushResult>;
}

async function setup(): Promise<Harness> {
  const l1 = await withDevnetAnvil({ extraArgs: ["--no-mining"] });
  cleanups.push(() => l1.stop());
  const dir = tempDir("flush-test-");
  cleanups.push(() => dir.remove());
  const db = openDatabase(dir.path);
  cleanups.push(() => db.close());
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const rpc = (method: string, params: unknown[]) => l1.publicClient.request({ method: method as never, params: params as never });
  // anvil serves no state below the head it loaded: give `safe` blocks of its own.
  await l1.mine(2);
  const client = createL1Client(l1.url, { log: silentLogger, cacheTime: 0 });
  const store = new SubmitterStore(db);
  return {
    l1,
    store,
    db,
    client,
    lines,
    log,
    rpc,
    count: (tag) => l1.publicClient.getTransactionCount({ address: account.address, blockTag: tag }),
    startBlock: await l1.publicClient.getBlockNumber({ cacheTime: 0 }),
    flush: (o = {}) =>
      flushWallet({
        client,
        account,
        chainId: l1.deployment.chainId,
        store,
        knownFees: (n) => store.knownFees(n),
        log,
        pollMs: 100,
        ...o,
      }),
  };
}

/** `anvil_mine` one block every `intervalMs` until stopped (registered for cleanup). */
function startMiner(h: Harness, intervalMs = 100): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await h.l1.mine(1).catch(() => {});
      await Bun.sleep(intervalMs);
    }
  })();
  const stop = async () => {
    stopped = true;
    await loop;
  };
  cleanups.push(stop);
  return stop;
}

let nextBatchId = 1;
/**
 * A batch transaction from the submitter key at `nonce`, recorded like the submitter does
 * (watermark raised first, then the submission row with its fees), then pinned in anvil's
 * mempool by lowering the block gas limit under its gas limit.
 */
async function sendZombie(h: Harness, nonce: number, fees: FeePair): Promise<Hex> {
  const batchId = nextBatchId++;
  h.db.run("INSERT INTO batches (batch_id, nonce, opened_at_ms, closed_at_ms) VALUES (?, ?, 0, 0)", [batchId, batchId]);
  const data = encodeFunctionData({
    abi: inputBoxAbi,
    functionName: "addInput",
    args: [h.l1.deployment.application, "0xdeadbeef"],
  });
  if (nonce + 1 > h.store.watermark()) h.store.raiseWatermark(nonce + 1);
  const raw = await account.signTransaction({
    type: "eip1559",
    chainId: h.l1.deployment.chainId,
    nonce,
    to: h.l1.deployment.inputBox,
    data,
    gas: 5_000_000n,
    ...fees,
  });
  const hash = keccak256(raw);
  expect(await h.rpc("eth_sendRawTransaction", [raw])).toBe(hash);
  h.store.recordSubmission({
    batchId,
    walletNonce: nonce,
    l1TxHash: hexToBytes(hash),
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    sentAtMs: Date.now(),
  });
  await h.rpc("evm_setBlockGasLimit", [`0x${(1_000_000).toString(16)}`]);
  return hash;
}

/** Transactions of the submitter mined since the harness started, by wallet nonce. */
async function minedByNonce(h: Harness) {
  const out = new Map<number, { hash: Hex; to: string | null; value: bigint; block: bigint; maxFeePerGas: bigint | undefined; maxPriorityFeePerGas: bigint | undefined }[]>();
  const head = await h.l1.publicClient.getBlockNumber({ cacheTime: 0 });
  for (let b = h.startBlock + 1n; b <= head; b++) {
    const block = await h.l1.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== ME) continue;
      const list = out.get(tx.nonce) ?? [];
      list.push({
        hash: tx.hash,
        to: tx.to,
        value: tx.value,
        block: b,
        maxFeePerGas: tx.maxFeePerGas,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      });
      out.set(tx.nonce, list);
    }
  }
  return out;
}

async function receiptOrNull(h: Harness, hash: Hex) {
  return h.l1.publicClient.getTransactionReceipt({ hash }).catch((e: unknown) => {
    if ((e as Error).name === "TransactionReceiptNotFoundError") return null;
    throw e;
  });
}

/** Every slot in [from, to) holds exactly one mined 0-value self-transfer at or below `safeBlock`. */
async function expectSelfTransfers(h: Harness, from: number, to: number, safeBlock: bigint) {
  const mined = await minedByNonce(h);
  for (let n = from; n < to; n++) {
    const txs = mined.get(n) ?? [];
    expect(txs.length).toBe(1);
    expect(txs[0]!.to?.toLowerCase()).toBe(ME);
    expect(txs[0]!.value).toBe(0n);
    expect(txs[0]!.block).toBeLessThanOrEqual(safeBlock);
  }
  return mined;
}

const msgs = (h: Harness, msg: string) => h.lines.filter((l) => l.msg === msg);

describe("replacement pricing", () => {
  test("bumpFee is at least +12.5% (rounded up) and at least 1 wei", () => {
    expect(bumpFee(0n)).toBe(1n);
    expect(bumpFee(1n)).toBe(2n);
    expect(bumpFee(8n)).toBe(9n);
    expect(bumpFee(9n)).toBe(11n);
    expect(bumpFee(1_000_000_000n)).toBe(1_125_000_000n);
    for (const x of [1n, 7n, 10n, 99n, 12345n, 10n ** 18n + 3n]) {
      // geth's rule: new >= old * 110 / 100 on both fields.
      expect(bumpFee(x)).toBeGreaterThanOrEqual((x * 110n) / 100n + 1n);
      expect(bumpFee(x) * 1000n).toBeGreaterThanOrEqual(x * 1125n);
    }
  });

  test("fresh x3, bumped over every known pair, field by field; fee cap never below the tip", () => {
    const fresh = { maxFeePerGas: 10n, maxPriorityFeePerGas: 2n };
    expect(replacementFees(fresh, [])).toEqual({ maxFeePerGas: 30n, maxPriorityFeePerGas: 6n });
    expect(replacementFees(fresh, [null, { maxFeePerGas: 100n, maxPriorityFeePerGas: 1n }])).toEqual({
      maxFeePerGas: 113n,
      maxPriorityFeePerGas: 6n,
    });
    expect(
      replacementFees(fresh, [
        { maxFeePerGas: 20n, maxPriorityFeePerGas: 16n },
        { maxFeePerGas: 40n, maxPriorityFeePerGas: 8n },
      ]),
    ).toEqual({ maxFeePerGas: 45n, maxPriorityFeePerGas: 18n });
    expect(replacementFees({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, [{ maxFeePerGas: 1n, maxPriorityFeePerGas: 80n }])).toEqual({
      maxFeePerGas: 90n,
      maxPriorityFeePerGas: 90n,
    });
  });

  test("our own live self-transfer is re-priced only when it could stall", () => {
    const own = { maxFeePerGas: 300n, maxPriorityFeePerGas: 30n };
    expect(atRisk(own, { maxFeePerGas: 101n, maxPriorityFeePerGas: 11n }, null)).toBe(false); // 3x rose: no churn
    expect(atRisk(own, { maxFeePerGas: 301n, maxPriorityFeePerGas: 10n }, null)).toBe(true);
    expect(atRisk(own, { maxFeePerGas: 100n, maxPriorityFeePerGas: 31n }, null)).toBe(true);
    expect(atRisk(own, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, { maxFeePerGas: 267n, maxPriorityFeePerGas: 1n })).toBe(true);
    expect(atRisk(own, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, { maxFeePerGas: 266n, maxPriorityFeePerGas: 26n })).toBe(false);
  });

  test("SubmitterStore.knownFees takes the bigint maximum per field over every row at the nonce", () => {
    const dir = tempDir("flush-fees-");
    cleanups.push(() => dir.remove());
    const db = openDatabase(dir.path);
    cleanups.push(() => db.close());
    const store = new SubmitterStore(db);
    db.run("INSERT INTO batches (batch_id, nonce, opened_at_ms, closed_at_ms) VALUES (1, 0, 0, 0)");
    const row = (i: number, nonce: number, fee: bigint, tip: bigint) =>
      store.recordSubmission({
        batchId: 1,
        walletNonce: nonce,
        l1TxHash: new Uint8Array(32).fill(i),
        maxFeePerGas: fee,
        maxPriorityFeePerGas: tip,
        sentAtMs: 0,
      });
    // Lexically "9" > "10000000000": the comparison must be numeric.
    row(1, 4, 9n, 5n);
    row(2, 4, 10_000_000_000n, 2n);
    row(3, 5, 1n, 1n);
    const known = (n: number) => store.knownFees(n);
    expect(known(4)).toEqual({ maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 5n });
    expect(known(5)).toEqual({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    expect(known(6)).toBeNull();
  });
});

describe("flushWallet on a real anvil", () => {
  test("(1) nothing pending and the watermark at the nonce count: returns at once, sends nothing", async () => {
    const h = await setup();
    // One settled transaction of ours, so the counts are not all zero.
    const wallet = h.l1.walletClient(DEVNET_BATCH_SUBMITTER_INDEX);
    h.store.raiseWatermark(1);
    await wallet.sendTransaction({ to: account.address, value: 0n });
    await h.l1.mine(2);
    expect(await h.count("safe")).toBe(1);

    const proxy = await startRpcProxy({ upstream: h.l1.url });
    cleanups.push(() => proxy.stop());
    const t0 = performance.now();
    const r = await h.flush({
      client: createL1Client(proxy.url, { log: silentLogger, cacheTime: 0 }),
    });
    const ms = performance.now() - t0;
    expect(r.rounds).toBe(1);
    expect(r.replaced).toBe(0);
    expect(r.settledThroughNonce).toBe(1);
    expect(r.safeBlock).toBe((await h.l1.publicClient.getBlock({ blockTag: "safe" })).number);
    expect(proxy.count({ method: "eth_sendRawTransaction" })).toBe(0);
    expect(proxy.count({ method: "eth_estimateGas" }) + proxy.count({ method: "eth_maxPriorityFeePerGas" })).toBe(0);
    expect(h.store.watermark()).toBe(1);
    expect(await h.count("pending")).toBe(1);
    expect(ms).toBeLessThan(1000);
  });

  test("(2) a zombie batch transaction in the mempool is replaced by a self-transfer and never lands", async () => {
    const h = await setup();
    const n = await h.count("latest");
    // Priced far above the fresh estimate x3: only a flush that reads the recorded fees
    // replaces it on its first attempt.
    const est = await h.l1.publicClient.estimateFeesPerGas();
    const zfees = { maxFeePerGas: est.maxFeePerGas * 10n, maxPriorityFeePerGas: est.maxPriorityFeePerGas * 10n };
    const zombie = await sendZombie(h, n, zfees);
    await h.l1.mine(3);
    expect(await h.count("latest")).toBe(n); // pinned: still pending after blocks
    expect(await h.count("pending")).toBe(n + 1);

    startMiner(h);
    const t0 = performance.now();
    const r = await h.flush();
    const ms = performance.now() - t0;

    expect(r.replaced).toBe(1);
    expect(r.settledThroughNonce).toBeGreaterThanOrEqual(n + 1);
    expect(h.store.watermark()).toBe(n + 1);
    // Settled at the reported safe block, not merely mined.
    expect(await h.l1.publicClient.getTransactionCount({ address: account.address, blockNumber: r.safeBlock })).toBe(n + 1);
    const mined = await expectSelfTransfers(h, n, n + 1, r.safeBlock);
    const st = mined.get(n)![0]!;
    expect(st.maxFeePerGas).toBe(bumpFee(zfees.maxFeePerGas));
    expect(st.maxPriorityFeePerGas).toBe(bumpFee(zfees.maxPriorityFeePerGas));
    // One broadcast, no "underpriced" detour.
    expect(msgs(h, "flush: self-transfer broadcast").length).toBe(1);
    expect(msgs(h, "flush: slot held by a higher-priced transaction; will bump").length).toBe(0);

    // The zombie is gone for good: blocks big enough for it again, still no receipt.
    await h.rpc("evm_setBlockGasLimit", [`0x${(30_000_000).toString(16)}`]);
    await h.l1.mine(3);
    expect(await receiptOrNull(h, zombie)).toBeNull();
    expect(await h.l1.publicClient.getTransaction({ hash: zombie }).catch(() => null)).toBeNull();
    expect(await h.count("pending")).toBe(n + 1);
    console.log(`(2) zombie flushed in ${ms.toFixed(0)} ms, ${r.rounds} rounds, safe block ${r.safeBlock}`);
  });

  test("(2b) no recorded fee for the slot (crash between broadcast and record): escalates on 'underpriced' and still converges", async () => {
    const h = await setup();
    const n = await h.count("latest");
    const est = await h.l1.publicClient.estimateFeesPerGas();
    const zfees = { maxFeePerGas: est.maxFeePerGas * 10n, maxPriorityFeePerGas: est.maxPriorityFeePerGas * 10n };
    const zombie = await sendZombie(h, n, zfees);
    startMiner(h);
    const r = await h.flush({
      knownFees: () => null, // e.g. a crash between broadcast and record
      pollMs: 50,
    });
    expect(msgs(h, "flush: slot held by a higher-priced transaction; will bump").length).toBeGreaterThan(0);
    expect(r.replaced).toBe(1);
    await expectSelfTransfers(h, n, n + 1, r.safeBlock);
    expect(await receiptOrNull(h, zombie)).toBeNull();
  });

  test("(3) a watermark above the nonce count (broadcasts that reached no node): the gap is filled", async () => {
    const h = await setup();
    const n = await h.count("latest");
    h.store.raiseWatermark(n + 3);
    expect(await h.count("pending")).toBe(n);

    startMiner(h);
    const t0 = performance.now();
    const r = await h.flush();
    const ms = performance.now() - t0;
    expect(r.replaced).toBe(3);
    expect(r.settledThroughNonce).toBe(n + 3);
    expect(h.store.watermark()).toBe(n + 3);
    expect(await h.l1.publicClient.getTransactionCount({ address: account.address, blockNumber: r.safeBlock })).toBe(n + 3);
    await expectSelfTransfers(h, n, n + 3, r.safeBlock);
    expect(await h.count("pending")).toBe(n + 3);
    console.log(`(3) 3 gap slots flushed in ${ms.toFixed(0)} ms, ${r.rounds} rounds`);
  });

  test("(3b) an absurd gap (corrupt watermark) is refused before anything is raised or sent", async () => {
    const h = await setup();
    const n = await h.count("latest");
    h.store.raiseWatermark(n + 300);
    const proxy = await startRpcProxy({ upstream: h.l1.url });
    cleanups.push(() => proxy.stop());
    await expect(
      h.flush({
        client: createL1Client(proxy.url, { log: silentLogger, cacheTime: 0 }),
      }),
    ).rejects.toBeInstanceOf(FlushRefusedError);
    expect(proxy.count({ method: "eth_sendRawTransaction" })).toBe(0);
    expect(h.store.watermark()).toBe(n + 300);
  });

  test("(4) a crash mid-flush (abort after the first broadcast), then a second call converges", async () => {
    const h = await setup();
    const n = await h.count("latest");
    const est = await h.l1.publicClient.estimateFeesPerGas();
    const zombie = await sendZombie(h, n, est);
    h.store.raiseWatermark(n + 3); // two more slots we "may" have used
    const w0 = h.store.watermark();

    // First run: no blocks at all, killed right after its first broadcast (mid-round).
    const ac = new AbortController();
    const log1 = createLogger({
      level: "debug",
      write: (l) => {
        const rec = JSON.parse(l) as Record<string, unknown>;
        h.lines.push({ ...rec, run: 1 });
        if (rec.msg === "flush: self-transfer broadcast") ac.abort(new Error("simulated crash"));
      },
    });
    const first = h.flush({
      log: log1,
      signal: ac.signal,
    });
    await expect(first).rejects.toBeInstanceOf(FlushAbortedError);
    expect(msgs(h, "flush: self-transfer broadcast").length).toBe(1);
    expect(h.store.watermark()).toBe(w0);
    expect(await h.count("latest")).toBe(n);
    expect(await h.count("pending")).toBe(n + 1); // the zombie slot now holds our self-transfer
    expect(await h.l1.publicClient.getTransaction({ hash: zombie }).catch(() => null)).toBeNull();

    // Restart: a fresh call with no memory of the first.
    startMiner(h);
    const r = await h.flush();
    expect(r.settledThroughNonce).toBe(n + 3);
    expect(h.store.watermark()).toBe(w0); // monotonic, and nothing used past it
    const mined = await expectSelfTransfers(h, n, n + 3, r.safeBlock);
    // No nonce used twice or past the watermark; exactly one mined transaction per slot.
    expect([...mined.keys()].sort((a, b) => a - b)).toEqual([n, n + 1, n + 2]);
    expect(await h.count("pending")).toBe(n + 3);
    await h.rpc("evm_setBlockGasLimit", [`0x${(30_000_000).toString(16)}`]);
    await h.l1.mine(2);
    expect(await receiptOrNull(h, zombie)).toBeNull();
    // Idempotent once settled too: a third call returns at once.
    const again = await h.flush();
    expect(again.rounds).toBe(1);
    expect(again.replaced).toBe(0);
  });

  test("(5) sends dropped by the RPC proxy for ~1 s: retried each round, logged once, converges", async () => {
    const h = await setup();
    const n = await h.count("latest");
    const zombie = await sendZombie(h, n, await h.l1.publicClient.estimateFeesPerGas());
    h.store.raiseWatermark(n + 2);
    const proxy = await startRpcProxy({ upstream: h.l1.url });
    cleanups.push(() => proxy.stop());
    await proxy.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"] });
    const healed = Bun.sleep(1000).then(() => proxy.setMode({ kind: "pass" }));

    startMiner(h);
    const t0 = performance.now();
    const r = await h.flush({
      // No transport-level retries: the flush's own rounds must carry it.
      client: createL1Client(proxy.url, { log: silentLogger, cacheTime: 0, maxAttempts: 1 }),
    });
    const ms = performance.now() - t0;
    await healed;
    expect(proxy.count({ method: "eth_sendRawTransaction", outcome: "drop" })).toBeGreaterThanOrEqual(3);
    expect(msgs(h, "flush: L1 unreachable; retrying every round").length).toBe(1);
    expect(msgs(h, "flush: L1 requests succeed again").length).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(r.settledThroughNonce).toBe(n + 2);
    expect(r.replaced).toBe(2);
    await expectSelfTransfers(h, n, n + 2, r.safeBlock);
    expect(await receiptOrNull(h, zombie)).toBeNull();
    console.log(
      `(5) converged ${ms.toFixed(0)} ms after start, ${r.rounds} rounds, ` +
        `${proxy.count({ method: "eth_sendRawTransaction", outcome: "drop" })} sends dropped`,
    );
  });
});

describe("planFlush (the decision of one round, from the view alone)", () => {
  const view = (safe: number, latest: number, pending: number, watermark: number) => ({ safeBlock: 1n, safe, latest, pending, watermark });
  test("settled only when nothing is pending past the safe count and the watermark is reached", () => {
    expect(planFlush(view(5, 5, 5, 5), 256)).toEqual({ kind: "settled" });
    expect(planFlush(view(5, 5, 5, 3), 256)).toEqual({ kind: "settled" });
    // mined but not yet safe: wait, nothing to send
    expect(planFlush(view(4, 5, 5, 5), 256)).toEqual({ kind: "flush", raiseWatermarkTo: null, slots: [] });
  });
  test("every slot from the latest count to max(pending, watermark); the watermark is raised first", () => {
    expect(planFlush(view(3, 3, 6, 4), 256)).toEqual({ kind: "flush", raiseWatermarkTo: 6, slots: [3, 4, 5] });
    expect(planFlush(view(3, 3, 3, 5), 256)).toEqual({ kind: "flush", raiseWatermarkTo: null, slots: [3, 4] });
  });
  test("more slots than the limit is refused", () => {
    expect(() => planFlush(view(0, 0, 300, 0), 256)).toThrow(FlushRefusedError);
    expect(planFlush(view(0, 0, 256, 0), 256)).toMatchObject({ kind: "flush", raiseWatermarkTo: 256 });
  });
});
