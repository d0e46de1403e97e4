/**
 * The load generator, run by scripts/bench/run.ts in its own process:
 *
 *   bun scripts/bench/loadgen.ts <config.json>
 *
 * It pre-signs every op of a section (and builds its request bytes) before timing it, then
 * drives `POST /tx` over keep-alive HTTP and listens to the WebSocket feed to time POST → feed.
 * The default client writes the pre-built requests to pooled TCP sockets (lib/http1.ts), which
 * leaves more of the shared CPU to the sequencer than `fetch` (config `client: "fetch"`).
 * It prints one JSON line per event on stdout (see lib/protocol.ts); human logs go to stderr.
 *
 * Nonces of one sender must arrive in order, so each closed-loop stream owns a sender, and in
 * the open loop a sender never has two ops in flight: a send that falls due while the same
 * sender is busy waits for its ack (counted as `delayed_sends`). Open-loop latency is measured
 * from the *scheduled* send time, so such waits and any server stall count against the server
 * (no coordinated omission).
 */
import { readFileSync } from "node:fs";
import { bytesToHex, hexToBytes } from "../../src/core/bytes.ts";
import { domainSeparator } from "../../src/core/eip712.ts";
import { buildRequest, Http1Pool } from "./lib/http1.ts";
import { type PreSignedOp, type SenderKey, signerName, signOp, transferData } from "./lib/ops.ts";
import type { LoadgenConfig, LoadgenMessage, OpenLoopRow, SweepRow } from "./lib/protocol.ts";
import { Samples, summarize } from "./lib/stats.ts";

const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as LoadgenConfig;

function emit(m: LoadgenMessage): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}
function log(msg: string): void {
  emit({ type: "log", msg });
}

const domSep = domainSeparator(BigInt(cfg.chainId), cfg.app as `0x${string}`);
const senders: SenderKey[] = cfg.senders.map((s) => ({ key: hexToBytes(s.key, 32), address: s.address.toLowerCase() }));
const data = transferData(1n, cfg.transferTo);
const dataHex = bytesToHex(data);
const TX_URL = `${cfg.url}/tx`;
const HEADERS = { "content-type": "application/json" };
const pool = cfg.client === "fetch" ? null : Http1Pool.fromUrl(cfg.url);

const feeRes = (await (await fetch(`${cfg.url}/fee`)).json()) as { fee: number; suggested_max_fee: number };
const maxFee = Math.max(feeRes.suggested_max_fee, feeRes.fee);

/** Next nonce per sender, as far as this process knows. */
const nonces: number[] = new Array(senders.length).fill(0);
let needsResync = true;

async function resyncNonces(): Promise<void> {
  if (!needsResync) return;
  await Promise.all(
    senders.map(async (s, i) => {
      const r = (await (await fetch(`${cfg.url}/nonce?sender=${s.address}`)).json()) as { next_nonce: number };
      nonces[i] = r.next_nonce;
    }),
  );
  needsResync = false;
}

// ---- signing --------------------------------------------------------------------------------

let signedCount = 0;
let signMs = 0;
interface ReadyOp extends PreSignedOp {
  /** The whole HTTP request, for the raw client. */
  req: Uint8Array | null;
}
function presign(sender: number, nonce: number): ReadyOp {
  const op = signOp(domSep, senders[sender]!, sender, nonce, maxFee, data, dataHex);
  return { ...op, req: pool === null ? null : buildRequest("POST", pool.hostHeader, "/tx", op.body) };
}
function timedSign<T>(f: () => T): T {
  const t = performance.now();
  const v = f();
  signMs += performance.now() - t;
  return v;
}

// ---- feed -----------------------------------------------------------------------------------

/** tx_hash → performance.now() at send; deleted when the feed event or an error arrives. */
const sentAt = new Map<string, number>();
const feedAll = new Samples(1 << 16);
let feedSection = new Samples(1024);
let feedSeen = 0;
let feedClosed: string | null = null;
const TX_HASH_KEY = '"tx_hash":"';

