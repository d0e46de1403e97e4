/**
 * Restart-to-ready against the length of the history (issue #17: it must not grow).
 *
 *   bun scripts/bench/startup.ts [entries=10000,100000,1000000] [restarts=3] [--binary PATH]
 *   (BENCH_QUICK=1: 2000,6000 entries, 2 restarts)
 *
 * One devnet anvil and one sequencer process on a fresh data dir. Ops (wallet transfers,
 * signed, over keep-alive HTTP from 64 funded senders) are sent until the history holds the
 * next number of entries; then the sequencer is killed with SIGKILL, as in a crash, and
 * started again `restarts` times in a row, each one killed as soon as it is ready. Nothing
 * is faked: the batches are real, posted to anvil and landed, and the restarts find what a
 * crash leaves (a WAL, leases, an open batch).
 *
 * Restart-to-ready is measured from spawn to the "sequencer ready" log line (the moment
 * `/readyz` turns 200, which is checked right after), so it includes the process start and
 * module load. The phases come from the log lines' own timestamps.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { bytesToHex, hexToBytes } from "../../src/core/bytes.ts";
import { domainSeparator } from "../../src/core/eip712.ts";
import { DEVNET_DEPLOYMENT } from "../../src/l1/contracts.ts";
import { withDevnetAnvil } from "../lib/devnet-anvil.ts";
import { type SequencerProcess, startSequencerProcess, tempDir } from "../lib/sequencer-process.ts";
import { fundSenders } from "./lib/fund.ts";
import { buildRequest, Http1Pool } from "./lib/http1.ts";
import { signOp, transferData } from "./lib/ops.ts";
import { summarize } from "./lib/stats.ts";
import { ANVIL_3 } from "../lib/fixture-addresses.ts";

const quick = process.env.BENCH_QUICK === "1";
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--binary");
const binaryAt = process.argv.indexOf("--binary");
const command = binaryAt > 0 ? [process.argv[binaryAt + 1]!, "run"] : undefined;
const targets = (positional[0] ?? (quick ? "2000,6000" : "10000,100000,1000000")).split(",").map(Number);
const restarts = Number(positional[1] ?? (quick ? 2 : 3));
const SENDERS = 64;
/** Sealed, unsubmitted batches beyond which the load pauses (see the gate below). */
const MAX_SEALED_BACKLOG = 200;
const TO = ANVIL_3;

const say = (m: string) => process.stderr.write(`${m}\n`);
const ms = (x: number) => Math.round(x);

const anvil = await withDevnetAnvil();
const dir = tempDir("bench-startup-");
const env = { SEQ_LOG_LEVEL: "info" };
let seq: SequencerProcess | null = null;

/** Phase boundaries, in the order startup logs them (src/cli/run.ts). */
const PHASES = ["starting sequencer", "app module loaded", "L1 synced", "app state rebuilt from history", "sequencer ready"] as const;

interface Restart {
  entries: number;
  readyMs: number;
  readyzMs: number;
  walBytes: number;
  dbBytes: number;
  meteringCache: string | null;
  phasesMs: Record<string, number>;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

async function restartOnce(): Promise<Restart> {
  await seq!.kill9();
  const walBytes = fileSize(join(dir.path, "sequencer.db-wal"));
  const dbBytes = fileSize(join(dir.path, "sequencer.db"));
  const t0 = performance.now();
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, env, ...(command ? { command } : {}), readyTimeoutMs: 120_000 });
  const readyMs = performance.now() - t0;
  const r = await fetch(`${seq.url}/readyz`);
  const readyzMs = performance.now() - t0;
  if (r.status !== 200) throw new Error(`/readyz answered ${r.status} right after the ready line`);
  const at = (msg: string) => {
    const l = seq!.logs.find((x) => x.msg === msg);
    return l ? Date.parse(String(l.ts)) : Number.NaN;
  };
  const phasesMs: Record<string, number> = {};
  for (let i = 1; i < PHASES.length; i++) phasesMs[`${PHASES[i - 1]} → ${PHASES[i]}`] = at(PHASES[i]!) - at(PHASES[i - 1]!);
  const ready = seq.logs.find((x) => x.msg === "sequencer ready")!;
  const loaded = seq.logs.find((x) => x.msg === "app module loaded");
  return {
    entries: Number(ready.next_offset),
    readyMs,
    readyzMs,
    walBytes,
    dbBytes,
    meteringCache: (loaded?.metering_cache as string | undefined) ?? null,
    phasesMs,
  };
}

