/**
 * The sequencer benchmark (issue 7): `npm run bench`, or `bun scripts/bench/run.ts [flags]`.
 *
 * Starts anvil (devnet state, automine) and the sequencer as child processes, funds one L2
 * sender per concurrent stream, then runs scripts/bench/loadgen.ts in its own process and
 * writes <out>/report.json and <out>/report.md. While the load generator runs, this process
 * samples the sequencer's VmRSS/VmHWM and the CPU time of every process and thread from /proc.
 *
 * Options (flag or env):
 *   --quick            BENCH_QUICK=1         smoke version: tiny counts, ~10-20 s in total
 *   --concurrency=L    BENCH_CONCURRENCY     closed-loop sweep, default 1,8,64,256
 *   --ops=N            BENCH_OPS             ops per sweep level, default 10000
 *   --rates=L          BENCH_RATES           open-loop target rates, default 1000,2000,5000,10000
 *   --duration=S       BENCH_DURATION_S      seconds per open-loop step, default 5
 *   --senders=N        BENCH_SENDERS         open-loop senders, default 512
 *   --out=DIR          BENCH_OUT_DIR         default bench-results
 *   --seq-bun-flags=F  BENCH_SEQ_BUN_FLAGS   extra bun flags for the sequencer, e.g.
 *                                            "--cpu-prof-md --cpu-prof-dir=/tmp/prof"
 *   --no-restart       BENCH_NO_RESTART=1    skip scripts/bench/restart.ts
 *   --client=raw|fetch BENCH_CLIENT          the load generator's HTTP client, default raw
 *                                            (pre-built requests over pooled TCP; fetch costs
 *                                            the shared CPU ≈ 3× more per request)
 *   --profile          BENCH_PROFILE=1       run the sequencer under `bun --cpu-prof` and add the
 *                                            per-op main-thread breakdown to the report
 * SEQ_* variables in the environment are passed to the sequencer (e.g. SEQ_SIG_BACKEND=js).
 *
 * Everything runs on one machine: the load generator, the sequencer and anvil compete for
 * the same cores, which the report states next to the figures.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEVNET_DEPLOYMENT, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { heapSizedEnv } from "../../src/runtime/heap-sizing.ts";
import { withDevnetAnvil } from "../lib/devnet-anvil.ts";
import { readLines } from "../lib/lines.ts";
import { startSequencerProcess, tempDir } from "../lib/sequencer-process.ts";
import { analyzeCpuProfile } from "./lib/cpuprofile.ts";
import { fundSenders } from "./lib/fund.ts";
import { machineInfo, readCpuMs, readMem, readThreadCpuMs, RssSampler, rssByMapping, threadCpuDelta } from "./lib/proc.ts";
import type { LoadgenConfig, LoadgenMessage, OpenLoopRow, SweepRow } from "./lib/protocol.ts";
import {
  type BenchReport,
  evaluateTargets,
  type PhaseResources,
  REFERENCE_FIGURES,
  renderMarkdown,
  type RestartSection,
} from "./lib/report.ts";

const ROOT = join(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "cli", "main.ts");
const LOADGEN = join(import.meta.dir, "loadgen.ts");
const RESTART = join(import.meta.dir, "restart.ts");

// ---- options --------------------------------------------------------------------------------

const flags = new Map<string, string>();
for (const a of process.argv.slice(2)) {
  const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
  if (!m) throw new Error(`unknown argument ${a}`);
  flags.set(m[1]!, m[2] ?? "1");
}
function opt(flag: string, env: string): string | undefined {
  return flags.get(flag) ?? process.env[env];
}
function numList(s: string): number[] {
  const v = s.split(",").map((x) => Number(x.trim()));
  if (v.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`bad number list: ${s}`);
  return v;
}

const quick = ["1", "true", "yes"].includes((opt("quick", "BENCH_QUICK") ?? "").toLowerCase());
const concurrency = numList(opt("concurrency", "BENCH_CONCURRENCY") ?? (quick ? "1,8" : "1,8,64,256"));
const opsPerLevel = Number(opt("ops", "BENCH_OPS") ?? (quick ? 40 : 10_000));
const rates = numList(opt("rates", "BENCH_RATES") ?? (quick ? "100,300" : "1000,2000,5000,10000"));
const durationS = Number(opt("duration", "BENCH_DURATION_S") ?? (quick ? 1 : 5));
const openSenders = Number(opt("senders", "BENCH_SENDERS") ?? (quick ? 8 : 512));
const outDir = opt("out", "BENCH_OUT_DIR") ?? join(ROOT, "bench-results");
const seqBunFlags = (opt("seq-bun-flags", "BENCH_SEQ_BUN_FLAGS") ?? "").split(/\s+/).filter(Boolean);
const runRestart = !flags.has("no-restart") && process.env.BENCH_NO_RESTART !== "1";
const profile = flags.has("profile") || process.env.BENCH_PROFILE === "1";
const client = opt("client", "BENCH_CLIENT") ?? "raw";
if (client !== "raw" && client !== "fetch") throw new Error(`--client must be raw or fetch, got ${client}`);
const warmupOps = quick ? 16 : 500;
const nSenders = Math.max(...concurrency, openSenders);

function say(s: string): void {
  console.log(s);
}

// ---- processes ------------------------------------------------------------------------------

const machine = machineInfo();
say(`bench${quick ? " (quick)" : ""}: ${machine.cpus} × ${machine.cpu_model}, ${machine.mem_total_mb} MB, Bun ${machine.bun}`);
say(`  load generator, sequencer and anvil share these ${machine.cpus} cores`);

const anvil = await withDevnetAnvil();
const dir = tempDir("seq-bench-");
const seqEnv: Record<string, string> = {};
// SEQ_* configure the sequencer; BUN_JSC_* are JavaScriptCore options (e.g. BUN_JSC_forceRAMSize).
for (const [k, v] of Object.entries(process.env)) if ((k.startsWith("SEQ_") || k.startsWith("BUN_JSC_")) && v !== undefined) seqEnv[k] = v;
// "info" is needed for the "sequencer ready" line that carries the ports; it is quiet under load.
seqEnv.SEQ_LOG_LEVEL = "info";
seqEnv.SEQ_MAX_BATCH_OPEN_SECONDS ??= "2";
seqEnv.SEQ_INPUT_READER_POLL_INTERVAL_MS ??= "1000"; // the production default (tests use 100)
const profDir = join(dir.path, "prof");
if (profile) seqBunFlags.push("--cpu-prof", `--cpu-prof-dir=${profDir}`);
const seqCommand = [process.execPath, ...seqBunFlags, MAIN, "run"];
const seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, env: seqEnv, command: seqCommand }).catch(
  async (e: unknown) => {
    await anvil.stop();
    dir.remove();
    process.stderr.write(`bench failed: the sequencer did not start: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
const seqPid = seq.proc.pid;
say(`sequencer pid ${seqPid} at ${seq.url} (internal ${seq.internalUrl}); anvil pid ${anvil.pid}`);

const sampler = new RssSampler(seqPid).start();
const notes: string[] = [];
let exitCode = 0;
let report: BenchReport | undefined;

try {
  const tFund = performance.now();
  const funded = await fundSenders(anvil, seq.url, nSenders, (m) => say(`  ${m}`));
  const fundingS = Math.round((performance.now() - tFund) / 100) / 10;
  const idleRssMb = Math.round((readMem(seqPid)?.rssKb ?? 0) / 102.4) / 10;

  const cfg: LoadgenConfig = {
    url: seq.url,
    chainId: String(DEVNET_DEPLOYMENT.chainId),
    app: DEVNET_DEPLOYMENT.application.toLowerCase(),
    senders: funded,
    transferTo: privateKeyToAccount(DEVNET_KEYS[3] as Hex).address.toLowerCase(),
    warmupOps,
    sweep: { concurrency, opsPerLevel },
    openLoop: { rates, durationS, senders: openSenders },
    client,
  };
  const cfgPath = join(dir.path, "loadgen.json");
  writeFileSync(cfgPath, JSON.stringify(cfg));

  // ---- load generator ---------------------------------------------------------------------
  // JavaScriptCore options meant for the sequencer must not change the client's behaviour.
  const lgEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BUN_JSC_")));
  const lg = Bun.spawn([process.execPath, LOADGEN, cfgPath], { stdout: "pipe", stderr: "inherit", stdin: "ignore", env: lgEnv });
  const sweep: (SweepRow & { resources?: PhaseResources })[] = [];
  const steps: (OpenLoopRow & { resources?: PhaseResources })[] = [];
  const resources = new Map<string, PhaseResources>();
  /** Epoch-ms windows of the timed sections and the ops accepted in them (for the profile). */
  const windows: [number, number][] = [];
  let windowOps = 0;
  let windowStart = 0;
  let done: Extract<LoadgenMessage, { type: "done" }> | undefined;
  let phaseStart: { t: number; seq: number; lg: number; anvil: number; threads: Record<string, number> } | null = null;
  let phasePeakKb = 0;
  const peakTimer = setInterval(() => {
    const m = readMem(seqPid);
    if (m && m.rssKb > phasePeakKb) phasePeakKb = m.rssKb;
  }, 50);

  const onMessage = (m: LoadgenMessage): void => {
    if (m.type === "log") say(`  [loadgen] ${m.msg}`);
    else if (m.type === "phase" && m.state === "start") {
      phasePeakKb = readMem(seqPid)?.rssKb ?? 0;
      windowStart = Date.now();
      phaseStart = {
        t: performance.now(),
        seq: readCpuMs(seqPid) ?? 0,
        lg: readCpuMs(lg.pid) ?? 0,
        anvil: readCpuMs(anvil.pid) ?? 0,
        threads: readThreadCpuMs(seqPid),
      };
    } else if (m.type === "phase" && m.state === "end" && phaseStart) {
      windows.push([windowStart, Date.now()]);
      windowOps += m.ok ?? 0;
      const wall = performance.now() - phaseStart.t;
      const seqMs = (readCpuMs(seqPid) ?? 0) - phaseStart.seq;
      const lgMs = (readCpuMs(lg.pid) ?? 0) - phaseStart.lg;
      const ok = m.ok ?? 0;
      resources.set(m.label, {
        wall_ms: Math.round(wall),
        ok,
        seq_cpu_ms: Math.round(seqMs),
        seq_cpu_us_per_op: ok > 0 ? Math.round((seqMs * 1000) / ok) : null,
        seq_cores: Math.round((seqMs / wall) * 100) / 100,
        loadgen_cpu_ms: Math.round(lgMs),
        loadgen_cores: Math.round((lgMs / wall) * 100) / 100,
        anvil_cpu_ms: Math.round((readCpuMs(anvil.pid) ?? 0) - phaseStart.anvil),
        seq_threads_ms: threadCpuDelta(phaseStart.threads, readThreadCpuMs(seqPid)),
        seq_peak_rss_mb: Math.round(phasePeakKb / 102.4) / 10,
      });
      phaseStart = null;
    } else if (m.type === "sweep") {
      const res = resources.get(`c=${m.row.concurrency}`);
      sweep.push({ ...m.row, ...(res ? { resources: res } : {}) });
      const r = m.row;
      say(
        `ack c=${r.concurrency}: ${r.ok}/${r.sent} ok, ${r.throughput_ops_s} ops/s, p50 ${r.ack.p50_ms} p95 ${r.ack.p95_ms} p99 ${r.ack.p99_ms} p99.9 ${r.ack.p999_ms} ms` +
          `, errors ${JSON.stringify(r.errors_by_status)}; feed p50 ${r.feed.p50_ms} p99 ${r.feed.p99_ms} ms` +
          (res ? `; seq ${res.seq_cpu_us_per_op} µs CPU/op, ${res.seq_cores} cores; loadgen ${res.loadgen_cores} cores; RSS ≤ ${res.seq_peak_rss_mb} MB` : ""),
      );
    } else if (m.type === "open_loop") {
      const res = resources.get(`rate=${m.row.target_rate}`);
      steps.push({ ...m.row, ...(res ? { resources: res } : {}) });
      const r = m.row;
      say(
        `open ${r.target_rate}/s: achieved ${r.achieved_rate}/s, ${r.ok}/${r.scheduled} ok, 429×${r.rejections_429}, errors ${JSON.stringify(r.errors_by_status)}, delayed ${r.delayed_sends}` +
          `; ack p50 ${r.ack.p50_ms} p99 ${r.ack.p99_ms} ms (service p99 ${r.service.p99_ms}); feed p50 ${r.feed.p50_ms} p99 ${r.feed.p99_ms} ms` +
          (res ? `; seq ${res.seq_cpu_us_per_op} µs CPU/op, ${res.seq_cores} cores; loadgen ${res.loadgen_cores} cores; RSS ≤ ${res.seq_peak_rss_mb} MB` : ""),
      );
    } else if (m.type === "done") {
      done = m;
      say(`knee: ${m.knee.rate === null ? "not reached" : `${m.knee.rate} ops/s (${m.knee.reason})`}; feed overall p50 ${m.feed_overall.p50_ms} p99 ${m.feed_overall.p99_ms} ms`);
    }
  };

  for await (const line of readLines(lg.stdout as ReadableStream<Uint8Array>)) {
    if (!line.trim()) continue;
    try {
      onMessage(JSON.parse(line) as LoadgenMessage);
    } catch {
      say(`  [loadgen] ${line}`);
    }
  }
  const lgCode = await lg.exited;
  clearInterval(peakTimer);
  if (lgCode !== 0 || !done) throw new Error(`load generator exited with ${lgCode}${done ? "" : " before finishing"}`);

  // ---- RSS and /metrics -------------------------------------------------------------------
  const mappingsAtEnd = rssByMapping(seqPid);
  sampler.stop();
  say(`RSS: peak VmHWM ${Math.round(sampler.lastHwmKb / 102.4) / 10} MB, peak sampled VmRSS ${Math.round(sampler.peakRssKb / 102.4) / 10} MB`);
  const metrics: BenchReport["metrics"] = { available: false, resident_memory_bytes: null, lines: [] };
  try {
    const r = await fetch(`${seq.internalUrl}/metrics`);
    if (r.status === 200) {
      const text = await r.text();
      metrics.available = true;
      metrics.lines = text.split("\n").filter((l) => /^seq_(tx_ack_seconds|lane_commit_seconds|lane_queue_depth|lane_commits_total|lane_committed_ops_total|signature_inline_total|process_resident_memory_bytes|js_heap_bytes)/.test(l));
      const rss = /^seq_process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.e+]+)/m.exec(text);
      metrics.resident_memory_bytes = rss ? Number(rss[1]) : null;
      say(`/metrics: ${metrics.lines.join("; ") || "(no seq_ series of interest)"}`);
    } else {
      say(`/metrics: not served yet (${r.status}); RSS from /proc only`);
    }
  } catch (e) {
    say(`/metrics: unreachable (${(e as Error).message})`);
  }

  // ---- stop, then restart replay ------------------------------------------------------------
  await seq.stop();
  await anvil.stop();
  let profileResult: BenchReport["profile"] = null;
  if (profile) profileResult = analyzeProfile(windows, windowOps, [...resources.values()]);
  const restart = await runRestartBench();

  const partial: Omit<BenchReport, "targets"> = {
    when: new Date().toISOString(),
    quick,
    machine,
    options: { concurrency, opsPerLevel, rates, durationS, openSenders, warmupOps, client, seqEnv: { ...seqEnv } },
    setup: { senders: nSenders, funding_s: fundingS, signer: done.signer, sign_rate_per_s: done.sign_rate_per_s, seq_command: seqCommand.map((a) => a.replace(ROOT + "/", "")) },
    sweep,
    open_loop: { steps, knee: done.knee },
    feed: { overall: done.feed_overall, closed: done.feed_closed },
    rss: {
      peak_hwm_mb: Math.round(sampler.lastHwmKb / 102.4) / 10,
      peak_rss_sampled_mb: Math.round(sampler.peakRssKb / 102.4) / 10,
      idle_rss_mb: idleRssMb,
      at_peak_mb: sampler.atPeak && {
        anon: Math.round(sampler.atPeak.anonKb / 102.4) / 10,
        file: Math.round(sampler.atPeak.fileKb / 102.4) / 10,
        shmem: Math.round(sampler.atPeak.shmemKb / 102.4) / 10,
      },
      mappings_at_end: mappingsAtEnd ?? [],
      samples: sampler.samples.length,
      // Downsampled to ≤ 200 points for the JSON.
      series_mb: sampler.samples
        .filter((_, i, a) => i % Math.max(1, Math.ceil(a.length / 200)) === 0)
        .map((s) => [s.t_ms, Math.round(s.rss_kb / 102.4) / 10] as [number, number]),
    },
    metrics,
    profile: profileResult,
    restart,
    reference: REFERENCE_FIGURES,
    notes,
  };
  notes.push(
    `Source tree: ${gitDescribe()}.`,
    `The load generator (one Bun process), the sequencer and anvil all run on the same ${machine.cpus} cores; ` +
      "the 'loadgen cores' columns show how much of the machine the client itself took.",
    client === "raw"
      ? "HTTP client: pre-built requests over pooled keep-alive TCP sockets (scripts/bench/lib/http1.ts); --client=fetch uses Bun's fetch."
      : "HTTP client: Bun's fetch (--client=fetch).",
    "Open-loop latency is measured from each op's scheduled send time; a sender never has two ops in flight (nonce order), " +
      "so a send that falls due while its sender is busy waits and is counted in 'delayed sends'. " +
      `With ${openSenders} senders the client never has more than ${openSenders} requests outstanding, ` +
      "below the lane queue capacity, so overload shows up as latency rather than 429.",
    "POST → feed is timed in the load generator from the moment the POST is sent to the moment the WebSocket message is " +
      "received, on the same busy event loop as the HTTP client.",
  );
  report = { ...partial, targets: evaluateTargets(partial) };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 2));
  writeFileSync(join(outDir, "report.md"), renderMarkdown(report));
  say("");
  for (const t of report.targets) say(`target ${t.met === null ? "n/a" : t.met ? "MET " : "MISS"}  ${t.target}: ${t.measured}`);
  say(`wrote ${join(outDir, "report.json")} and report.md`);
} catch (e) {
  exitCode = 1;
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  const tail = seq.logs.slice(-10).map((l) => JSON.stringify(l));
  if (tail.length) process.stderr.write(`last sequencer log lines:\n${tail.join("\n")}\n`);
} finally {
  sampler.stop();
  await seq.stop();
  await anvil.stop();
  dir.remove();
}
process.exit(exitCode);

