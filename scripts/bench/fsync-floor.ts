/**
 * The latency floor of one FULL-sync SQLite writer on this disk (issue 7, the feed p99
 * target): `bun scripts/bench/fsync-floor.ts [--rates=1000,2000,5000] [--duration=10]
 * [--storage-worker=1]`.
 *
 * Poisson arrivals at each rate are committed through the real schema and LaneStore by one
 * writer that takes every op that has arrived (scripts/bench/lib/floor.ts). Nothing else
 * runs: no HTTP, no signature recovery, no app, no feed. The percentiles are therefore the
 * least any sequencer that answers after a FULL commit can reach on this disk at that rate;
 * compare them with the bench's ack and POST → feed figures. With --storage-worker=1 the
 * sequencer's storage worker runs alongside (WAL checkpoints, the tx_hash index), to show
 * what its I/O costs the writer's commits on the same disk.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/storage/db.ts";
import { LaneStore } from "../../src/storage/lane-store.ts";
import { createLogger } from "../../src/observability/log.ts";
import { StorageBackground } from "../../src/storage/storage-background.ts";
import { poissonArrivals, realClock, runSingleWriter } from "./lib/floor.ts";
import { summarize } from "./lib/stats.ts";

const flags = new Map(process.argv.slice(2).map((a) => {
  const m = /^--([a-z-]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`unknown argument ${a} (use --rates=L --duration=S --storage-worker=1)`);
  return [m[1]!, m[2]!] as const;
}));
const rates = (flags.get("rates") ?? "1000,2000,5000").split(",").map(Number);
const durationS = Number(flags.get("duration") ?? 10);
if (rates.some((r) => !(r > 0)) || !(durationS > 0)) throw new Error("--rates and --duration must be positive numbers");
const withWorker = flags.get("storage-worker") === "1";

const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));

for (const rate of rates) {
  const dir = mkdtempSync(join(tmpdir(), "seq-floor-"));
  const db = openDatabase(dir);
  const worker = withWorker ? new StorageBackground({ dataDir: dir, log: createLogger({ write: () => {} }), writerDb: db }) : null;
  worker?.start();
  try {
    const store = new LaneStore(db);
    let frame = 0;
    store.transaction(() => {
      frame = store.openFrame(store.openBatch(0, null, 0), 0, 1, 1356, 0);
    });
    // Rows shaped like the bench's ops (a 53-byte transfer), made before the clock starts.
    const rows = Array.from({ length: 256 }, () => ({
      frameId: frame, sender: rnd(20), nonce: 0, maxFee: 1409, data: rnd(53), signature: rnd(65), txHash: rnd(32), acceptedAtMs: 0,
    }));
    let r = 0;
    const commit = (n: number) =>
      store.transaction(() => {
        for (let i = 0; i < n; i++) store.insertUserOp(rows[r++ % rows.length]!);
      });
    const run = await runSingleWriter(poissonArrivals(rate, durationS, rate), commit, realClock);
    const lat = summarize(run.latencies);
    const commits = summarize(run.commitMs);
    let slowMs = 0;
    let slow = 0;
    for (const d of run.commitMs) if (d > 10) (slow++, (slowMs += d));
    console.log(JSON.stringify({
      rate_per_s: rate,
      storage_worker: withWorker,
      ops: run.latencies.length,
      commits: run.commitMs.length,
      ops_per_commit: +(run.latencies.length / run.commitMs.length).toFixed(2),
      latency_ms: lat,
      commit_ms: commits,
      commits_over_10ms: slow,
      share_of_time_in_commits_over_10ms: +(slowMs / (durationS * 1000)).toFixed(4),
    }));
  } finally {
    await worker?.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
