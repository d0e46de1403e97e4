/**
 * Liveness-recovery drills on a real anvil (issue 6): the sequencer notices a batch that can
 * no longer land in time, goes offline, flushes its wallet slots, invalidates the doomed
 * suffix, announces the rollback on the feed and comes back — and the L1 inputs exported
 * afterwards verify against the feed it served.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { startRpcProxy, type RpcProxy } from "../support/rpc-proxy.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { exportAndVerifyCli } from "../support/verify-cli.ts";

const KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

let anvil: DevnetAnvil;
let proxy: RpcProxy;
let miner: ReturnType<typeof setInterval> | undefined;
const procs: SequencerProcess[] = [];
const feeds: FeedClient[] = [];
let dir: ReturnType<typeof tempDir>;

beforeEach(async () => {
  dir = tempDir("seq-drill-");
  anvil = await withDevnetAnvil();
  proxy = await startRpcProxy({ upstream: anvil.url });
  miner = setInterval(() => void anvil.mine(1).catch(() => {}), 200);
});

afterEach(async () => {
  if (miner) clearInterval(miner);
  for (const f of feeds.splice(0)) f.close();
  for (const p of procs.splice(0)) await p.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  dir.remove();
});

async function startSeq(env: Record<string, string> = {}): Promise<SequencerProcess> {
  const p = await startSequencerProcess({
    rpcUrl: proxy.url,
    dataDir: join(dir.path, "data"),
    env: { SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100", ...env },
  });
  procs.push(p);
  return p;
}

async function op(seq: SequencerProcess, nonce: number): Promise<{ status: number; json: any; body: unknown }> {
  const body = await signOp(KEY, { nonce, maxFee: 1409, data: transferData(BigInt(1000 + nonce), TO) });
  return { ...(await postTx(seq.url, body)), body };
}

async function setBalance(address: string, wei: bigint): Promise<void> {
  await anvil.publicClient.request({ method: "anvil_setBalance" as never, params: [address, `0x${wei.toString(16)}`] as never });
}

/**
 * Export the app's L1 inputs and verify them offline against the recorded feed: must match,
 * or (`pending` > 0) agree on everything L1 covers with exactly `pending` recorded entries
 * beyond it (verify's "incomplete", exit 3).
 */
async function exportAndVerify(feed: FeedClient, pending = 0): Promise<any> {
  const r = await exportAndVerifyCli({ anvil, workDir: dir.path, feedMessages: feed.messages });
  expect({ exportCode: r.exportCode, verifyCode: r.verifyCode, verdict: r.report?.verdict, pending: r.report?.pending_feed_entries }).toEqual(
    pending === 0
      ? { exportCode: 0, verifyCode: 0, verdict: "match", pending: 0 }
      : { exportCode: 0, verifyCode: 3, verdict: "incomplete", pending },
  );
  expect(r.report.first_divergence).toBeUndefined();
  return r.report;
}

describe("recovery drills", () => {
  test("(a) a sealed batch that cannot land (the submitter has no gas) while L1 mines past the threshold", async () => {
    const seq = await startSeq();
    const feed = subscribe(seq.url, "?from_offset=0");
    feeds.push(feed);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    // The submitter's wallet is empty: no batch transaction can be sent.
    const submitter = anvil.deployment.batchSubmitter;
    await setBalance(submitter, 0n);
    const first = await op(seq, 0);
    expect(first.status).toBe(200);
    await until(() => seq.logs.some((l) => l.msg === "batch closed" && (l.user_ops as number) > 0), 10_000, "batch sealed");
    // L1 moves on: 1000 blocks, past the danger threshold (1200 - 300).
    await anvil.mine(1000);
    const offline = (await until(async () => {
      const r = await getJson(`${seq.url}/readyz`);
      return r.status === 503 ? r : null;
    }, 20_000, "offline"))!;
    const wentOffline = Date.now();
    expect(offline.json.message).toMatch(/^recovering: batch \d+ \(sealed\)/);
    const refused = await op(seq, 1);
    expect(refused.status).toBe(503);
    expect(refused.json.message).toMatch(/^recovering/);
    // The operator refills the wallet: the flush can settle every slot, then the cascade runs.
    await setBalance(submitter, 10n ** 19n);
    await until(async () => (await getJson(`${seq.url}/readyz`)).status === 200, 30_000, "back online");
    const offlineMs = Date.now() - wentOffline;
    const back = seq.logs.find((l) => l.msg === "back online after liveness recovery")!;
    if (process.env.DRILL_DEBUG) console.log(seq.logs.filter((l) => l.component === "recovery").map((l) => JSON.stringify(l).slice(0, 400)).join("\n"));
    expect(back.invalidated_ops).toBe(1);
    expect(back.redrained_inputs).toBe(1);
    // The feed said so: rollback to the cut, then the deposit again (never lost).
    await until(() => feed.messages.some((m) => m.kind === "rollback"), 10_000, "rollback on the feed");
    const rb = feed.messages.findIndex((m) => m.kind === "rollback");
    expect(feed.messages[rb]).toEqual({ kind: "rollback", offset: 0, generation: 1 });
    await until(() => feed.messages.length > rb + 1, 10_000, "the re-drained deposit");
    expect(feed.messages[rb + 1]).toMatchObject({ kind: "direct_input", offset: 0, input_index: 0 });
    // The op is invalidated; the user's nonce is back to 0 and the resubmission lands.
    expect((await getJson(`${seq.url}/tx/${first.json.tx_hash}`)).json.status).toBe("invalidated");
    expect((await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce).toBe(0);
    const again = await postTx(seq.url, first.body);
    expect(again.status).toBe(200);
    expect(again.json.tx_hash).toBe(first.json.tx_hash);
    await until(async () => ["safe", "finalized"].includes((await getJson(`${seq.url}/tx/${again.json.tx_hash}`)).json.status), 30_000, "resubmitted op safe");
    await exportAndVerify(feed);
    console.log(`drill (a): offline ${offlineMs} ms after the wallet was refilled; ops invalidated ${back.invalidated_ops}; deposits kept ${back.redrained_inputs}`);
  }, 120_000);

  test("(e) only the open batch in danger", async () => {
    // Batches close only after an hour: the op stays in the open batch.
    const seq = await startSeq({ SEQ_MAX_BATCH_OPEN_SECONDS: "3600" });
    const feed = subscribe(seq.url, "?from_offset=0");
    feeds.push(feed);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    const first = await op(seq, 0);
    expect(first.status).toBe(200);
    await anvil.mine(1000);
    // Nothing to flush here, so the whole recovery can take milliseconds: follow the logs.
    await until(() => seq.logs.some((l) => l.msg === "back online after liveness recovery"), 30_000, "a completed recovery");
    expect(seq.logs.some((l) => l.msg === "going offline for liveness recovery" && /\(open\)/.test(String(l.reason)))).toBe(true);
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(200);
    const back = seq.logs.find((l) => l.msg === "back online after liveness recovery")!;
    expect(back.invalidated_batches).toBe(1);
    expect(back.invalidated_ops).toBe(1);
    expect((await getJson(`${seq.url}/tx/${first.json.tx_hash}`)).json.status).toBe("invalidated");
    // Nothing was ever posted: the reopened batch keeps nonce 0.
    const batches = (await getJson(`${seq.internalUrl}/batches`)).json.batches as { nonce: number; state: string }[];
    expect(batches.map((b) => [b.nonce, b.state])).toEqual([
      [0, "invalidated"],
      [0, "open"],
    ]);
    // the deposit, re-drained into the reopened batch, is in no batch on L1 yet
    await exportAndVerify(feed, 1);
  }, 120_000);
});
