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
 * BENCH_SEQ_CPUS=0 runs the sequencer pinned to those CPUs (taskset -c); run this script
 * itself under `taskset -c 1` so the load generator does not share the sequencer's cores.
 * BENCH_ISOLATE_MAIN=1 gives the sequencer's main thread a core of its own: it is pinned to
 * CPU 0 and every other thread on the box that this bench can reach (the sequencer's workers
 * and runtime threads, anvil, this load generator) to CPU 1, re-applied every 500 ms for
 * threads created later. That separates the two costs the bound mixes on 2 shared cores:
 * what inspect costs the main thread, and what the follower's CPU costs whoever shares its core.
 * BENCH_PHASES=paced runs only the two paced phases (the A/B of the bound), each
 * round in both orders so that neither phase always follows the other.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex, createPublicClient, createWalletClient, defineChain, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { encodeTransfer } from "../../src/app/wallet-payloads.ts";
import { DEVNET_KEYS, etherPortalAbi } from "../../src/l1/contracts.ts";
import { signUserOp } from "../lib/user-op.ts";
import { readThreadCpuMs, threadCpuDelta } from "./lib/proc.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 2);
const RATE = Number(process.argv[4] ?? 2000);
const CLIENTS = 32;
const PACED_ONLY = process.env.BENCH_PHASES === "paced";
const KEY = DEVNET_KEYS[5] as Hex; // a public anvil development key, funded on the devnet

/** Main thread of `pid` on CPU 0; its other threads, its children's and ours on CPU 1. */
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
  for (const tid of tids(process.pid)) set(tid, 1);
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
async function startDevnet(dataDir: string, anvilPort: number): Promise<{ url: string; proc: ReturnType<typeof Bun.spawn> }> {
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
      const url = (JSON.parse(line) as { public_url: string }).public_url;
      void (async () => { while (!(await reader.read()).done); })(); // keep draining
      return { url, proc };
    }
  }
  proc.kill();
  throw new Error(`the devnet did not become ready:\n${buf.slice(-2000)}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "seq-bench-inspect-"));
const anvilPort = await freePort();
const { url, proc } = await startDevnet(dataDir, anvilPort);
const seq = { url };
let isolation: ReturnType<typeof setInterval> | undefined;
if (process.env.BENCH_ISOLATE_MAIN === "1") {
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
  const txPhases = ROUNDS * (PACED_ONLY ? 2 : 5);
  console.log(`signing ${perPhase * txPhases} ops…`);
  const bodies: string[] = [];
  for (let i = 0; i < perPhase * txPhases; i++) {
    bodies.push(JSON.stringify(await signUserOp(key, { nonce: i, maxFee: 1409, data: transfer }, BigInt(info.chain_id), info.app_address)));
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
  const pace = (1000 * CLIENTS) / RATE; // ms between one client's requests
  /** CPU ms per phase: the sequencer's threads by name (its main thread is the process name), and this load generator. */
  async function withCpu<T>(phase: string, round: number, run: () => Promise<T>): Promise<T> {
    const before = readThreadCpuMs(proc.pid);
    const self0 = process.cpuUsage();
    const out = await run();
    const self = process.cpuUsage(self0);
    const cpu = { phase, round, what: "cpu_ms", sequencer: threadCpuDelta(before, readThreadCpuMs(proc.pid)), load_generator: Math.round((self.user + self.system) / 1000) };
    rows.push(cpu);
    console.log(JSON.stringify(cpu));
    return out;
  }
  async function pacedInspect(round: number, ms: number): Promise<void> {
    const stop = until(ms);
    const [tx, ins] = await withCpu("tx + inspect", round, () => Promise.all([txStream(stop), clients(query, stop, pace)]));
    record("tx + inspect", round, "tx", tx);
    record("tx + inspect", round, "inspect", ins);
  }
  async function pacedHealthz(round: number, ms: number): Promise<void> {
    const stop = until(ms);
    const [tx, hz] = await withCpu("tx + healthz", round, () => Promise.all([txStream(stop), clients(`${seq.url}/healthz`, stop, pace)]));
    record("tx + healthz", round, "tx", tx);
    record("tx + healthz", round, "healthz", hz);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const ms = SECONDS * 1000;
    if (PACED_ONLY) {
      if (round % 2 === 1) {
        await pacedInspect(round, ms);
        await pacedHealthz(round, ms);
      } else {
        await pacedHealthz(round, ms);
        await pacedInspect(round, ms);
      }
      continue;
    }
    record("tx alone", round, "tx", await txStream(until(ms)));
    await pacedInspect(round, ms);
    await pacedHealthz(round, ms);
    let stop: () => boolean;

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
  // the bound's comparison: /tx ack p50 beside each paced neighbour, median over the rounds
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const phase of ["tx + inspect", "tx + healthz"]) {
    const p50s = rows.filter((r) => r.phase === phase && r.what === "tx").map((r) => r.p50_ms as number);
    console.log(`${phase}: /tx ack p50 median ${median(p50s).toFixed(3)} ms over ${p50s.length} rounds (${p50s.join(", ")})`);
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/inspect.json", JSON.stringify({ when: new Date().toISOString(), seconds: SECONDS, clients: CLIENTS, paced_rate: RATE, rows }, null, 2));
} finally {
  if (isolation) clearInterval(isolation);
  proc.kill("SIGTERM");
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
