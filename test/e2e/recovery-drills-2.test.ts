/**
 * Liveness-recovery drills (b), (c) and (d) on a real anvil (issue 6 item 7; (a) and (e) are in
 * recovery-drills.test.ts): batch transactions of ours stuck in the mempool when danger strikes,
 * a batch that lands stale, and kill -9 in the middle of each recovery step. Each drill ends
 * with the real `export-l1` + `verify` CLI over the recorded feed (rollbacks included).
 *
 * Zombies are made deterministic the way src/recovery/flush.test.ts does: anvil rejects a
 * transaction whose gas limit exceeds the block gas limit at submission, but keeps one that
 * was accepted before the limit dropped and no longer fits in a block. So anvil runs with
 * `--no-mining` and a miner we can pause: with the miner paused, the batches are sealed and
 * broadcast (nothing mines them), then the block gas limit drops to ZOMBIE_BLOCK_GAS_LIMIT —
 * above a 21000-gas self-transfer, below any InputBox.addInput — and the miner resumes.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS, etherPortalAbi } from "../../src/l1/contracts.ts";
import { DB_FILE_NAME } from "../../src/storage/db.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { startRpcProxy, type RpcProxy } from "../support/rpc-proxy.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { exportAndVerifyCli } from "../support/verify-cli.ts";

const KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
/** Fits a self-transfer (21000), never a batch transaction (addInput needs well over 50k). */
const ZOMBIE_BLOCK_GAS_LIMIT = 50_000;
/** Below a 21000-gas transfer: blocks mined under it are empty. */
const NO_TX_BLOCK_GAS_LIMIT = 20_000;
const NORMAL_BLOCK_GAS_LIMIT = 30_000_000;
const MAX_WAIT_BLOCKS = 1200;

let anvil: DevnetAnvil;
let proxy: RpcProxy;
let miner: Miner | undefined;
const procs: SequencerProcess[] = [];
const feeds: FeedClient[] = [];
let dir: ReturnType<typeof tempDir>;

/** One block every 200 ms unless paused; `pause()` resolves once no block is being mined. */
interface Miner {
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}

