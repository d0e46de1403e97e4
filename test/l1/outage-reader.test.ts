/**
 * L1 outages through the fault-injecting proxy (drop, 5xx, hang, delay, refuse), each lasting
 * ~2 s = 20 reader poll intervals. The sequencer talks to L1 only through the proxy; the test
 * makes deposits directly on anvil during each outage. Checked:
 *   - POST /tx keeps acknowledging during the outage;
 *   - the outage really stalled the reader (this outage's deposits are not in the feed yet);
 *   - afterwards every deposit is in the feed exactly once, in input-index order, and every
 *     acknowledged op exactly once;
 *   - each outage is logged once ("L1 unreachable") and its recovery once ("L1 reachable
 *     again"); a slow-but-answering node (delay) is not an outage;
 *   - the batch submitter (batches close every second) catches up too: what lands on L1 from
 *     the submitter key decodes to nonces 0..k, each once, and ops acked during outages reach
 *     L1 (status included or better).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseEventLogs, type Hex, type TransactionReceipt } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS, inputBoxAbi } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { startRpcProxy, type FaultMode, type ProxyOutcome, type RpcProxy } from "../support/rpc-proxy.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { submitterBatchesOnL1 } from "../support/l1-batches.ts";

const OUTAGE_MS = 2_000;
const KEY = DEVNET_KEYS[2] as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
const DEPOSITOR = 5;

let anvil: DevnetAnvil | undefined;
let proxy: RpcProxy | undefined;
let seq: SequencerProcess | undefined;
let feed: FeedClient | undefined;
let miner: ReturnType<typeof setInterval> | undefined;
const dir = tempDir();

let nextNonce = 0;
const acked: string[] = [];
const depositIndices: number[] = [];

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  proxy = await startRpcProxy({ upstream: anvil.url });
  seq = await startSequencerProcess({
    rpcUrl: proxy.url,
    dataDir: dir.path,
    env: {
      SEQ_INPUT_READER_POLL_INTERVAL_MS: "100",
      SEQ_MAX_BATCH_OPEN_SECONDS: "1",
      SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100",
    },
  });
  feed = subscribe(seq.url, "?from_offset=0");
  // A real chain keeps moving during the outages: a block every 200 ms, straight to anvil.
  const l1 = anvil;
  miner = setInterval(() => void l1.mine(1).catch(() => {}), 200);
  // Fund the op sender, and wait until the sequencer has credited it.
  depositIndices.push(inputIndexOf(await anvil.deposit(2, 10n ** 18n)));
  await until(() => directIndices().length === 1, 15_000, "the funding deposit in the feed");
}, 30_000);

afterAll(async () => {
  if (miner) clearInterval(miner);
  feed?.close();
  await seq?.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  dir.remove();
}, 30_000);

function inputIndexOf(r: TransactionReceipt): number {
  const [ev] = parseEventLogs({ abi: inputBoxAbi, eventName: "InputAdded", logs: r.logs });
  if (!ev) throw new Error(`no InputAdded in ${r.transactionHash}`);
  return Number(ev.args.index);
}

function directIndices(): number[] {
  return feed!.messages.filter((m) => m.kind === "direct_input").map((m) => m.input_index as number);
}

function opHashes(): string[] {
  return feed!.messages.filter((m) => m.kind === "user_op").map((m) => m.tx_hash as string);
}

function logCount(msg: string): number {
  return seq!.logs.filter((l) => l.msg === msg).length;
}

async function sendOp(): Promise<string> {
  const r = await postTx(seq!.url, await signOp(KEY, { nonce: nextNonce++, maxFee: 1409, data: transferData(1n, TO) }));
  expect(r.status).toBe(200);
  return r.json.tx_hash as string;
}

/**
 * Runs one outage: `mode` for OUTAGE_MS while ops are posted and deposits made on L1, then
 * back to pass, and checks catch-up and logging.
 */
