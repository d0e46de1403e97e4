/**
 * Restart cost with and without snapshots, and the cost of the dump taken at batch close.
 *
 *   bun scripts/bench/restart.ts [ops=100000] [accounts=10000] [tail=50] [dataDir]
 *   (BENCH_QUICK=1: 2000 ops, 200 accounts, 10 tail)
 *
 * How the data dir is built (in process, no HTTP, no L1): the real InclusionLane, SQLite
 * store, wallet WASM and SnapshotManager, wired as run.ts wires them (scripts/lib/
 * snapshot-harness.ts). `accounts` ether deposits are stored through ReaderStore as safe inputs
 * and drained by the lane; then `ops` wallet transfers between random funded accounts are
 * submitted to the lane, which executes them, closes batches by size and dumps a snapshot at
 * every close. The ops carry dummy signatures: the lane trusts the HTTP route to have checked
 * them, and neither the lane nor the rebuild looks at them again, so this costs nothing that
 * a real restart pays. Every sealed batch is then "landed" through ReaderStore.append with
 * the real acceptance tracking, which finalizes its snapshot, and GC runs, as the reader
 * would make it happen on L1. `tail` more ops are left after the last seal.
 *
 * Then the restart is measured on that data dir, as startup does it, each run in a fresh
 * process (this script again, with `--measure`), because a restart is a new process: measured
 * in the process that just built 100k entries, the replay paid for collecting the build's
 * heap, and more so under the sequencer's JS heap sizing (SEQ_JS_HEAP_RAM_MB):
 *   - with snapshots: SnapshotManager.open (lease clear + orphan sweep + GC), load the newest
 *     snapshot (read + sha256 + app.load), replay the tail;
 *   - without: replay the whole history from genesis (what startup did before snapshots,
 *     and still does on a data dir that has none).
 * Both end with identical dump bytes (checked).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayHistory, rebuildApp } from "../../src/restore/rebuild.ts";
import { SnapshotManager } from "../../src/snapshots/lifecycle.ts";
import { account, Harness, newApp, silent, transfer } from "../lib/snapshot-harness.ts";
import { openDatabase } from "../../src/storage/db.ts";
import { HistoryQueries } from "../../src/storage/queries.ts";
import { loadMeteringPass } from "../../src/app/metering.ts";
import { installNativeCrypto } from "../../src/runtime/native-addons.ts";

// Native keccak and secp256k1, as the sequencer runs them (src/runtime/native-addons.ts).
installNativeCrypto();

// Hosts are built synchronously below: load the on-demand metering pass first.
await loadMeteringPass();

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

// Child mode: one restart of the given kind on an existing data dir, reported as one JSON line.
if (process.argv[2] === "--measure") {
  const [kind, measureDir] = [process.argv[3], process.argv[4]!];
  const r = kind === "snapshot" ? restartWithSnapshot(measureDir) : restartFromGenesis(measureDir);
  const { dump, ...rest } = r;
  console.log(JSON.stringify({ ...rest, dumpSha256: sha256(dump) }));
  process.exit(0);
}

// BENCH_QUICK (set by `run.ts --quick`, the test suite's smoke run): a data dir of seconds.
const quick = process.env.BENCH_QUICK === "1";
const OPS = Number(process.argv[2] ?? (quick ? 2_000 : 100_000));
const ACCOUNTS = Number(process.argv[3] ?? (quick ? 200 : 10_000));
const TAIL = Number(process.argv[4] ?? (quick ? 10 : 50));
const givenDir = process.argv[5];
const dir = givenDir ?? mkdtempSync(join(tmpdir(), "bench-restart-"));

let seed = 0x9e3779b9;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const ms = (x: number) => Math.round(x * 10) / 10;

async function build(): Promise<{ dump: Uint8Array; head: number; seals: SnapshotManager["sealStats"]; buildMs: number; lastSnapshotIndex: number }> {
  const t0 = performance.now();
  const h = new Harness(dir, { maxChunk: 1024 });
  for (let i = 0; i < ACCOUNTS; i += 1000) {
    const items = [];
    for (let j = i; j < Math.min(ACCOUNTS, i + 1000); j++) items.push({ to: account(j), amount: 10n ** 20n });
    await h.deposit(items);
  }
  const nonces = new Array<number>(ACCOUNTS).fill(0);
  let landed = 0;
  const landSealed = () => {
    const sealed = h.sealedCount();
    while (landed < sealed) h.land(landed++);
    h.snapshots.gc();
  };
  const submitWave = async (n: number) => {
    const pending = [];
    for (let k = 0; k < n; k++) {
      const from = rand(ACCOUNTS);
      let to = rand(ACCOUNTS);
      if (to === from) to = (to + 1) % ACCOUNTS;
      pending.push(h.submit(h.op(account(from), nonces[from]!++, transfer(1n + BigInt(k), account(to)))));
    }
    const bad = (await Promise.all(pending)).find((r) => !r.ok);
    if (bad) throw new Error(`op rejected: ${JSON.stringify(bad)}`);
  };
  let submitted = 0;
  let reported = 0;
  while (submitted < OPS) {
    const n = Math.min(4096, OPS - submitted);
    await submitWave(n);
    submitted += n;
    landSealed();
    if (submitted - reported >= 20_000) {
      reported = submitted;
      process.stderr.write(`seeded ${submitted} ops, ${h.sealedCount()} batches sealed\n`);
    }
  }
  // the last snapshot covers all OPS ops; TAIL more stay in the open batch
  await h.seal();
  landSealed();
  await submitWave(TAIL);
  const stats = { ...h.snapshots.sealStats };
  const head = h.lane.headOffset;
  const dump = h.app.dump();
  const lastSnapshotIndex = h.snapshots.store.newest()!.l2TxIndex;
  h.close();
  return { dump, head, seals: stats, buildMs: performance.now() - t0, lastSnapshotIndex };
}

function restartWithSnapshot(dir: string): { totalMs: number; openMs: number; loadMs: number; replayMs: number; replayed: number; dump: Uint8Array; bytes: number } {
  const t0 = performance.now();
  const db = openDatabase(dir);
  const app = newApp();
  const t1 = performance.now();
  const snapshots = SnapshotManager.open({ db, dataDir: dir, app, log: silent });
  const r = rebuildApp(app, new HistoryQueries(db), snapshots, silent);
  const totalMs = performance.now() - t0;
  const dump = app.dump();
  snapshots.stop();
  db.close();
  return { totalMs, openMs: t1 - t0, loadMs: r.loadMs, replayMs: r.replayMs, replayed: r.replayed, dump, bytes: r.snapshot?.bytes ?? 0 };
}

function restartFromGenesis(dir: string): { totalMs: number; openMs: number; replayMs: number; replayed: number; dump: Uint8Array } {
  const t0 = performance.now();
  const db = openDatabase(dir);
  const app = newApp();
  const t1 = performance.now();
  const r = replayHistory(app, new HistoryQueries(db), 0, silent);
  const totalMs = performance.now() - t0;
  const dump = app.dump();
  db.close();
  return { totalMs, openMs: t1 - t0, replayMs: r.ms, replayed: r.replayed, dump };
}

process.stderr.write(`building ${dir}: ${ACCOUNTS} accounts, ${OPS} ops + ${TAIL} tail ops\n`);
const built = await build();
const s = built.seals;
console.log(
  JSON.stringify({
    build: { ms: Math.round(built.buildMs), history_entries: built.head, last_snapshot_l2_tx_index: built.lastSnapshotIndex, state_bytes: built.dump.length },
    dump_at_batch_close: {
      batch_closes: s.count,
      // On the lane's thread: the dump only. The file is written after the seal commits
      // (inline here; the storage worker in the sequencer).
      avg_ms: ms(s.totalMs / s.count),
      max_ms: ms(s.maxMs),
      last_ms: ms(s.lastMs),
      last_bytes: s.lastBytes,
      avg_dump_ms: ms(s.dumpMs / s.count),
      avg_sha256_write_fsync_rename_fsyncdir_ms: ms(s.workerMs / s.count),
    },
  }),
);

/** What a `--measure` child reports; the snapshot fields only for a snapshot restart. */
interface MeasuredRestart {
  totalMs: number;
  replayed: number;
  openMs?: number;
  loadMs?: number;
  replayMs?: number;
  bytes?: number;
}