const ws = new WebSocket(`${cfg.url.replace(/^http/, "ws")}/ws/subscribe`);
await new Promise<void>((resolve, reject) => {
  ws.onopen = () => resolve();
  ws.onerror = () => reject(new Error("feed websocket failed to open"));
});
ws.onmessage = (m) => {
  const now = performance.now();
  const s = typeof m.data === "string" ? m.data : String(m.data);
  const i = s.indexOf(TX_HASH_KEY);
  if (i < 0) return;
  const h = s.slice(i + TX_HASH_KEY.length, i + TX_HASH_KEY.length + 66);
  const t = sentAt.get(h);
  if (t === undefined) return;
  sentAt.delete(h);
  feedAll.push(now - t);
  feedSection.push(now - t);
  feedSeen++;
};
ws.onclose = (e) => {
  feedClosed = `${e.code} ${e.reason}`;
};

/** Waits (bounded) until every accepted op of the section has shown up on the feed. */
async function settleFeed(expected: number, startSeen: number, timeoutMs = 3000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (feedSeen - startSeen < expected && performance.now() < end && feedClosed === null) await Bun.sleep(5);
}

// ---- HTTP -----------------------------------------------------------------------------------

async function post(op: ReadyOp): Promise<number> {
  try {
    if (op.req !== null) return (await pool!.request(op.req)).status;
    const r = await fetch(TX_URL, { method: "POST", body: op.body, headers: HEADERS });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0; // network error
  }
}

function countStatus(map: Record<string, number>, status: number): void {
  if (status === 200) return;
  const k = status === 0 ? "network_error" : String(status);
  map[k] = (map[k] ?? 0) + 1;
}

// ---- closed loop ----------------------------------------------------------------------------

