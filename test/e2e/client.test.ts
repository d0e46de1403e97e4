/**
 * The TypeScript client (client/) against a real devnet: signing with a local account, a
 * wallet client over anvil's JSON-RPC account and as viem actions; typed answers and typed
 * errors; waitForStatus to `safe`, and failing fast on `invalidated`; inspect; and subscribe
 * across a connection cut in the middle of a liveness recovery, delivering every entry once,
 * announcing the rollback, and ending with exactly the server's history.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import {
  createSequencerClient,
  sequencerActions,
  SequencerApiError,
  TxInvalidatedError,
  type FeedEntry,
  type Rollback,
} from "../../client/src/index.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, subscribe as rawSubscribe, transferData, until } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

const KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Address;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

let anvil: DevnetAnvil | undefined;
let seq: SequencerProcess | undefined;
let proxy: TcpProxy | undefined;
let miner: ReturnType<typeof setInterval> | undefined;
let dir: ReturnType<typeof tempDir> | undefined;
const closers: (() => void)[] = [];

afterEach(async () => {
  if (miner) clearInterval(miner);
  for (const c of closers.splice(0)) c();
  await proxy?.stop();
  await seq?.stop();
  await anvil?.stop();
  dir?.remove();
  proxy = seq = anvil = dir = miner = undefined;
});

async function start(env: Record<string, string>): Promise<SequencerProcess> {
  dir = tempDir("seq-client-");
  anvil = await withDevnetAnvil();
  miner = setInterval(() => void anvil!.mine(1).catch(() => {}), 200);
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: join(dir.path, "data"), env });
  return seq;
}

describe("client SDK on the devnet", () => {
  test("signs with any viem signer, sends, reads, inspects and waits for safe; errors carry the API's code", async () => {
    const s = await start({ SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100", SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:0" });
    const client = createSequencerClient({ url: s.url });
    const entries: FeedEntry[] = [];
    const sub = client.subscribe({ fromOffset: 0, onEntry: (e) => void entries.push(e) });
    closers.push(() => sub.close());

    const info = await client.getInfo();
    expect(info.chain_id).toBe(31337);
    expect(info.feed_generation).toBe(0);
    const domain = await client.getDomain();
    expect(domain.primaryType).toBe("UserOp");
    await anvil!.deposit(2, 10n ** 18n);
    await until(() => entries.length >= 1, 20_000, "the deposit in the feed");
    expect(entries[0]).toMatchObject({ kind: "direct_input", offset: 0 });

    // 1. A local account.
    const account = privateKeyToAccount(KEY);
    const a = await client.submit({ signer: account, data: transferData(1000n, TO) });
    expect(a).toMatchObject({ ok: true, sender: USER, nonce: 0, offset: 1 });
    expect(await client.getNonce(USER)).toBe(1);

    // 2. A wallet client whose account lives in the node (anvil signs, eth_signTypedData_v4).
    const rpcWallet = createWalletClient({ account: DEVNET_ADDRESSES[2] as Address, chain: foundry, transport: http(anvil!.url) });
    const b = await client.submit({ signer: rpcWallet, data: transferData(2000n, TO) });
    expect(b).toMatchObject({ sender: USER, nonce: 1, offset: 2 });

    // 3. viem actions on a wallet client with a local account.
    const extended = createWalletClient({ account, chain: foundry, transport: http(anvil!.url) }).extend(sequencerActions({ url: s.url }));
    const c = await extended.submitUserOp({ data: transferData(3000n, TO) });
    expect(c.nonce).toBe(2);
    expect((await extended.getSequencerFee()).fee).toBeGreaterThan(0);

    // Typed errors with the API's code; nothing is stored for them.
    const late = await client.signUserOp(account, { nonce: 9, max_fee: (await client.getFee()).suggested_max_fee, data: transferData(1n, TO) });
    const rejected = await client.sendUserOp(late).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(SequencerApiError);
    expect(rejected).toMatchObject({ status: 422, code: "EXECUTION_REJECTED", retryable: false });
    const forged = await client.sendUserOp({ ...late, sender: TO as Address }).catch((e: unknown) => e);
    expect(forged).toMatchObject({ status: 400, code: "INVALID_SIGNATURE" });
    const unknown = await client.getTxStatus(`0x${"ab".repeat(32)}`).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404, code: "NOT_FOUND" });

    // Inspect: the wallet's balance and nonce query (0x00 || address).
    const answer = await until(async () => {
      // 503 UNAVAILABLE until the inspect follower has started: retryable.
      const r = await client.inspect(`0x00${USER.slice(2)}`).catch((e: unknown) => {
        if (e instanceof SequencerApiError && e.retryable) return null;
        throw e;
      });
      return r && r.offset >= 3 ? r : null;
    }, 10_000, "inspect at the last op");
    expect(answer!.status).toBe("accepted");
    expect(answer!.reports).toHaveLength(1);
    // inspectUrl sends queries to the sequencer's inspect listener, and only those
    const asked: string[] = [];
    const viaListener = createSequencerClient({ url: s.url, inspectUrl: `${s.inspectUrl}/`, fetch: ((u: string | URL | Request, i?: RequestInit) => (asked.push(String(u)), fetch(u, i))) as typeof fetch });
    expect(await viaListener.inspect(`0x00${USER.slice(2)}`)).toEqual(answer!);
    expect((await viaListener.getInfo()).chain_id).toBe(31337);
    expect(asked).toEqual([`${s.inspectUrl}/inspect`, `${s.url}/info`]);

    // The ops move on to safe (their batch closed, posted and accepted on L1).
    const safe = await client.waitForStatus(c.tx_hash, "safe", { timeoutMs: 60_000, pollIntervalMs: 200 });
    expect(["safe", "finalized"]).toContain(safe.status);
    expect(safe.l1_tx_hash).toMatch(/^0x[0-9a-f]{64}$/);

    await until(() => entries.length >= 4, 10_000, "all four entries");
    expect(entries.map((e) => [e.kind, e.offset])).toEqual([["direct_input", 0], ["user_op", 1], ["user_op", 2], ["user_op", 3]]);
    expect(entries.slice(1).map((e) => (e.kind === "user_op" ? e.tx_hash : null))).toEqual([a.tx_hash, b.tx_hash, c.tx_hash]);
  }, 120_000);

  test("subscribe reconnects through a recovery rollback: once each, the rollback announced, the server's history at the end; waitForStatus fails fast on invalidated", async () => {
    // Drill (a) of recovery-drills.test.ts: a sealed batch cannot land (the submitter has no
    // gas) while L1 mines past the threshold, so the sequencer stays offline until the wallet
    // is refilled: a window in which the client's connection is cut.
    const s = await start({ SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100" });
    proxy = await startTcpProxy(Number(new URL(s.url).port));
    const viaProxy = createSequencerClient({ url: proxy.url });
    const direct = createSequencerClient({ url: s.url });
    const submitter = anvil!.deployment.batchSubmitter;
    const setBalance = (wei: bigint) =>
      anvil!.publicClient.request({ method: "anvil_setBalance" as never, params: [submitter, `0x${wei.toString(16)}`] as never });

    const log: (FeedEntry | Rollback)[] = [];
    const delivered = new Set<string>();
    const duplicates: string[] = [];
    const view: FeedEntry[] = [];
    const statuses: string[] = [];
    const sub = viaProxy.subscribe({
      fromOffset: 0,
      minBackoffMs: 50,
      maxBackoffMs: 200,
      onEntry: (e) => {
        const key = `${sub.generation}:${e.offset}`;
        if (delivered.has(key)) duplicates.push(key);
        delivered.add(key);
        expect(e.offset).toBe(view.length); // no gap, in order
        view.push(e);
        log.push(e);
      },
      onRollback: (r) => {
        log.push(r);
        view.length = r.offset;
      },
      onStatus: (st) => statuses.push(st.state),
    });
    closers.push(() => sub.close());

    await anvil!.deposit(2, 10n ** 18n);
    await until(() => view.length >= 1, 20_000, "the deposit");
    await setBalance(0n);
    const op = await direct.submit({ signer: privateKeyToAccount(KEY), data: transferData(1000n, TO) });
    await until(() => view.length >= 2, 10_000, "the op");
    await until(() => s.logs.some((l) => l.msg === "batch closed" && (l.user_ops as number) > 0), 10_000, "batch sealed");
    const waiting = direct.waitForStatus(op.tx_hash, "finalized", { timeoutMs: 90_000, pollIntervalMs: 100 }).catch((e: unknown) => e);

    // L1 moves past the danger threshold: the sequencer goes offline. Cut the feed's
    // connection in the middle of the recovery, and keep it cut until the recovery is over.
    await anvil!.mine(1000);
    await until(async () => (await getJson(`${s.url}/readyz`)).status === 503, 30_000, "offline");
    proxy.setRefusing(true);
    proxy.dropAll();
    await setBalance(10n ** 19n);
    await until(() => s.logs.some((l) => l.msg === "back online after liveness recovery"), 30_000, "back online");
    const cutWhileAway = log.filter((m) => m.kind === "rollback").length;
    proxy.setRefusing(false);

    // The op was invalidated: the waiter failed fast with the typed error.
    const waited = await waiting;
    expect(waited).toBeInstanceOf(TxInvalidatedError);

    // After the reconnect: the rollback first, then the new history.
    await until(() => log.some((m) => m.kind === "rollback"), 15_000, "the rollback through the reconnect");
    expect(cutWhileAway).toBe(0);
    const rb = log.find((m) => m.kind === "rollback") as Rollback;
    expect(rb.generation).toBe(1);
    expect(rb.offset).toBe(0);
    expect(statuses).toContain("reconnecting");
    expect(sub.generation).toBe(1);

    // The resubmitted op lands in the new history; the client's view is the server's history.
    const again = await direct.submit({ signer: privateKeyToAccount(KEY), data: transferData(1000n, TO) });
    const fresh = rawSubscribe(s.url, "?from_offset=0");
    closers.push(() => fresh.close());
    await until(() => fresh.messages.some((m) => m.tx_hash === again.tx_hash), 15_000, "the resubmitted op on a fresh feed");
    await until(() => view.some((e) => e.kind === "user_op" && e.tx_hash === again.tx_hash), 15_000, "the resubmitted op on the client");
    expect(view).toEqual(fresh.messages);
    expect(duplicates).toEqual([]);
    expect(sub.nextOffset).toBe(view.length);
  }, 120_000);
});