/** One restart in a fresh process with this process's environment (so the same JS heap sizing). */
function measureInChild(kind: "snapshot" | "genesis"): MeasuredRestart {
  const p = Bun.spawnSync([process.execPath, import.meta.path, "--measure", kind, dir], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`restart (${kind}) exited with ${p.exitCode}: ${p.stderr.toString().slice(-2000)}`);
  const r = JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!) as MeasuredRestart & { dumpSha256: string };
  if (r.dumpSha256 !== sha256(built.dump)) throw new Error(`a rebuilt state (${kind}) differs from the state before the restart`);
  return r;
}

const runs = 3;
const withSnap: MeasuredRestart[] = [];
const genesis: MeasuredRestart[] = [];
for (let i = 0; i < runs; i++) {
  withSnap.push(measureInChild("snapshot"));
  genesis.push(measureInChild("genesis"));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const w = withSnap[0]!;
console.log(
  JSON.stringify({
    restart_with_snapshot: {
      median_ms: ms(median(withSnap.map((r) => r.totalMs))),
      runs_ms: withSnap.map((r) => ms(r.totalMs)),
      open_db_and_app_ms: ms(w.openMs!),
      load_snapshot_ms: ms(median(withSnap.map((r) => r.loadMs!))),
      replay_ms: ms(median(withSnap.map((r) => r.replayMs!))),
      replayed_entries: w.replayed,
      snapshot_bytes: w.bytes,
    },
    restart_from_genesis: {
      median_ms: ms(median(genesis.map((r) => r.totalMs))),
      runs_ms: genesis.map((r) => ms(r.totalMs)),
      // Opening the database and building the app (instrumenting the module: a real restart
      // loads that from <dataDir>/metered/) are reported apart from the replay itself, which
      // is what the replay-rate target is about.
      open_db_and_app_ms: ms(median(genesis.map((r) => r.openMs!))),
      replay_ms: ms(median(genesis.map((r) => r.replayMs!))),
      replay_ops_per_s: Math.round(genesis[0]!.replayed / (median(genesis.map((r) => r.replayMs!)) / 1000)),
      replayed_entries: genesis[0]!.replayed,
    },
    same_state_bytes: true,
  }),
);
if (!givenDir) rmSync(dir, { recursive: true, force: true });