async function runRestartBench(): Promise<RestartSection> {
  if (!runRestart) return { status: "pending", note: "skipped (--no-restart)", output: null };
  if (!existsSync(RESTART)) {
    const note = "scripts/bench/restart.ts does not exist yet";
    say(`restart replay: pending (${note})`);
    return { status: "pending", note, output: null };
  }
  say("restart replay: running scripts/bench/restart.ts ...");
  const proc = Bun.spawn([process.execPath, RESTART], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    // The same JS heap sizing as the sequencer's CLI gives itself (SEQ_JS_HEAP_RAM_MB).
    env: { ...(heapSizedEnv(process.env) ?? process.env), ...(quick ? { BENCH_QUICK: "1" } : {}) },
  });
  const timeoutMs = quick ? 120_000 : 1_200_000;
  const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(killer);
  const output = parseJsonOutput(stdout);
  for (const line of stdout.trim().split("\n").slice(-20)) say(`  [restart] ${line}`);
  if (code !== 0) {
    return { status: "failed", note: `exited with ${code}: ${stderr.trim().split("\n").slice(-5).join(" | ")}`, output };
  }
  return { status: "ok", note: "output of scripts/bench/restart.ts", output };
}

/** Main-thread stages from the CPU profile, plus the worker threads' share from /proc. */
function analyzeProfile(windows: [number, number][], ops: number, res: PhaseResources[]): BenchReport["profile"] {
  const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile")) : [];
  if (files.length === 0) {
    notes.push("--profile: the sequencer wrote no .cpuprofile (did it exit cleanly?)");
    return null;
  }
  mkdirSync(outDir, { recursive: true });
  const kept = join(outDir, "sequencer.cpuprofile");
  copyFileSync(join(profDir, files[0]!), kept);
  const main = analyzeCpuProfile(kept, windows, ops);
  const threadsMs: Record<string, number> = {};
  for (const r of res) for (const [k, v] of Object.entries(r.seq_threads_ms)) threadsMs[k] = (threadsMs[k] ?? 0) + v;
  const perOp = Object.fromEntries(
    Object.entries(threadsMs)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, ops > 0 ? Math.round((v * 1000) / ops) : null]),
  );
  say(`profile: main thread sampled busy ${main.busy_pct}% of ${main.window_ms} ms over ${ops} ops`);
  for (const s of main.stages) say(`  ${String(s.us_per_op).padStart(7)} µs/op  ${String(s.pct).padStart(5)}%  ${s.stage}`);
  say(`  CPU µs/op by thread (from /proc): ${JSON.stringify(perOp)}`);
  return { file: kept, main_thread: main, thread_cpu_us_per_op: perOp };
}

/** Commit and local changes under src/ (read-only git), so figures can be tied to a tree. */
function gitDescribe(): string {
  try {
    const rev = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
    const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", "src"], { cwd: ROOT }).stdout.toString().trim();
    const n = dirty ? dirty.split("\n").length : 0;
    return `${rev || "unknown"}${n ? ` + ${n} uncommitted change(s) under src/` : ""}`;
  } catch {
    return "unknown (no git)";
  }
}

/** The whole stdout as JSON, else every line that parses as a JSON object (merged), else the text. */
function parseJsonOutput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // fall through
  }
  const objects: Record<string, unknown>[] = [];
  for (const l of text.trim().split("\n")) {
    try {
      const v = JSON.parse(l);
      if (v && typeof v === "object" && !Array.isArray(v)) objects.push(v as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  if (objects.length > 0) return Object.assign({}, ...objects);
  return text.slice(-4000);
}
