/**
 * What one group commit of the inclusion lane costs on this disk, through the real schema
 * and LaneStore, and how much of it is the random-keyed `user_ops_tx_hash` index.
 *
 *   bun scripts/bench/commit.ts
 *
 * Prints p50 per commit and per op for 1, 11 and 64 ops per commit, then for 64 ops with the
 * tx_hash index dropped and with synchronous=NORMAL (for comparison only: the sequencer
 * always commits with FULL).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { openDatabase } from "../../src/storage/db.ts";
import { LaneStore } from "../../src/storage/lane-store.ts";

const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));

function run(label: string, perCommit: number, prepare: (db: Database) => void = () => {}): void {
  const dir = mkdtempSync(join(tmpdir(), "seq-commit-"));
  const db = openDatabase(dir);
  try {
    prepare(db);
    const s = new LaneStore(db);
    let frame = 0;
    s.transaction(() => {
      frame = s.openFrame(s.openBatch(0, null, 0), 0, 1, 1356, 0);
    });
    const times: number[] = [];
    for (let c = 0; c < 300; c++) {
      const t0 = performance.now();
      s.transaction(() => {
        for (let i = 0; i < perCommit; i++) {
          s.insertUserOp({ frameId: frame, sender: rnd(20), nonce: 0, maxFee: 1409, data: rnd(53), signature: rnd(65), txHash: rnd(32), acceptedAtMs: 0 });
        }
      });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)]!;
    const p99 = times[Math.floor(times.length * 0.99)]!;
    console.log(
      JSON.stringify({ case: label, ops_per_commit: perCommit, p50_ms: +p50.toFixed(3), p99_ms: +p99.toFixed(3), us_per_op: Math.round((p50 * 1000) / perCommit) }),
    );
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const n of [1, 11, 64]) run("schema as is", n);
// Migration 8 moved the tx_hash index into tx-index.db; this puts it back for comparison.
run("with the old user_ops_tx_hash index", 64, (db) => db.exec("CREATE INDEX user_ops_tx_hash ON user_ops(tx_hash)"));
run("synchronous=NORMAL (comparison only)", 64, (db) => db.exec("PRAGMA synchronous = NORMAL"));
