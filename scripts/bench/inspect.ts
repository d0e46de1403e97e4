/**
 * Inspect under load (issue #15): a real devnet (anvil + the sequencer as a child process),
 * this process as the load generator.
 *
 *   bun scripts/bench/inspect.ts [seconds per phase = 5] [rounds = 2] [paced rate = 2000]
 *
 * Phases, each `seconds` long, alternated `rounds` times so that drift hits all alike:
 *   tx alone           one /tx stream (sequential pre-signed transfers): ack latency
 *   tx + inspect       the stream beside 32 clients sending GET /inspect (a balance query),
 *                      paced together to `rate` requests a second
 *   tx + healthz       the stream beside 32 clients sending GET /healthz at the same rate:
 *                      what that HTTP rate costs /tx when no app runs at all
 *   tx + inspect max   the stream beside 32 inspect clients as fast as they are answered
 *   tx + healthz max   the stream beside 32 /healthz clients as fast as they are answered
 *   inspect alone      the 32 inspect clients only, as fast as answered
 * Prints p50/p95/p99 and throughput per phase; writes bench-results/inspect.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil } from "../../test/support/anvil.ts";
import { signOp, transferData } from "../../test/support/client.ts";
import { fundSenders } from "./lib/fund.ts";
import { startSequencerProcess, tempDir } from "../../test/support/sequencer.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 2);
const RATE = Number(process.argv[4] ?? 2000);
const CLIENTS = 32;

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}
function stats(lat: number[], secs: number) {
  const s = [...lat].sort((a, b) => a - b);
  return { n: s.length, per_s: Math.round(s.length / secs), p50_ms: +pct(s, 50).toFixed(3), p95_ms: +pct(s, 95).toFixed(3), p99_ms: +pct(s, 99).toFixed(3) };
}

const anvil = await withDevnetAnvil();
const dir = tempDir("seq-bench-inspect-");
const seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, env: { SEQ_LOG_LEVEL: "info", SEQ_INSPECT_QUEUE_CAPACITY: "256" } });
try {
  const [sender] = await fundSenders(anvil, seq.url, 1, () => {});
  const key = sender!.key;
  const account = privateKeyToAccount(key);

  const to = privateKeyToAccount(DEVNET_KEYS[3] as Hex).address.toLowerCase() as Hex;
  const perPhase = 8000; // a phase of /tx alone can ack 1,500 a second
  const txPhases = ROUNDS * 5;
  console.log(`signing ${perPhase * txPhases} ops…`);
  const bodies: string[] = [];
  for (let i = 0; i < perPhase * txPhases; i++) {
    bodies.push(JSON.stringify(await signOp(key, { nonce: i, maxFee: 1409, data: transferData(1n, to) })));
  }
  let next = 0;
  const query = `${seq.url}/inspect/00${account.address.slice(2).toLowerCase()}`;

  /** Runs `seconds` of the /tx stream; returns its ack latencies. */
  async function txStream(stop: () => boolean): Promise<number[]> {
    const lat: number[] = [];
    while (!stop() && next < bodies.length) {
      const t0 = performance.now();
      const r = await fetch(`${seq.url}/tx`, { method: "POST", body: bodies[next++]!, headers: { "content-type": "application/json" } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`/tx answered ${r.status}`);
      lat.push(performance.now() - t0);
    }
    return lat;
  }

  /** CLIENTS loops on `url`; `pace` ms between a client's requests (0: as fast as answered). */
  async function clients(url: string, stop: () => boolean, pace = 0): Promise<number[]> {
    const lat: number[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (!stop()) {
          const t0 = performance.now();
          const r = await fetch(url);
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
          lat.push(performance.now() - t0);
          if (pace > 0) await Bun.sleep(Math.max(0, pace - (performance.now() - t0)));
        }
      }),
    );
    return lat;
  }

  function until(ms: number): () => boolean {
    const end = performance.now() + ms;
    return () => performance.now() >= end;
  }

  const rows: Record<string, unknown>[] = [];
  const record = (phase: string, round: number, what: string, lat: number[]) => {
    const row = { phase, round, what, ...stats(lat, SECONDS) };
    rows.push(row);
    console.log(JSON.stringify(row));
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const ms = SECONDS * 1000;
    record("tx alone", round, "tx", await txStream(until(ms)));

    const pace = (1000 * CLIENTS) / RATE; // ms between one client's requests
    let stop = until(ms);
    const [txB, insB] = await Promise.all([txStream(stop), clients(query, stop, pace)]);
    record("tx + inspect", round, "tx", txB);
    record("tx + inspect", round, "inspect", insB);

    stop = until(ms);
    const [txC, hzC] = await Promise.all([txStream(stop), clients(`${seq.url}/healthz`, stop, pace)]);
    record("tx + healthz", round, "tx", txC);
    record("tx + healthz", round, "healthz", hzC);

    stop = until(ms);
    const [txD, insD] = await Promise.all([txStream(stop), clients(query, stop)]);
    record("tx + inspect max", round, "tx", txD);
    record("tx + inspect max", round, "inspect", insD);

    stop = until(ms);
    const [txE, hzE] = await Promise.all([txStream(stop), clients(`${seq.url}/healthz`, stop)]);
    record("tx + healthz max", round, "tx", txE);
    record("tx + healthz max", round, "healthz", hzE);

    record("inspect alone", round, "inspect", await clients(query, until(ms)));
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/inspect.json", JSON.stringify({ when: new Date().toISOString(), seconds: SECONDS, clients: CLIENTS, paced_rate: RATE, rows }, null, 2));
} finally {
  await seq.stop();
  await anvil.stop();
  dir.remove();
}
