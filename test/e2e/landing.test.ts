/**
 * Batches on a real anvil: they land through InputBox.addInput in nonce order, the reader
 * judges them with the scheduler's gates, and a forged batch from the submitter key is a
 * canonical divergence that stops the sequencer from serving.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { createWalletClient, encodeFunctionData, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeBatch } from "../../src/core/ssz.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS, inputBoxAbi } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { submitterBatchesOnL1 } from "../support/l1-batches.ts";

const KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
const SUBMITTER_KEY = DEVNET_KEYS[1] as Hex;

let anvil: DevnetAnvil;
let miner: ReturnType<typeof setInterval> | undefined;
const dirs: ReturnType<typeof tempDir>[] = [];
const procs: SequencerProcess[] = [];

/** Blocks every 200 ms: a fast but real chain, so safe and finalized heads keep moving. */
function startMining(): void {
  miner = setInterval(() => void anvil.mine(1).catch(() => {}), 200);
}

async function start(env: Record<string, string> = {}): Promise<SequencerProcess> {
  const d = tempDir();
  dirs.push(d);
  const p = await startSequencerProcess({
    rpcUrl: anvil.url,
    dataDir: d.path,
    env: {
      SEQ_MAX_BATCH_OPEN_SECONDS: "1",
      SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100",
      ...env,
    },
  });
  procs.push(p);
  return p;
}

const submitterInputs = () => submitterBatchesOnL1(anvil);

// Each test gets its own chain: a second sequencer on a chain that already holds another
// sequencer's batches would rightly see them as a divergence.
beforeEach(async () => {
  anvil = await withDevnetAnvil();
  startMining();
});

afterEach(async () => {
  if (miner) clearInterval(miner);
  for (const p of procs.splice(0)) await p.stop();
  await anvil?.stop();
  for (const d of dirs.splice(0)) d.remove();
});

describe("batches on L1", () => {
  test("batches land in nonce order, once each, and ops reach finalized", async () => {
    const seq = await start();
    const feed = subscribe(seq.url);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    const acks: { tx_hash: string }[] = [];
    for (let n = 0; n < 3; n++) {
      const r = await postTx(seq.url, await signOp(KEY, { nonce: n, maxFee: 1409, data: transferData(BigInt(n + 1), TO) }));
      expect(r.status).toBe(200);
      acks.push(r.json);
      // One op per batch: wait for this batch to close before the next op.
      await until(() => seq.logs.some((l) => l.msg === "batch closed" && l.nonce === n), 10_000, `batch ${n} closed`);
    }
    const t0 = Date.now();
    for (const a of acks) {
      await until(async () => (await getJson(`${seq.url}/tx/${a.tx_hash}`)).json.status === "finalized", 30_000, "finalized");
    }
    const finalizedAfterMs = Date.now() - t0;
    expect(finalizedAfterMs).toBeLessThan(30_000);
    const st = (await getJson(`${seq.url}/tx/${acks[0]!.tx_hash}`)).json;
    expect(st).toMatchObject({ status: "finalized", batch_nonce: 0, offset: 1 });
    expect(st.l1_tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(typeof st.l1_block).toBe("number");

    // What L1 holds from the submitter decodes to nonces 0, 1, 2 with no duplicate.
    const landed = await submitterInputs();
    expect(landed.map((l) => l.nonce)).toEqual([0n, 1n, 2n]);
    const db = new Database(join(seq.dataDir, "sequencer.db"), { readonly: true });
    try {
      const verdicts = db.query("SELECT verdict, batch_nonce AS n, batch_id IS NOT NULL AS ours FROM batch_landings ORDER BY input_index").all();
      expect(verdicts).toEqual([
        { verdict: "accepted", n: 0, ours: 1 },
        { verdict: "accepted", n: 1, ours: 1 },
        { verdict: "accepted", n: 2, ours: 1 },
      ]);
      const wm = db.query("SELECT next_wallet_nonce AS n FROM wallet_nonce_watermark").get() as { n: number };
      expect(wm.n).toBeGreaterThanOrEqual(3);
    } finally {
      db.close();
    }
    feed.close();
    await seq.stop();
  });

  test("the fee estimate follows the L1 base fee", async () => {
    const seq = await start();
    const feed = subscribe(seq.url);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    // Hold the chain still so the base fee cannot decay between our read and the estimate.
    if (miner) clearInterval(miner);
    miner = undefined;
    const high = 200_000_000_000n; // 200 gwei
    await anvil.publicClient.request({ method: "anvil_setNextBlockBaseFeePerGas" as never, params: [`0x${high.toString(16)}`] as never });
    await anvil.mine(1);
    const base = (await anvil.publicClient.getBlock()).baseFeePerGas!;
    expect(base).toBeGreaterThan(100_000_000_000n);
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    const r = await postTx(seq.url, await signOp(KEY, { nonce, maxFee: 1409, data: transferData(1n, TO) }));
    expect(r.status).toBe(200);
    const rec = (await until(() => seq.logs.find((l) => l.msg === "batch broadcast"), 15_000, "a broadcast"))!;
    // viem's estimate is about 2 x base fee + tip: it tracks the base fee it saw.
    expect(BigInt(rec.max_fee_per_gas as string)).toBeGreaterThan(base);
    feed.close();
    await seq.stop();
  });

  test("a forged batch at our next nonce is a canonical divergence", async () => {
    const seq = await start();
    const feed = subscribe(seq.url);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    // Our batch 0 lands first; then someone with the submitter key posts nonce 1.
    expect((await postTx(seq.url, await signOp(KEY, { nonce: 0, maxFee: 1409, data: transferData(1n, TO) }))).status).toBe(200);
    await until(async () => (await submitterInputs()).length >= 1, 15_000, "our batch 0 on L1");
    const next = 1n;
    const forged = encodeBatch({ nonce: next, frames: [] });
    const wallet = createWalletClient({ account: privateKeyToAccount(SUBMITTER_KEY), transport: http(anvil.url), chain: anvil.walletClient(0).chain });
    await wallet.sendTransaction({
      to: anvil.deployment.inputBox,
      data: encodeFunctionData({ abi: inputBoxAbi, functionName: "addInput", args: [anvil.deployment.application, `0x${Buffer.from(forged).toString("hex")}`] }),
    });
    const ready = (await until(async () => {
      const r = await getJson(`${seq.url}/readyz`);
      return r.status === 503 ? r : null;
    }, 20_000, "readyz 503"))!;
    expect(ready.json.code).toBe("UNAVAILABLE");
    expect(ready.json.message).toContain(`batch nonce ${next}`);
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    const tx = await postTx(seq.url, await signOp(KEY, { nonce, maxFee: 1409, data: transferData(1n, TO) }));
    expect(tx.status).toBe(503);
    expect(tx.json.message).toContain(`batch nonce ${next}`);
    expect(seq.logs.some((l) => l.msg === "canonical divergence")).toBe(true);
    // Reads keep working for forensics.
    expect((await getJson(`${seq.url}/info`)).status).toBe(200);

    // A restart still refuses to serve: the divergence is durable.
    const dataDir = seq.dataDir;
    expect(await seq.stop()).toBe(0);
    const again = await startSequencerProcess({ rpcUrl: anvil.url, dataDir });
    procs.push(again);
    const r2 = await getJson(`${again.url}/readyz`);
    expect(r2.status).toBe(503);
    expect(r2.json.message).toContain(`batch nonce ${next}`);
    feed.close();
  });
});