async function closedLoop(c: number, perStream: number, label: string, report: boolean): Promise<SweepRow> {
  await resyncNonces();
  if (c > senders.length) throw new Error(`concurrency ${c} needs ${c} funded senders, have ${senders.length}`);
  const lists = timedSign(() =>
    Array.from({ length: c }, (_, s) => Array.from({ length: perStream }, (_, i) => presign(s, nonces[s]! + i))),
  );
  signedCount += c * perStream;
  const lat = new Samples(c * perStream);
  const errors: Record<string, number> = {};
  let ok = 0;
  let abandoned = 0;
  feedSection = new Samples(c * perStream);
  const seen0 = feedSeen;
  if (report) emit({ type: "phase", label, state: "start" });
  const t0 = performance.now();
  await Promise.all(
    lists.map(async (list, s) => {
      for (let i = 0; i < list.length; i++) {
        const op = list[i]!;
        const t = performance.now();
        sentAt.set(op.hash, t);
        const status = await post(op);
        lat.push(performance.now() - t);
        if (status === 200) {
          ok++;
          nonces[s]!++;
        } else {
          sentAt.delete(op.hash);
          countStatus(errors, status);
          // Later ops of this sender would only fail on the nonce: stop the stream.
          abandoned += list.length - i - 1;
          needsResync = true;
          break;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  if (report) emit({ type: "phase", label, state: "end", ok });
  await settleFeed(ok, seen0);
  return {
    concurrency: c,
    sent: lat.length,
    ok,
    errors_by_status: errors,
    abandoned,
    duration_s: Math.round(secs * 1000) / 1000,
    throughput_ops_s: Math.round(ok / secs),
    ack: summarize(lat.view()),
    feed: summarize(feedSection.view()),
  };
}

// ---- open loop ------------------------------------------------------------------------------

async function openLoop(rate: number, durationS: number, nSenders: number): Promise<OpenLoopRow> {
  await resyncNonces();
  const S = Math.min(nSenders, senders.length);
  const n = Math.max(1, Math.round(rate * durationS));
  const ops = timedSign(() => Array.from({ length: n }, (_, i) => presign(i % S, nonces[i % S]! + Math.floor(i / S))));
  signedCount += n;
  const label = `rate=${rate}`;
  const interval = 1000 / rate;
  const ack = new Samples(n);
  const svc = new Samples(n);
  const errors: Record<string, number> = {};
  const busy = new Uint8Array(S);
  const dead = new Uint8Array(S);
  const backlog: number[][] = Array.from({ length: S }, () => []);
  let ok = 0;
  let sent = 0;
  let abandoned = 0;
  let delayed = 0;
  let inflight = 0;
  let fired = 0;
  let lastDone = 0;
  feedSection = new Samples(n);
  const seen0 = feedSeen;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  let schedulingDone = false;

  emit({ type: "phase", label, state: "start" });
  const t0 = performance.now();
  const deadline = t0 + durationS * 3000 + 10_000;

  const send = (i: number): void => {
    const op = ops[i]!;
    const s = op.sender;
    busy[s] = 1;
    inflight++;
    sent++;
    const ts = performance.now();
    sentAt.set(op.hash, ts);
    void post(op).then((status) => {
      const now = performance.now();
      lastDone = now;
      inflight--;
      ack.push(now - (t0 + i * interval));
      svc.push(now - ts);
      busy[s] = 0;
      if (status === 200) {
        ok++;
        nonces[s]!++;
      } else {
        sentAt.delete(op.hash);
        countStatus(errors, status);
        dead[s] = 1;
        needsResync = true;
        abandoned += backlog[s]!.length;
        backlog[s]!.length = 0;
      }
      const next = backlog[s]!.shift();
      if (next !== undefined) send(next);
      if (schedulingDone && inflight === 0) finish();
    });
  };
  const dispatch = (i: number): void => {
    const s = i % S;
    if (dead[s]) {
      abandoned++;
      needsResync = true;
      return;
    }
    if (busy[s]) {
      delayed++;
      backlog[s]!.push(i);
      return;
    }
    send(i);
  };

  while (fired < n) {
    const now = performance.now();
    if (now > deadline) {
      // Could not even get the ops out: abandon the rest of the schedule.
      abandoned += n - fired;
      for (const b of backlog) {
        abandoned += b.length;
        b.length = 0;
      }
      needsResync = true;
      break;
    }
    const due = Math.min(n, Math.floor((now - t0) / interval) + 1);
    while (fired < due) dispatch(fired++);
    if (fired < n) await Bun.sleep(1);
  }
  schedulingDone = true;
  if (inflight === 0) finish();
  await finished;
  const secs = ((lastDone || performance.now()) - t0) / 1000;
  emit({ type: "phase", label, state: "end", ok });
  await settleFeed(ok, seen0);
  return {
    target_rate: rate,
    duration_s: Math.round(secs * 1000) / 1000,
    scheduled: n,
    sent,
    ok,
    errors_by_status: errors,
    rejections_429: errors["429"] ?? 0,
    abandoned,
    delayed_sends: delayed,
    achieved_rate: Math.round(ok / secs),
    ack: summarize(ack.view()),
    service: summarize(svc.view()),
    feed: summarize(feedSection.view()),
  };
}

// ---- main -----------------------------------------------------------------------------------

log(`signer: ${signerName}; max_fee ${maxFee}; ${senders.length} senders; http client ${cfg.client}`);
if (cfg.warmupOps > 0) {
  const c = Math.min(8, senders.length);
  const w = await closedLoop(c, Math.max(1, Math.ceil(cfg.warmupOps / c)), "warmup", false);
  log(`warm-up: ${w.ok}/${w.sent} ok, ${w.throughput_ops_s} ops/s, p50 ${w.ack.p50_ms} ms`);
}

for (const c of cfg.sweep.concurrency) {
  const perStream = Math.max(1, Math.ceil(Math.max(cfg.sweep.opsPerLevel, c * 8) / c));
  const row = await closedLoop(c, perStream, `c=${c}`, true);
  emit({ type: "sweep", row });
}

let knee: { rate: number | null; reason: string } = { rate: null, reason: "not reached" };
let prevP99: number | null = null;
for (const rate of cfg.openLoop.rates) {
  const row = await openLoop(rate, cfg.openLoop.durationS, cfg.openLoop.senders);
  emit({ type: "open_loop", row });
  const p99 = row.ack.p99_ms ?? 0;
  if (row.rejections_429 > 0) knee = { rate, reason: `${row.rejections_429} × 429 at ${rate} ops/s` };
  else if (prevP99 !== null && prevP99 > 0 && p99 > 10 * prevP99) {
    knee = { rate, reason: `p99 ${p99} ms > 10 × previous step's ${prevP99} ms` };
  } else if (row.achieved_rate < 0.9 * rate) {
    knee = { rate, reason: `saturated: achieved ${row.achieved_rate} of ${rate} ops/s` };
  } else if (row.abandoned > 0 && row.ok < row.scheduled) {
    knee = { rate, reason: `${row.abandoned} ops abandoned (errors or could not keep up)` };
  }
  if (knee.rate !== null) break;
  prevP99 = p99;
}

emit({
  type: "done",
  knee,
  feed_overall: summarize(feedAll.view()),
  feed_closed: feedClosed,
  signer: signerName,
  sign_rate_per_s: Math.round(signedCount / (signMs / 1000)),
});
ws.close();
pool?.close();
process.exit(0);