const results: { target: number; restarts: Restart[] }[] = [];
let exitCode = 0;
try {
  say(`data dir ${dir.path}; ${command ? `binary ${command[0]}` : "bun src/cli/main.ts"}; targets ${targets.join(", ")} entries, ${restarts} restarts each`);
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, env, ...(command ? { command } : {}) });
  const funded = await fundSenders(anvil, seq.url, SENDERS, (m) => say(`  ${m}`));
  const senders = funded.map((f) => ({ key: hexToBytes(f.key, 32), address: f.address.toLowerCase() }));
  const domSep = domainSeparator(BigInt(DEVNET_DEPLOYMENT.chainId), DEVNET_DEPLOYMENT.application);
  const data = transferData(1n, TO);
  const dataHex = bytesToHex(data);
  const nonces = new Array<number>(SENDERS).fill(0);
  // The genesis entries plus one deposit per sender; each restart reports the exact head.
  let head = Number(seq.logs.find((x) => x.msg === "sequencer ready")?.next_offset ?? 0) + SENDERS;

  // On automine anvil every batch transaction is a block, so a backlog of sealed batches
  // ages the oldest one by a block per submission; past the danger threshold the sequencer
  // (rightly) starts a recovery. The load pauses while the submitter catches up.
  let paused = false;
  const gate = setInterval(async () => {
    try {
      const text = await (await fetch(`${seq!.internalUrl}/metrics`)).text();
      const closed = Number(/^seq_batches\{state="closed"\} (\d+)/m.exec(text)?.[1] ?? 0);
      paused = closed > MAX_SEALED_BACKLOG;
    } catch {
      // between a kill and a restart
    }
  }, 250);
  const waitWhilePaused = async () => {
    while (paused) await Bun.sleep(50);
  };

  for (const target of targets) {
    const t0 = performance.now();
    const start = head;
    let lastReport = t0;
    // Each sender sends its own ops in nonce order; 64 of them keep the lane's batches full.
    const url = new URL(seq.url);
    const pool = new Http1Pool(url.hostname, Number(url.port));
    const perSender = Math.ceil(Math.max(0, target - head) / SENDERS);
    await Promise.all(
      senders.map(async (s, i) => {
        for (let k = 0; k < perSender; k++) {
          if (k % 16 === 0) await waitWhilePaused();
          const op = signOp(domSep, s, i, nonces[i]!, 65535, data, dataHex);
          const res = await pool.request(buildRequest("POST", pool.hostHeader, "/tx", op.body));
          if (res.status !== 200) throw new Error(`POST /tx answered ${res.status}: ${new TextDecoder().decode(res.body)}`);
          nonces[i]!++;
          head++;
          const now = performance.now();
          if (now - lastReport > 10_000) {
            lastReport = now;
            say(`  ${head} entries (${Math.round(((head - start) * 1000) / (now - t0))} ops/s)`);
          }
        }
      }),
    );
    pool.close();
    say(`history at ${head} entries (${Math.round((performance.now() - t0) / 1000)} s of load); restarting ${restarts} times after kill -9`);
    const rs: Restart[] = [];
    for (let i = 0; i < restarts; i++) {
      const r = await restartOnce();
      rs.push(r);
      say(`  restart ${i + 1}: ready in ${ms(r.readyMs)} ms (/readyz 200 at ${ms(r.readyzMs)} ms), WAL ${r.walBytes} B, db ${Math.round(r.dbBytes / 1e6)} MB, metering ${r.meteringCache}, phases ${JSON.stringify(r.phasesMs)}`);
    }
    results.push({ target, restarts: rs });
  }

  clearInterval(gate);
  const table = results.map(({ target, restarts: rs }) => {
    const s = summarize(rs.map((r) => r.readyMs));
    return { entries: rs[0]!.entries, target, ready_ms_p50: ms(s.p50_ms ?? Number.NaN), ready_ms_max: ms(Math.max(...rs.map((r) => r.readyMs))), runs_ms: rs.map((r) => ms(r.readyMs)), db_mb: Math.round(rs[0]!.dbBytes / 1e6) };
  });
  console.log(JSON.stringify({ bench: "startup", command: command?.[0] ?? "bun src/cli/main.ts", results: table, detail: results }));
  say("\nentries      restart-to-ready p50 (max)   db");
  for (const t of table) say(`${String(t.entries).padStart(9)}    ${String(t.ready_ms_p50).padStart(6)} ms (${t.ready_ms_max} ms)          ${t.db_mb} MB`);
} catch (e) {
  say(`failed: ${(e as Error).stack ?? e}`);
  exitCode = 1;
} finally {
  await seq?.stop();
  await anvil.stop();
  dir.remove();
}
process.exit(exitCode);
