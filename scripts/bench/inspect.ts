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
 *   tx + inspect own port  the same, the clients asking the follower worker's own listener
 *                      (SEQ_INSPECT_HTTP_ADDR): no inspect work on the lane's thread at all
 *   tx + healthz       the stream beside 32 clients sending GET /healthz at the same rate:
 *                      what that HTTP rate costs /tx when no app runs at all
 *   tx + inspect max   the stream beside 32 inspect clients as fast as they are answered
 *                      (and the same on the own port)
 *   tx + healthz max   the stream beside 32 /healthz clients as fast as they are answered
 *   inspect alone      the 32 inspect clients only, as fast as answered (and on the own port)
 * Prints p50/p95/p99 and throughput per phase; writes bench-results/inspect.json.
 * BENCH_SEQ_CPUS=0 runs the sequencer pinned to those CPUs (taskset -c); run this script
 * itself under `taskset -c 1` so the load generator does not share the sequencer's cores.
 * BENCH_ISOLATE_MAIN=1 separates the two costs the bound mixes on 2 shared cores: what inspect
 * costs the lane's main thread, and what the follower's CPU costs whoever shares its core.
 * The sequencer's main thread and this process (the sequential /tx client, which alternates
 * with the main thread rather than competing with it) are pinned to CPU 0; every other
 * thread this bench can reach (the sequencer's workers and runtime threads, anvil, the
 * neighbour clients) to CPU 1, re-applied every 500 ms for threads created later. It is what
 * a machine with a core for the lane and others for everything else gives without pinning.
 * BENCH_PHASES=paced runs only the three paced phases (the A/B of the bound), their
 * order rotated each round so that none always comes first.
 * The paced neighbours run in a child process (lib/neighbours.ts; BENCH_NEIGHBOURS=inline
 * keeps them in this one), after one unrecorded warm-up pass of each. Each paced phase also
 * records the sequencer's own view from /metrics: mean commit time (COMMIT with its fsync),
 * mean /tx handler time to acknowledgement, and the largest WAL size seen.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex, createPublicClient, createWalletClient, defineChain, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeTransfer } from "../../src/app/wallet-payloads.ts";
import { DEVNET_KEYS, etherPortalAbi } from "../../src/l1/contracts.ts";
import { signUserOp } from "../lib/user-op.ts";
import { readThreadCpuMs, threadCpuDelta } from "./lib/proc.ts";
import { readLines } from "../lib/lines.ts";
import { pacedClients } from "./lib/paced-clients.ts";
import { histogramTotals } from "./lib/report.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 2);
const RATE = Number(process.argv[4] ?? 2000);
const CLIENTS = 32;
const PACED_ONLY = process.env.BENCH_PHASES === "paced";
const KEY = DEVNET_KEYS[5] as Hex; // a public anvil development key, funded on the devnet

const ISOLATE = process.env.BENCH_ISOLATE_MAIN === "1";