async function outage(mode: FaultMode, faultOutcome: ProxyOutcome, isOutage: boolean): Promise<void> {
  const p = proxy!;
  const l1 = anvil!;
  const unreachableBefore = logCount("L1 unreachable");
  const reachableBefore = logCount("L1 reachable again");
  p.resetCounters();
  await p.setMode(mode);
  const t0 = Date.now();
  const ops: string[] = [];
  const deps: number[] = [];
  while (Date.now() - t0 < OUTAGE_MS) {
    ops.push(await sendOp()); // acknowledged while L1 is out
    deps.push(inputIndexOf(await l1.deposit(DEPOSITOR, 1_000_000n + BigInt(deps.length))));
    await Bun.sleep(300);
  }
  await Bun.sleep(Math.max(0, OUTAGE_MS - (Date.now() - t0)));
  // The acknowledged ops are in the feed at once: the hot path never waits for L1.
  for (const h of ops) expect(opHashes()).toContain(h);
  if (mode.kind !== "refuse") expect(p.count({ outcome: faultOutcome })).toBeGreaterThan(0);
  if (isOutage) {
    // The reader really was cut off: none of this outage's deposits got through.
    const seen = new Set(directIndices());
    expect(deps.filter((d) => seen.has(d))).toEqual([]);
  }
  await p.setMode({ kind: "pass" });

  acked.push(...ops);
  depositIndices.push(...deps);
  await until(
    () => {
      const seen = new Set(directIndices());
      return deps.every((d) => seen.has(d));
    },
    12_000,
    `the deposits of the ${mode.kind} outage in the feed`,
  );
  if (isOutage) {
    await until(() => logCount("L1 reachable again") > reachableBefore, 5_000, "the recovery log");
    expect(logCount("L1 unreachable")).toBe(unreachableBefore + 1);
    expect(logCount("L1 reachable again")).toBe(reachableBefore + 1);
    const rec = seq!.logs.filter((l) => l.msg === "L1 reachable again").at(-1)!;
    expect(rec.failed_attempts as number).toBeGreaterThan(0);
  } else {
    expect(logCount("L1 unreachable")).toBe(unreachableBefore);
    expect(logCount("L1 reachable again")).toBe(reachableBefore);
  }
}

describe("L1 outages behind the proxy", () => {
  test("drop: connections reset without an answer", () => outage({ kind: "drop" }, "drop", true), 15_000);
  test("5xx: the node answers 503", () => outage({ kind: "status5xx" }, "status5xx", true), 15_000);
  test("hang: the node never answers", () => outage({ kind: "hang" }, "hang", true), 15_000);
  test("refuse: nothing listens", () => outage({ kind: "refuse" }, "pass", true), 15_000);
  test("delay: every answer 300 ms late (3 poll intervals) is slow, not an outage", () =>
    outage({ kind: "delay", ms: 300 }, "delay", false), 15_000);

  test("only eth_sendRawTransaction dropped: batches wait unsent, then land once each", async () => {
    const p = proxy!;
    p.resetCounters();
    const unreachableBefore = logCount("L1 unreachable");
    await p.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"] });
    const ops: string[] = [];
    for (let i = 0; i < 3; i++) {
      ops.push(await sendOp());
      await Bun.sleep(1_100); // a batch closes every second
    }
    expect(p.count({ method: "eth_sendRawTransaction", outcome: "drop" })).toBeGreaterThan(0);
    // Nothing got out: the ops are durable here and not yet on L1.
    for (const h of ops) {
      expect((await getJson(`${seq!.url}/tx/${h}`)).json.status).toBe("soft_confirmed");
    }
    // A node failing one method while answering the rest is one outage, logged once.
    expect(logCount("L1 unreachable")).toBe(unreachableBefore + 1);
    await p.setMode({ kind: "pass" });
    acked.push(...ops);
    await until(() => logCount("L1 reachable again") >= logCount("L1 unreachable"), 15_000, "the recovery log");
  }, 30_000);

  test("afterwards: every deposit and op exactly once, in order; batches caught up, once each", async () => {
    const directs = directIndices();
    // Exactly once and in input-index order; the only direct inputs are our deposits.
    expect(directs).toEqual([...depositIndices].sort((a, b) => a - b));
    expect(new Set(opHashes()).size).toBe(opHashes().length);
    expect([...opHashes()].sort()).toEqual([...acked].sort());
    const offsets = feed!.messages.map((m) => m.offset as number);
    expect(offsets).toEqual([...Array(offsets.length).keys()]);
    // A fresh subscriber replaying from storage sees the same history.
    const replay = subscribe(seq!.url, "?from_offset=0");
    try {
      await replay.waitFor(feed!.messages.length, 10_000);
      expect(replay.messages.slice(0, feed!.messages.length)).toEqual(feed!.messages);
    } finally {
      replay.close();
    }

    // The submitter caught up as well: every op acked during an outage reached L1.
    for (const h of acked) {
      await until(
        async () => ["included", "safe", "finalized"].includes((await getJson(`${seq!.url}/tx/${h}`)).json.status),
        15_000,
        `op ${h} on L1`,
      );
    }
    const l1 = anvil!;
    const nonces = (await submitterBatchesOnL1(l1)).map((b) => Number(b.nonce));
    expect(nonces.length).toBeGreaterThan(0);
    expect(nonces).toEqual([...Array(nonces.length).keys()]);
    expect(seq!.logs.filter((l) => l.level === "error")).toEqual([]);
  }, 25_000);
});