function startMiner(l1: DevnetAnvil): Miner {
  let on = true;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const loop = (async () => {
    while (!stopped) {
      if (on) {
        current = l1.mine(1).catch(() => {});
        await current;
      }
      await Bun.sleep(200);
    }
  })();
  return {
    pause: async () => {
      on = false;
      await current;
    },
    resume: () => {
      on = true;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

beforeEach(async () => {
  dir = tempDir("seq-drill2-");
  anvil = await withDevnetAnvil({ extraArgs: ["--no-mining"] });
  await anvil.mine(2);
  proxy = await startRpcProxy({ upstream: anvil.url });
  miner = startMiner(anvil);
});

afterEach(async () => {
  await miner?.stop().catch(() => {});
  miner = undefined;
  for (const f of feeds.splice(0)) f.close();
  for (const p of procs.splice(0)) await p.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  dir.remove();
});

const dataDir = () => join(dir.path, "data");

async function startSeq(env: Record<string, string> = {}): Promise<SequencerProcess> {
  const p = await startSequencerProcess({
    rpcUrl: proxy.url,
    dataDir: dataDir(),
    env: { SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100", ...env },
  });
  procs.push(p);
  return p;
}

function feedOf(url: string, query: string): FeedClient {
  const f = subscribe(url, query);
  feeds.push(f);
  return f;
}

async function op(seq: SequencerProcess, nonce: number): Promise<{ status: number; json: any; body: unknown }> {
  const body = await signOp(KEY, { nonce, maxFee: 1409, data: transferData(BigInt(1000 + nonce), TO) });
  return { ...(await postTx(seq.url, body)), body };
}

async function rpc(method: string, params: unknown[]): Promise<unknown> {
  return anvil.publicClient.request({ method: method as never, params: params as never });
}

async function setBlockGasLimit(n: number): Promise<void> {
  await rpc("evm_setBlockGasLimit", [`0x${n.toString(16)}`]);
}

async function receiptOrNull(hash: Hex) {
  return anvil.publicClient.getTransactionReceipt({ hash }).catch((e: unknown) => {
    if ((e as Error).name === "TransactionReceiptNotFoundError") return null;
    throw e;
  });
}

const submitterAddress = () => anvil.deployment.batchSubmitter;
const walletCount = (blockTag: "latest" | "pending") =>
  anvil.publicClient.getTransactionCount({ address: submitterAddress(), blockTag });

/** Reads the sequencer's database (read-only; the process may be dead or alive). */
function dbAll<T>(sql: string): T[] {
  const db = new Database(join(dataDir(), DB_FILE_NAME), { readonly: true });
  try {
    return db.query(sql).all() as T[];
  } finally {
    db.close();
  }
}

const recoveryPhase = () => dbAll<{ phase: string; flushSafeBlock: number | null }>(
  "SELECT phase, flush_safe_block AS flushSafeBlock FROM recovery_state",
)[0] ?? null;
const generations = () => dbAll<{ generation: number; truncatedAtOffset: number }>(
  "SELECT generation, truncated_at_offset AS truncatedAtOffset FROM recovery_generations ORDER BY generation",
);

const logsOf = (seq: SequencerProcess, msg: string) => seq.logs.filter((l) => l.msg === msg);
const waitLog = (seq: SequencerProcess, msg: string, timeoutMs = 30_000) =>
  until(() => seq.logs.find((l) => l.msg === msg), timeoutMs, `log "${msg}"`) as Promise<Record<string, any>>;
const logIndex = (seq: SequencerProcess, msg: string) => seq.logs.findIndex((l) => l.msg === msg);

/**
 * Applies a feed recording the way a subscriber does: a rollback truncates, every other message
 * must carry exactly the next offset (no gap, no duplicate). Returns the resulting history.
 */
function replayFeed(messages: readonly any[]): { entries: any[]; generation: number; rollbacks: number } {
  const entries: any[] = [];
  let generation = 0;
  let rollbacks = 0;
  for (const m of messages) {
    if (m.kind === "rollback") {
      expect(m.offset).toBeLessThanOrEqual(entries.length);
      expect(m.generation).toBeGreaterThan(generation);
      entries.length = m.offset;
      generation = m.generation;
      rollbacks++;
      continue;
    }
    expect(m.offset).toBe(entries.length);
    entries.push(m);
  }
  return { entries, generation, rollbacks };
}

/** The history from a feed: dense offsets, the deposit once, the op once (after its resubmission). */
function expectConsistentHistory(messages: readonly any[], opHash: string): any[] {
  const { entries } = replayFeed(messages);
  expect(entries.filter((e) => e.kind === "direct_input" && e.input_index === 0).length).toBe(1);
  expect(entries.filter((e) => e.kind === "user_op" && e.tx_hash === opHash).length).toBe(1);
  return entries;
}

/**
 * Runs the real CLI: export the app's L1 inputs, then verify them offline against the feed —
 * and against the sequencer's finalized app state (rebuilt after the rollback) when it has one.
 */
async function exportAndVerify(messages: readonly any[], seq?: SequencerProcess): Promise<any> {
  const stateArgs: string[] = [];
  if (seq) {
    const res = await fetch(`${seq.internalUrl}/finalized_state`);
    if (res.status === 200) {
      const stateFile = join(dir.path, "state.bin");
      writeFileSync(stateFile, new Uint8Array(await res.arrayBuffer()));
      stateArgs.push("--state", stateFile, "--state-l2-tx-index", res.headers.get("x-l2-tx-index")!);
    } else {
      await res.body?.cancel();
    }
  }
  const r = await exportAndVerifyCli({ anvil, workDir: dir.path, feedMessages: messages, extraVerifyArgs: stateArgs });
  const report = r.report;
  expect(r.exportCode).toBe(0);
  expect({ code: r.verifyCode, match: report.match, pending: report.pending_feed_entries }).toEqual({ code: 0, match: true, pending: 0 });
  expect(report.feed.compared).toBe(replayFeed(messages).entries.length);
  if (stateArgs.length > 0) expect(report.state_match).toBe(true);
  report.state_checked = stateArgs.length > 0;
  return report;
}

interface Zombie {
  batchNonce: number;
  walletNonce: number;
  hash: Hex;
}

/**
 * A deposit, then an op, both soft-confirmed; every batch up to the op's is sealed and
 * broadcast while nothing mines, then pinned in the mempool by the block gas limit.
 */
async function depositAndZombies(seq: SequencerProcess, feed: FeedClient) {
  await miner!.pause();
  const wallet = anvil.walletClient(2);
  const deposit = await wallet.writeContract({
    address: anvil.deployment.etherPortal,
    abi: etherPortalAbi,
    functionName: "depositEther",
    args: [anvil.deployment.application, "0x"],
    value: 10n ** 18n,
  });
  // Mine by hand until the lane drained the deposit; the batch closes after that.
  const before = feed.messages.length;
  await until(async () => {
    if (feed.messages.length > before) return true;
    await anvil.mine(1);
    await Bun.sleep(150);
    return feed.messages.length > before;
  }, 20_000, "deposit drained");
  expect((await receiptOrNull(deposit))?.status).toBe("success");
  expect(feed.messages[before]).toMatchObject({ kind: "direct_input", input_index: 0 });
  const first = await op(seq, 0);
  expect(first.status).toBe(200);
  const opBatch = (await getJson(`${seq.url}/tx/${first.json.tx_hash}`)).json.batch_nonce as number;
  const sent = (await until(() => {
    const byNonce = new Map<number, Record<string, any>>();
    for (const l of logsOf(seq, "batch broadcast")) if (!byNonce.has(l.batch_nonce as number)) byNonce.set(l.batch_nonce as number, l);
    for (let n = 0; n <= opBatch; n++) if (!byNonce.has(n)) return null;
    return byNonce;
  }, 15_000, "every batch broadcast"))!;
  await setBlockGasLimit(ZOMBIE_BLOCK_GAS_LIMIT);
  const zombies: Zombie[] = [];
  for (let n = 0; n <= opBatch; n++) {
    const l = sent.get(n)!;
    const tx = await anvil.publicClient.getTransaction({ hash: l.l1_tx_hash as Hex });
    expect(tx.gas).toBeGreaterThan(BigInt(ZOMBIE_BLOCK_GAS_LIMIT));
    zombies.push({ batchNonce: n, walletNonce: l.wallet_nonce as number, hash: l.l1_tx_hash as Hex });
  }
  miner!.resume();
  await anvil.mine(3);
  for (const z of zombies) expect(await receiptOrNull(z.hash)).toBeNull();
  expect(await walletCount("pending")).toBe((await walletCount("latest")) + zombies.length);
  return { first, opBatch, zombies };
}

/**
 * Every batch transaction the first process broadcast before it went offline (the doomed
 * batches' transactions, replacements included): none may ever land. Returns how many.
 */
async function expectNoBatchLanded(seq: SequencerProcess): Promise<number> {
  const cut = logIndex(seq, "going offline for liveness recovery");
  const before = cut < 0 ? seq.logs : seq.logs.slice(0, cut);
  const hashes = new Set(before.filter((l) => l.msg === "batch broadcast").map((l) => l.l1_tx_hash as Hex));
  for (const h of hashes) expect(await receiptOrNull(h)).toBeNull();
  return hashes.size;
}

/** Restores the block gas limit and mines: a zombie that survived the flush would land now. */
async function restoreGasAndMine(): Promise<void> {
  await setBlockGasLimit(NORMAL_BLOCK_GAS_LIMIT);
  await anvil.mine(3);
}

/** The op is invalidated, the user's nonce is back, the same bytes are accepted again and land. */
async function resubmitAndLand(seq: SequencerProcess, first: { json: any; body: unknown }): Promise<void> {
  expect((await getJson(`${seq.url}/tx/${first.json.tx_hash}`)).json.status).toBe("invalidated");
  expect((await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce).toBe(0);
  const again = await postTx(seq.url, first.body);
  expect(again.status).toBe(200);
  expect(again.json.tx_hash).toBe(first.json.tx_hash);
  try {
    await until(
      async () => ["safe", "finalized"].includes((await getJson(`${seq.url}/tx/${again.json.tx_hash}`)).json.status),
      30_000,
      "resubmitted op safe",
    );
  } catch (e) {
    // A rare timeout here (2 in ~15 runs of (d2); once in (d3) on 2026-12-04, where the
    // submitter's first tick failed eth_estimateGas under the drill's 50k block gas limit and
    // nothing was broadcast in the 30 s after the limit was restored): print what the
    // sequencer and the chain saw, warnings and errors in full, so the cause can be found.
    console.log("op status:", JSON.stringify((await getJson(`${seq.url}/tx/${again.json.tx_hash}`)).json));
    console.log("batches:", JSON.stringify((await getJson(`${seq.internalUrl}/batches`)).json));
    const block = await anvil.publicClient.getBlock();
    console.log("chain:", JSON.stringify({ block: Number(block.number), gas_limit: Number(block.gasLimit), latest: await walletCount("latest"), pending: await walletCount("pending") }));
    for (const l of seq.logs.slice(-60)) {
      const line = JSON.stringify(l);
      console.log("sequencer log:", l.level === "info" || l.level === "debug" ? line.slice(0, 400) : line.slice(0, 4000));
    }
    throw e;
  }
}

async function batchStates(seq: SequencerProcess): Promise<[number, string][]> {
  const batches = (await getJson(`${seq.internalUrl}/batches`)).json.batches as { nonce: number; state: string }[];
  return batches.map((b) => [b.nonce, b.state]);
}

/** Feed resumption across a restart: from where the old recording stopped, with its generation. */
function reconnect(seq: SequencerProcess, old: readonly any[]): FeedClient {
  const r = replayFeed(old);
  return feedOf(seq.url, `?from_offset=${r.entries.length}&generation=${r.generation}`);
}

/** While the recovery cannot finish, ops and readiness are refused (checked a few times). */
async function expectRefusedWhileRecovering(seq: SequencerProcess): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const refused = await op(seq, 1);
    expect(refused.status).toBe(503);
    expect(refused.json.message).toMatch(/^recovering/);
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(503);
    await Bun.sleep(300);
  }
}

/**
 * The common end of the crash drills: one generation and no recovery under way; no doomed
 * batch transaction ever lands; a subscriber of the killed process resumes on the restarted
 * one and sees the cut exactly once (first, when `rollbackFirst`); the op lands again; the
 * resumed and a fresh feed agree; export + verify match. Returns the verify report.
 */
async function expectRecoveredAcrossRestart(o: {
  seq1: SequencerProcess;
  seq2: SequencerProcess;
  feed1: FeedClient;
  first: { json: any; body: unknown };
  zombies: { hash: Hex }[];
  rollbackFirst: boolean;
}): Promise<any> {
  expect(generations().length).toBe(1);
  expect(recoveryPhase()).toBeNull();
  await restoreGasAndMine();
  for (const z of o.zombies) expect(await receiptOrNull(z.hash)).toBeNull();
  await expectNoBatchLanded(o.seq1);

  const feed2 = reconnect(o.seq2, o.feed1.messages);
  await resubmitAndLand(o.seq2, o.first);
  const fresh = feedOf(o.seq2.url, "?from_offset=0");
  const combined = () => [...o.feed1.messages, ...feed2.messages];
  await until(() => replayFeed(combined()).entries.length >= 2 && fresh.messages.length >= 2, 10_000, "feeds caught up");
  if (o.rollbackFirst) expect(feed2.messages[0]).toEqual({ kind: "rollback", offset: 0, generation: 1 });
  // The rollback reached the old subscriber before the kill, or the reconnect carries it.
  expect(combined().filter((m) => m.kind === "rollback")).toEqual([{ kind: "rollback", offset: 0, generation: 1 }]);
  const entries = expectConsistentHistory(combined(), o.first.json.tx_hash);
  expect(expectConsistentHistory(fresh.messages, o.first.json.tx_hash)).toEqual(entries);
  return exportAndVerify(combined(), o.seq2);
}

function report(drill: string, fields: Record<string, unknown>): void {
  console.log(`drill ${drill}: ${Object.entries(fields).map(([k, v]) => `${k} ${v}`).join("; ")}`);
}

describe("recovery drills (b)-(d)", () => {
  test("(b) batch transactions in the mempool when danger strikes are settled by the flush", async () => {
    const seq = await startSeq();
    const feed = feedOf(seq.url, "?from_offset=0");
    const { first, opBatch, zombies } = await depositAndZombies(seq, feed);

    await anvil.mine(1000);
    const offline = await waitLog(seq, "going offline for liveness recovery");
    expect(String(offline.reason)).toMatch(/^batch 0 \(sealed\)/);
    const refused = await op(seq, 1);
    expect(refused.status).toBe(503);
    expect(refused.json.message).toMatch(/^recovering/);
    const back = await waitLog(seq, "back online after liveness recovery");
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(200);

    // The flush replaced every zombie with a self-transfer at the same wallet nonce.
    const flushed = logsOf(seq, "wallet flushed")[0]!;
    expect(flushed.replaced).toBeGreaterThanOrEqual(zombies.length);
    const selfTransfers = logsOf(seq, "flush: self-transfer broadcast");
    for (const z of zombies) {
      const st = selfTransfers.filter((l) => l.wallet_nonce === z.walletNonce);
      expect(st.length).toBeGreaterThan(0);
      expect(st[0]!.replacing_known).toBe(true);
      const landed = (await Promise.all(st.map((l) => receiptOrNull(l.l1_tx_hash as Hex)))).filter((r) => r !== null);
      expect(landed.length).toBe(1);
      const tx = await anvil.publicClient.getTransaction({ hash: landed[0]!.transactionHash });
      expect([tx.nonce, tx.to?.toLowerCase(), tx.value]).toEqual([z.walletNonce, submitterAddress().toLowerCase(), 0n]);
      expect(landed[0]!.blockNumber).toBeLessThanOrEqual(BigInt(flushed.safe_block as number));
    }
    // The zombies are gone for good: blocks big enough for them again, still no receipt.
    await restoreGasAndMine();
    for (const z of zombies) {
      expect(await receiptOrNull(z.hash)).toBeNull();
      expect(await anvil.publicClient.getTransaction({ hash: z.hash }).catch(() => null)).toBeNull();
    }
    const broadcasts = await expectNoBatchLanded(seq);

    const cascade = logsOf(seq, "cascade invalidated the doomed batches")[0]!;
    expect(cascade.first_invalid_nonce).toBe(0);
    expect(back.generation).toBe(1);
    expect(back.invalidated_ops).toBe(1);
    expect(back.redrained_inputs).toBe(1);
    expect(back.invalidated_batches).toBeGreaterThanOrEqual(opBatch + 1);
    const states = await batchStates(seq);
    for (let n = 0; n <= opBatch; n++) expect(states.find(([nonce]) => nonce === n)?.[1]).toBe("invalidated");

    // The feed: rollback to 0, then the deposit again (never lost).
    await until(() => feed.messages.some((m) => m.kind === "rollback"), 10_000, "rollback on the feed");
    const rb = feed.messages.findIndex((m) => m.kind === "rollback");
    expect(feed.messages[rb]).toEqual({ kind: "rollback", offset: 0, generation: 1 });
    await until(() => feed.messages.length > rb + 1, 10_000, "the re-drained deposit");
    expect(feed.messages[rb + 1]).toMatchObject({ kind: "direct_input", offset: 0, input_index: 0 });

    await resubmitAndLand(seq, first);
    expectConsistentHistory(feed.messages, first.json.tx_hash);
    expect(generations().length).toBe(1);
    const rep = await exportAndVerify(feed.messages, seq);
    report("(b)", {
      "time offline (ms)": back.offline_ms,
      "zombie batch txs": `${zombies.length} (${broadcasts} broadcasts), none landed`,
      "self-transfers": flushed.replaced,
      "batches invalidated": back.invalidated_batches,
      "ops invalidated": back.invalidated_ops,
      "deposits kept": back.redrained_inputs,
      "state checked": rep.state_checked,
    });
  }, 120_000);

  test("(c) a batch that lands stale: skipped by the scheduler, detected at startup, cascaded from its nonce", async () => {
    const seq1 = await startSeq();
    const feed1 = feedOf(seq1.url, "?from_offset=0");
    const { first, zombies } = await depositAndZombies(seq1, feed1);
    const firstSafeBlock = (await getJson(`${seq1.internalUrl}/batches`)).json.batches[0].first_safe_block as number;
    await seq1.kill9();

    // While the sequencer is down, L1 moves on far past the scheduler's limit; then the zombie
    // batch transactions fit in a block again and land — stale.
    await miner!.pause();
    await anvil.mine(1300);
    await setBlockGasLimit(NORMAL_BLOCK_GAS_LIMIT);
    await anvil.mine(1);
    const r0 = (await receiptOrNull(zombies[0]!.hash))!;
    expect(r0.status).toBe("success");
    const inclusionAge = Number(r0.blockNumber) - firstSafeBlock;
    expect(inclusionAge).toBeGreaterThanOrEqual(MAX_WAIT_BLOCKS);
    miner!.resume();

    const restartedAt = Date.now();
    const seq2 = await startSeq();
    // The startup decision took the sequencer offline before it served anything.
    const offline = logIndex(seq2, "going offline for liveness recovery");
    expect(offline).toBeGreaterThanOrEqual(0);
    expect(offline).toBeLessThan(logIndex(seq2, "sequencer ready"));
    expect(String(seq2.logs[offline]!.reason)).toMatch(/^batch 0 \(sealed\)/);
    const back = await waitLog(seq2, "back online after liveness recovery");
    // The flush found every slot consumed (the zombies landed) and had nothing to replace.
    expect(logsOf(seq2, "wallet flushed")[0]).toMatchObject({ replaced: 0 });
    const onlineAfterRestartMs = Date.now() - restartedAt;

    // The reader judged the landing as the scheduler does: stale, nonce 0 not consumed.
    const landings = dbAll<{ verdict: string; batchNonce: number | null; detail: string | null }>(
      "SELECT verdict, batch_nonce AS batchNonce, detail FROM batch_landings ORDER BY input_index",
    );
    expect(landings[0]).toMatchObject({ verdict: "stale", batchNonce: 0 });
    expect(landings.some((l) => l.verdict === "accepted")).toBe(false);
    const cascade = logsOf(seq2, "cascade invalidated the doomed batches")[0]!;
    expect(cascade.first_invalid_nonce).toBe(0);
    expect(back.generation).toBe(1);
    expect(back.invalidated_ops).toBe(1);
    expect(back.redrained_inputs).toBe(1);
    expect((await batchStates(seq2))[0]).toEqual([0, "invalidated"]);

    // A subscriber of the dead process reconnects with its position and generation: it learns
    // of the cut first, then follows the new history.
    const feed2 = reconnect(seq2, feed1.messages);
    await feed2.waitFor(1, 10_000);
    expect(feed2.messages[0]).toEqual({ kind: "rollback", offset: 0, generation: 1 });
    await resubmitAndLand(seq2, first);
    const fresh = feedOf(seq2.url, "?from_offset=0");
    const combined = () => [...feed1.messages, ...feed2.messages];
    await until(() => replayFeed(combined()).entries.length >= 2 && fresh.messages.length >= 2, 10_000, "feeds caught up");
    const entries = expectConsistentHistory(combined(), first.json.tx_hash);
    expect(expectConsistentHistory(fresh.messages, first.json.tx_hash)).toEqual(entries);
    const accepted = dbAll<{ n: number }>("SELECT COUNT(*) AS n FROM batch_landings WHERE verdict = 'accepted'")[0]!.n;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(generations().length).toBe(1);
    const rep = await exportAndVerify(combined(), seq2);
    expect(rep.batches.stale).toBeGreaterThanOrEqual(1);
    report("(c)", {
      "stale landing age (blocks)": inclusionAge,
      "time offline (ms, recovery)": back.offline_ms,
      "restart to online (ms)": onlineAfterRestartMs,
      "batches invalidated": back.invalidated_batches,
      "ops invalidated": back.invalidated_ops,
      "deposits kept": back.redrained_inputs,
      "verify stale batches skipped": rep.batches.stale,
      "state checked": rep.state_checked,
    });
  }, 120_000);

  test("(d1) kill -9 during the flush; the restart resumes the flush before serving", async () => {
    const seq1 = await startSeq();
    const feed1 = feedOf(seq1.url, "?from_offset=0");
    const { first, zombies } = await depositAndZombies(seq1, feed1);
    // No replacement can reach the node: the flush cannot finish.
    await proxy.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"] });
    await anvil.mine(1000);
    const wentOffline = Date.now();
    await waitLog(seq1, "going offline for liveness recovery");
    await waitLog(seq1, "flush: wallet view");
    await until(() => proxy.count({ method: "eth_sendRawTransaction", outcome: "drop" }) > 0, 15_000, "a flush broadcast dropped");
    expect((await op(seq1, 1)).status).toBe(503);
    await seq1.kill9();
    expect(recoveryPhase()).toMatchObject({ phase: "flushing", flushSafeBlock: null });
    expect(generations()).toEqual([]);
    for (const z of zombies) expect(await receiptOrNull(z.hash)).toBeNull();

    const seq2 = await startSeq();
    const resumed = logIndex(seq2, "resuming an interrupted recovery");
    expect(resumed).toBeGreaterThanOrEqual(0);
    expect(resumed).toBeLessThan(logIndex(seq2, "sequencer ready"));
    expect(seq2.logs[resumed]!.phase).toBe("flushing");
    // Still unable to flush: offline, and it stays so.
    await expectRefusedWhileRecovering(seq2);
    expect(logsOf(seq2, "back online after liveness recovery").length).toBe(0);
    await proxy.setMode({ kind: "pass" });
    const back = await waitLog(seq2, "back online after liveness recovery");
    const offlineMs = Date.now() - wentOffline;

    expect(back.generation).toBe(1);
    expect(back.invalidated_ops).toBe(1);
    expect(back.redrained_inputs).toBe(1);
    expect(logsOf(seq1, "cascade invalidated the doomed batches").length + logsOf(seq2, "cascade invalidated the doomed batches").length).toBe(1);
    const rep = await expectRecoveredAcrossRestart({ seq1, seq2, feed1, first, zombies, rollbackFirst: true });
    report("(d1)", {
      "time offline (ms, incl. crash, restart and the blocked flush)": offlineMs,
      "recovery after restart (ms)": back.offline_ms,
      "ops invalidated": back.invalidated_ops,
      "deposits kept": back.redrained_inputs,
      generations: generations().length,
      "state checked": rep.state_checked,
    });
  }, 120_000);

  test("(d2) kill -9 after the flush, before the cascade; the restart cascades once without flushing again", async () => {
    const seq1 = await startSeq();
    const feed1 = feedOf(seq1.url, "?from_offset=0");
    const { first, zombies } = await depositAndZombies(seq1, feed1);
    // The reader must not get past the head reached by the 1000 blocks: the flush's
    // transactions land above it, so the cascade (which needs the reader at the flush's safe
    // block) has to wait. Hanging every eth_getLogs once "going offline" was logged raced a
    // fast flush (the reader slipped past about once in 15 runs). Now no transaction fits in
    // those 1000 blocks (the danger, and so the flush, may start while they are mined), the
    // limit is in place before any block can hold the flush, and only then do blocks take
    // transactions again.
    await miner!.pause();
    await setBlockGasLimit(NO_TX_BLOCK_GAS_LIMIT);
    await anvil.mine(1000);
    const dangerHead = Number(await anvil.publicClient.request({ method: "eth_blockNumber" }));
    proxy.getLogsHangAbove = dangerHead;
    await setBlockGasLimit(ZOMBIE_BLOCK_GAS_LIMIT);
    miner!.resume();
    const wentOffline = Date.now();
    await waitLog(seq1, "going offline for liveness recovery");
    const flushed = await waitLog(seq1, "wallet flushed");
    expect(flushed.safe_block as number).toBeGreaterThan(dangerHead);
    await Bun.sleep(300);
    expect(logsOf(seq1, "cascade invalidated the doomed batches").length).toBe(0);
    await seq1.kill9();
    expect(recoveryPhase()).toEqual({ phase: "cascading", flushSafeBlock: flushed.safe_block as number });
    expect(generations()).toEqual([]);

    // Restart with eth_getLogs still failing (now fast: every range is "too large"): the
    // sequencer starts from its stored heads, resumes at the cascade, and cannot run it yet.
    proxy.getLogsMaxRange = 0;
    proxy.getLogsHangAbove = null;
    const seq2 = await startSeq();
    const resumed = logIndex(seq2, "resuming an interrupted recovery");
    expect(resumed).toBeGreaterThanOrEqual(0);
    expect(resumed).toBeLessThan(logIndex(seq2, "sequencer ready"));
    expect(seq2.logs[resumed]!.phase).toBe("cascading");
    await expectRefusedWhileRecovering(seq2);
    expect(logsOf(seq2, "cascade invalidated the doomed batches").length).toBe(0);
    proxy.getLogsMaxRange = null;
    const back = await waitLog(seq2, "back online after liveness recovery");
    const offlineMs = Date.now() - wentOffline;
    // The flush is not redone: its result is on record.
    expect(logsOf(seq2, "flush: wallet view").length).toBe(0);
    expect(logsOf(seq2, "wallet flushed").length).toBe(0);
    expect(back.generation).toBe(1);
    expect(back.invalidated_ops).toBe(1);
    expect(back.redrained_inputs).toBe(1);
    expect(logsOf(seq2, "cascade invalidated the doomed batches").length).toBe(1);
    const rep = await expectRecoveredAcrossRestart({ seq1, seq2, feed1, first, zombies, rollbackFirst: true });
    report("(d2)", {
      "time offline (ms, incl. crash and restart)": offlineMs,
      "recovery after restart (ms)": back.offline_ms,
      "ops invalidated": back.invalidated_ops,
      "deposits kept": back.redrained_inputs,
      generations: generations().length,
      "state checked": rep.state_checked,
    });
  }, 120_000);

  test("(d3) kill -9 right after the cascade committed; the restart does not cascade again", async () => {
    const seq1 = await startSeq();
    const feed1 = feedOf(seq1.url, "?from_offset=0");
    const { first, zombies } = await depositAndZombies(seq1, feed1);
    await anvil.mine(1000);
    const wentOffline = Date.now();
    const cascade = await waitLog(seq1, "cascade invalidated the doomed batches");
    await seq1.kill9();
    const phaseAtKill = recoveryPhase();
    const drainedAtKill = dbAll<{ n: number }>("SELECT COUNT(*) AS n FROM sequenced_l2_txs")[0]!.n;
    expect(generations()).toEqual([{ generation: 1, truncatedAtOffset: 0 }]);
    // The cascade's commit and the clearing of recovery_state run in one synchronous stretch
    // (rebuild, feed rollback, log): a real kill lands after both. Recreate the narrower crash
    // — cascade committed, marker still 'cascading' — on disk, as such a crash would leave it.
    let markerRestored = false;
    if (phaseAtKill === null) {
      const db = new Database(join(dataDir(), DB_FILE_NAME));
      try {
        db.query(
          "INSERT INTO recovery_state (id, phase, reason, started_at_ms, flush_safe_block) VALUES (1, 'cascading', ?, ?, ?)",
        ).run("drill (d3): crash between cascade and clearing the marker", Date.now(), logsOf(seq1, "wallet flushed")[0]!.safe_block as number);
      } finally {
        db.close();
      }
      markerRestored = true;
    }

    const seq2 = await startSeq();
    await until(async () => (await getJson(`${seq2.url}/readyz`)).status === 200, 30_000, "online");
    const offlineMs = Date.now() - wentOffline;
    // One recovery, one generation: the restart resumes at the cascade, finds nothing doomed
    // any more (the suffix is already invalidated) and comes online without cutting again.
    expect(seq2.logs.find((l) => l.msg === "resuming an interrupted recovery")?.phase).toBe("cascading");
    await waitLog(seq2, "no batch is doomed after the flush; resuming without invalidation");
    expect((await waitLog(seq2, "back online after liveness recovery")).invalidated_batches).toBe(0);
    await Bun.sleep(1500); // a danger check or two
    expect(logsOf(seq2, "cascade invalidated the doomed batches").length).toBe(0);
    expect(logsOf(seq2, "going offline for liveness recovery").length).toBe(1);
    const rep = await expectRecoveredAcrossRestart({ seq1, seq2, feed1, first, zombies, rollbackFirst: false });
    report("(d3)", {
      "time offline (ms, incl. crash and restart)": offlineMs,
      "recovery_state at kill": `${phaseAtKill?.phase ?? "cleared"}${markerRestored ? " (restored to 'cascading')" : ""}`,
      "history rows at kill": drainedAtKill,
      "ops invalidated": cascade.invalidated_ops,
      "deposits kept": cascade.redrained_inputs,
      generations: generations().length,
      "state checked": rep.state_checked,
    });
  }, 120_000);
});