/** The main thread of `pid` and this process on CPU 0; `pid`'s other threads and its children's on CPU 1. */
function isolateMainThread(pid: number): void {
  const tids = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).map(Number);
    } catch {
      return [];
    }
  };
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const set = (tid: number, cpu: number) => Bun.spawnSync(["taskset", "-p", "-c", String(cpu), String(tid)], { stdout: "ignore", stderr: "ignore" });
  for (const tid of tids(pid)) set(tid, tid === pid ? 0 : 1);
  for (const child of children(pid)) for (const tid of tids(child)) set(tid, 1);
  for (const tid of tids(process.pid)) set(tid, 0);
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}
function stats(lat: number[], secs: number) {
  const s = [...lat].sort((a, b) => a - b);
  return { n: s.length, per_s: Math.round(s.length / secs), p50_ms: +pct(s, 50).toFixed(3), p95_ms: +pct(s, 95).toFixed(3), p99_ms: +pct(s, 99).toFixed(3) };
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** `sequencer devnet` (anvil + the sequencer) as a child process, like an operator runs it. */
async function startDevnet(dataDir: string, anvilPort: number): Promise<{ url: string; internalUrl: string; inspectUrl: string; proc: ReturnType<typeof Bun.spawn> }> {
  const pin = process.env.BENCH_SEQ_CPUS ? ["taskset", "-c", process.env.BENCH_SEQ_CPUS] : [];
  const proc = Bun.spawn([...pin, process.execPath, join(import.meta.dir, "..", "..", "src", "cli", "main.ts"), "devnet"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? dataDir,
      SEQ_DATA_DIR: dataDir,
      SEQ_DEVNET_ANVIL_PORT: String(anvilPort),
      SEQ_HTTP_ADDR: "127.0.0.1:0",
      SEQ_INTERNAL_HTTP_ADDR: "127.0.0.1:0",
      SEQ_INSPECT_QUEUE_CAPACITY: "256",
      SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:0",
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = proc.stderr.getReader();
  let buf = "";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    for (const line of buf.split("\n")) {
      if (!line.includes('"sequencer ready"')) continue;
      const ready = JSON.parse(line) as { public_url: string; internal_url: string; inspect_url: string };
      void (async () => { while (!(await reader.read()).done); })(); // keep draining
      return { url: ready.public_url, internalUrl: ready.internal_url, inspectUrl: ready.inspect_url, proc };
    }
  }
  proc.kill();
  throw new Error(`the devnet did not become ready:\n${buf.slice(-2000)}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "seq-bench-inspect-"));
const anvilPort = await freePort();
const { url, internalUrl, inspectUrl, proc } = await startDevnet(dataDir, anvilPort);

/**
 * Server-side totals so far, from /metrics: the lane's commit time (seq_lane_commit_seconds,
 * COMMIT with its fsync) and the /tx handler's time to acknowledgement (seq_tx_ack_seconds).
 * Their means per phase tell the sequencer's share of a /tx latency from the client's.
 */
async function serverTotals(): Promise<{ commitSum: number; commits: number; ackSum: number; acks: number }> {
  const lines = (await (await fetch(`${internalUrl}/metrics`)).text()).split("\n");
  const commit = histogramTotals(lines, "seq_lane_commit_seconds");
  const ack = histogramTotals(lines, "seq_tx_ack_seconds");
  return { commitSum: commit?.sum ?? Number.NaN, commits: commit?.count ?? Number.NaN, ackSum: ack?.sum ?? Number.NaN, acks: ack?.count ?? Number.NaN };
}
const seq = { url };
let isolation: ReturnType<typeof setInterval> | undefined;
if (ISOLATE) {
  const pin = () => isolateMainThread(proc.pid);
  pin();
  isolation = setInterval(pin, 500);
}
try {
  const info = (await (await fetch(`${url}/info`)).json()) as { chain_id: number; app_address: Hex; ether_portal_address: Hex };
  const account = privateKeyToAccount(KEY);
  const rpc = `http://127.0.0.1:${anvilPort}`;
  const chain = defineChain({ id: info.chain_id, name: "devnet", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpc] } } });
  const hash = await createWalletClient({ account, chain, transport: http(rpc) }).writeContract({
    address: info.ether_portal_address,
    abi: etherPortalAbi,
    functionName: "depositEther",
    args: [info.app_address, "0x"],
    value: 10n ** 17n,
  });
  await createPublicClient({ chain, transport: http(rpc) }).waitForTransactionReceipt({ hash });
  // the devnet mines a block a second; the deposit is credited once L1 marks it safe
  const sender = account.address.toLowerCase();
  for (let i = 0; ; i++) {
    const r = (await (await fetch(`${url}/inspect/00${sender.slice(2)}`)).json()) as { reports?: { payload: string }[] };
    if (r.reports?.[0] && BigInt(r.reports[0].payload.slice(0, 66)) > 0n) break;
    if (i > 120) throw new Error("the deposit was not credited in 60 s");
    await Bun.sleep(500);
  }
  const key = KEY;

  const to = privateKeyToAccount(DEVNET_KEYS[3] as Hex).address.toLowerCase() as Hex;
  const transfer = bytesToHex(encodeTransfer(1n, to));
  const perPhase = 8000; // a phase of /tx alone can ack 1,500 a second
  const txPhases = ROUNDS * (PACED_ONLY ? 3 : 7);
  console.log(`signing ${perPhase * txPhases} ops…`);
  const bodies: string[] = [];
  for (let i = 0; i < perPhase * txPhases; i++) {
    bodies.push(JSON.stringify(await signUserOp(key, { nonce: i, maxFee: 1409, data: transfer }, BigInt(info.chain_id), info.app_address)));
  }
  let next = 0;
  const query = `${seq.url}/inspect/00${account.address.slice(2).toLowerCase()}`;
  // the same query to the follower worker's own listener (SEQ_INSPECT_HTTP_ADDR)
  const ownQuery = `${inspectUrl}/inspect/00${account.address.slice(2).toLowerCase()}`;

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
    const { lat, failed } = await pacedClients(url, CLIENTS, stop, pace);
    if (failed) throw new Error(failed);
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
  const pace = (1000 * CLIENTS) / RATE; // ms between one client's requests
  /**
   * The paced neighbours in a child process (lib/neighbours.ts), so that their answers do not
   * share the event loop that times /tx. BENCH_NEIGHBOURS=inline runs them in this process,
   * as before (that mixes the load generator's own queueing into the /tx figures).
   */
  async function pacedNeighbours(target: string, ms: number): Promise<{ tx: number[]; lat: number[]; cpuMs: number }> {
    if (process.env.BENCH_NEIGHBOURS === "inline") {
      const stop = until(ms);
      const self0 = process.cpuUsage();
      const [tx, lat] = await Promise.all([txStream(stop), clients(target, stop, pace)]);
      const self = process.cpuUsage(self0);
      return { tx, lat, cpuMs: Math.round((self.user + self.system) / 1000) };
    }
    const child = Bun.spawn([...(ISOLATE ? ["taskset", "-c", "1"] : []), process.execPath, join(import.meta.dir, "lib", "neighbours.ts"), target, String(CLIENTS), String(pace), String(ms / 1000)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const lines = readLines(child.stdout);
      if ((await lines.next()).value !== "ready") throw new Error("the neighbour process did not start");
      child.stdin.write("go\n");
      child.stdin.flush();
      const tx = await txStream(until(ms));
      const out = JSON.parse((await lines.next()).value ?? "null") as { failed: string | null; lat: number[]; cpu_ms: number } | null;
      if (!out) throw new Error("the neighbour process printed no result");
      if (out.failed) throw new Error(out.failed);
      return { tx, lat: out.lat, cpuMs: out.cpu_ms };
    } finally {
      child.kill();
      await child.exited;
    }
  }
  async function paced(phase: string, target: string, what: string, round: number, ms: number): Promise<void> {
    const before = readThreadCpuMs(proc.pid);
    const server0 = await serverTotals();
    const self0 = process.cpuUsage();
    let walMax = 0;
    const walSampler = setInterval(() => {
      try {
        walMax = Math.max(walMax, statSync(join(dataDir, "sequencer.db-wal")).size);
      } catch {}
    }, 50);
    const { tx, lat, cpuMs } = await pacedNeighbours(target, ms);
    clearInterval(walSampler);
    const self = process.cpuUsage(self0);
    const server1 = await serverTotals();
    const cpu = { phase, round, what: "cpu_ms", sequencer: threadCpuDelta(before, readThreadCpuMs(proc.pid)), load_generator: Math.round((self.user + self.system) / 1000), neighbours: cpuMs };
    rows.push(cpu);
    console.log(JSON.stringify(cpu));
    const meanMs = (sum: number, n: number) => +((1000 * sum) / n).toFixed(3);
    const server = {
      phase,
      round,
      what: "server",
      commits: server1.commits - server0.commits,
      commit_mean_ms: meanMs(server1.commitSum - server0.commitSum, server1.commits - server0.commits),
      ack_mean_ms: meanMs(server1.ackSum - server0.ackSum, server1.acks - server0.acks),
      wal_max_bytes: walMax,
    };
    rows.push(server);
    console.log(JSON.stringify(server));
    record(phase, round, "tx", tx);
    record(phase, round, what, lat);
  }
  const pacedInspect = (round: number, ms: number) => paced("tx + inspect", query, "inspect", round, ms);
  const pacedOwn = (round: number, ms: number) => paced("tx + inspect own port", ownQuery, "inspect", round, ms);
  const pacedHealthz = (round: number, ms: number) => paced("tx + healthz", `${seq.url}/healthz`, "healthz", round, ms);
  // one unrecorded pass of each paced neighbour first: the follower's and the routes' code is
  // compiled by the JIT during the first seconds, and round 1 was consistently the outlier
  await pacedNeighbours(query, 2000);
  await pacedNeighbours(ownQuery, 2000);
  await pacedNeighbours(`${seq.url}/healthz`, 2000);
  for (let round = 1; round <= ROUNDS; round++) {
    const ms = SECONDS * 1000;
    // the three paced phases in a rotated order each round, so that none always comes first
    const pacedPhases = [pacedInspect, pacedOwn, pacedHealthz];
    for (let i = 0; i < pacedPhases.length; i++) await pacedPhases[(i + round - 1) % pacedPhases.length]!(round, ms);
    if (PACED_ONLY) continue;
    record("tx alone", round, "tx", await txStream(until(ms)));
    let stop: () => boolean;

    stop = until(ms);
    const [txD, insD] = await Promise.all([txStream(stop), clients(query, stop)]);
    record("tx + inspect max", round, "tx", txD);
    record("tx + inspect max", round, "inspect", insD);

    stop = until(ms);
    const [txO, ownO] = await Promise.all([txStream(stop), clients(ownQuery, stop)]);
    record("tx + inspect own port max", round, "tx", txO);
    record("tx + inspect own port max", round, "inspect", ownO);

    stop = until(ms);
    const [txE, hzE] = await Promise.all([txStream(stop), clients(`${seq.url}/healthz`, stop)]);
    record("tx + healthz max", round, "tx", txE);
    record("tx + healthz max", round, "healthz", hzE);

    record("inspect alone", round, "inspect", await clients(query, until(ms)));
    record("inspect own port alone", round, "inspect", await clients(ownQuery, until(ms)));
  }
  // the bound's comparison: /tx ack p50 beside each paced neighbour, median over the rounds
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const phase of ["tx + inspect", "tx + inspect own port", "tx + healthz"]) {
    const p50s = rows.filter((r) => r.phase === phase && r.what === "tx").map((r) => r.p50_ms as number);
    const acks = rows.filter((r) => r.phase === phase && r.what === "server").map((r) => r.ack_mean_ms as number);
    console.log(`${phase}: /tx ack p50 median ${median(p50s).toFixed(3)} ms over ${p50s.length} rounds (${p50s.join(", ")}); server-side ack mean ${acks.join(", ")} ms`);
  }
  // each round's two phases ran minutes apart at most: their ratio is the least drift-prone figure
  const p50Of = (phase: string, round: number) => rows.find((r) => r.phase === phase && r.round === round && r.what === "tx")?.p50_ms as number | undefined;
  for (const phase of ["tx + inspect", "tx + inspect own port"]) {
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const x = p50Of(phase, round);
      const h = p50Of("tx + healthz", round);
      if (x !== undefined && h !== undefined) ratios.push(x / h);
    }
    if (ratios.length === 0) continue;
    const mean = ratios.reduce((x, y) => x + y, 0) / ratios.length;
    console.log(`/tx p50 beside ${phase.slice(5)} ÷ beside /healthz, per round: ${ratios.map((r) => r.toFixed(2)).join(", ")} (mean ${mean.toFixed(3)})`);
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/inspect.json", JSON.stringify({ when: new Date().toISOString(), seconds: SECONDS, clients: CLIENTS, paced_rate: RATE, rows }, null, 2));
} finally {
  if (isolation) clearInterval(isolation);
  proc.kill("SIGTERM");
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
