/**
 * The snapshot lifecycle against real SQLite, the real wallet WASM and the real lane:
 * dump at seal, finalization on landing, GC, leases, the startup sweep and the rebuild.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../test/support/sequencer.ts";
import { bytesToHex } from "../core/bytes.ts";
import { replayHistory } from "../restore/rebuild.ts";
import { SnapshotStore } from "../storage/snapshot-store.ts";
import { SnapshotError } from "./errors.ts";
import { sha256, snapshotDir, snapshotFileName, TEMP_PREFIX, writeSnapshotFile } from "../storage/snapshot-files.ts";
import { inlineSnapshotWriter } from "./lifecycle.ts";
import { account, Harness, newApp, silent, transfer } from "../../scripts/lib/snapshot-harness.ts";
import { compileAs, CONFIG, fixtureSource } from "../../scripts/lib/app-fixtures.ts";
import { AppHost } from "../app/host.ts";
import { createLogger } from "../observability/log.ts";

const open: Harness[] = [];
const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  for (const d of dirs.splice(0)) d.remove();
});

function newDir(): string {
  const d = tempDir("snap-unit-");
  dirs.push(d);
  return d.path;
}

function harness(dir: string, o?: ConstructorParameters<typeof Harness>[1]): Harness {
  const h = new Harness(dir, o);
  open.push(h);
  return h;
}

function restart(h: Harness, o?: ConstructorParameters<typeof Harness>[1]): Harness {
  h.close();
  return harness(h.dir, o);
}

/** One batch sealed with one op, its snapshot file write held until `release()`. */
async function sealedWithHeldWrite(): Promise<{ h: Harness; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = harness(newDir(), {
    writer: async (dir, i, b, bytes) => {
      await gate;
      return inlineSnapshotWriter(dir, i, b, bytes);
    },
  });
  await h.deposit([{ to: account(0), amount: 10n ** 18n }]);
  await h.submit(h.op(account(0), 0, transfer(1n, account(1))));
  h.clock += 1000;
  h.lane.tick();
  await h.until(() => h.sealedCount() === 1, "sealed");
  return { h, release };
}

type Row = { snapshot_id: number; batch_id: number; l2_tx_index: number; file_name: string; size_bytes: number; sha256: Uint8Array };
const rows = (h: Harness) => h.db.query("SELECT * FROM snapshots ORDER BY l2_tx_index").all() as Row[];
const files = (h: Harness) => readdirSync(snapshotDir(h.dir)).sort();

/** Funds three accounts, then seals `batches` batches of two transfers each. */
async function traffic(h: Harness, batches: number, nonceBase = 0): Promise<void> {
  if (nonceBase === 0) await h.deposit([0, 1, 2].map((i) => ({ to: account(i), amount: 10n ** 18n })));
  for (let b = 0; b < batches; b++) {
    const n = nonceBase + b;
    expect((await h.submit(h.op(account(0), n, transfer(1000n + BigInt(n), account(1))))).ok).toBe(true);
    expect((await h.submit(h.op(account(1), n, transfer(7n, account(2))))).ok).toBe(true);
    await h.seal();
  }
}

describe("snapshot at every batch close", () => {
  test("file written after the seal commits, then registered; state = the first l2_tx_index entries", async () => {
    const h = harness(newDir());
    await traffic(h, 3);
    const r = rows(h);
    const sealed = h.db.query("SELECT batch_id AS id FROM batches WHERE closed_at_ms IS NOT NULL ORDER BY nonce").all() as { id: number }[];
    expect(r.map((x) => x.batch_id)).toEqual(sealed.map((s) => s.id));
    // batch 0: 3 deposits + 2 ops; then 2 ops per batch
    expect(r.map((x) => x.l2_tx_index)).toEqual([5, 7, 9]);
    expect(files(h)).toEqual(r.map((x) => x.file_name).sort());
    // Each file is the state after exactly l2_tx_index entries: replay a fresh app to there.
    for (const row of r) {
      const bytes = new Uint8Array(readFileSync(join(snapshotDir(h.dir), row.file_name)));
      expect(bytes.length).toBe(row.size_bytes);
      expect(bytesToHex(sha256(bytes))).toBe(bytesToHex(row.sha256));
      const partial = newApp();
      // replay a fresh app up to the snapshot's index only
      replayHistory(partial, h.history, 0, silent, row.l2_tx_index);
      expect(bytesToHex(bytes)).toBe(bytesToHex(partial.dump()));
      expect(row.l2_tx_index).toBe(Number(partial.executedInputCount));
    }
    expect(h.snapshots.sealStats.count).toBe(3);
  });

  test("a seal that rolls back writes no file and registers nothing", async () => {
    let failNext = false;
    const h = harness(newDir(), {
      wrapSeal: (inner) => (b, i, now) => {
        const then = inner(b, i, now);
        if (failNext) throw new Error("simulated failure after the dump, before commit");
        return then;
      },
    });
    await traffic(h, 1);
    failNext = true;
    await h.submit(h.op(account(0), 1, transfer(1n, account(1))));
    h.clock += 1000;
    h.lane.tick();
    await Bun.sleep(50);
    await h.snapshots.whenIdle();
    expect(h.fatal.length).toBe(1);
    // the rolled-back seal's continuation never ran: one row, one file
    expect(rows(h).length).toBe(1);
    expect(files(h)).toEqual(rows(h).map((x) => x.file_name));
    const h2 = restart(h);
    expect(files(h2)).toEqual(rows(h2).map((x) => x.file_name));
    expect(rows(h2).length).toBe(1);
  });

  test("a snapshot whose batch was invalidated before its file was written is dropped, file included", async () => {
    // the write is still in flight while the batch gets invalidated
    const { h, release } = await sealedWithHeldWrite();
    h.db.query("UPDATE batches SET invalidated_at_ms = 1 WHERE closed_at_ms IS NOT NULL").run();
    release();
    await h.snapshots.whenIdle();
    expect(rows(h)).toEqual([]);
    expect(files(h)).toEqual([]);
  });

  test("a batch accepted on L1 before its file is registered becomes the finalized snapshot at registration", async () => {
    const { h, release } = await sealedWithHeldWrite();
    const block = h.land(0); // the reader records the landing; no snapshot row exists yet
    expect(h.snapshots.finalized()).toBeNull();
    release();
    await h.snapshots.whenIdle();
    const fin = h.snapshots.finalized();
    expect(fin?.inclusionBlock).toBe(block);
    expect(fin?.snapshot.fileName).toBe(rows(h)[0]!.file_name);
  });

  test("crash between fsync and row insert: orphan and temp files swept; no row points at a missing file", async () => {
    const h = harness(newDir());
    await traffic(h, 2);
    // The writer ran (file durable), the process died before the insert: simulate with the
    // real writer and no registration, plus a temp file of a write that never got renamed.
    const bytes = h.app.dump();
    const orphan = snapshotFileName(999, 42, sha256(bytes));
    writeSnapshotFile(snapshotDir(h.dir), orphan, bytes);
    writeFileSync(join(snapshotDir(h.dir), `${TEMP_PREFIX}${orphan}-deadbeef`), bytes.subarray(0, 10));
    expect(files(h).length).toBe(4);
    const before = h.dumpHex();
    const h2 = restart(h);
    const r = rows(h2);
    expect(files(h2)).toEqual(r.map((x) => x.file_name).sort());
    for (const x of r) expect(existsSync(join(snapshotDir(h2.dir), x.file_name))).toBe(true);
    expect(h2.dumpHex()).toBe(before);
  });
});

describe("finalization and GC", () => {
  test("landing finalizes in the reader's transaction, moves forward only, GC keeps finalized + pending + newest", async () => {
    const h = harness(newDir());
    await traffic(h, 4);
    const st = new SnapshotStore(h.db);
    expect(st.finalized()).toBeNull();
    // nothing finalized: GC keeps everything
    expect(h.snapshots.gc()).toBe(0);
    const block0 = h.land(0);
    let fin = st.finalized()!;
    expect(fin.inclusionBlock).toBe(block0);
    expect(fin.snapshot.batchNonce).toBe(0);
    expect(fin.snapshot.l2TxIndex).toBe(5);
    h.land(1);
    const block2 = h.land(2);
    fin = st.finalized()!;
    expect(fin.snapshot.batchNonce).toBe(2);
    expect(fin.inclusionBlock).toBe(block2);
    expect((h.db.query("SELECT COUNT(*) AS n FROM finalized_snapshot").get() as { n: number }).n).toBe(1);
    // an older batch's snapshot can never take the pointer back
    expect(st.markFinalized(rows(h)[0]!.batch_id, fin.inputIndex, 0)).toBe(false);
    expect(st.finalized()!.snapshot.batchNonce).toBe(2);

    const removed = h.snapshots.gc();
    expect(removed).toBe(2); // nonces 0 and 1
    expect(rows(h).map((x) => x.l2_tx_index)).toEqual([9, 11]); // finalized (2) + pending (3)
    expect(files(h)).toEqual(rows(h).map((x) => x.file_name).sort());
    // the finalized row is protected by its foreign key too
    expect(() => h.db.query("DELETE FROM snapshots WHERE snapshot_id = ?").run(fin.snapshot.snapshotId)).toThrow();
  });

  test("a leased snapshot survives GC until released; leases of a dead process are cleared at start", async () => {
    const h = harness(newDir());
    await traffic(h, 3);
    h.land(0);
    const leased = h.snapshots.leaseFinalized()!;
    expect(leased.finalized.snapshot.batchNonce).toBe(0);
    h.land(1);
    expect(h.snapshots.gc()).toBe(0); // nonce 0 is superseded but leased
    expect(existsSync(h.snapshots.pathOf(leased.lease.snapshot))).toBe(true);
    h.snapshots.release(leased.lease.leaseId);
    h.snapshots.release(leased.lease.leaseId); // idempotent
    expect(h.snapshots.gc()).toBe(1);
    expect(existsSync(h.snapshots.pathOf(leased.lease.snapshot))).toBe(false);

    // A lease left behind by a crashed process does not pin its snapshot forever.
    const stale = h.snapshots.leaseFinalized()!; // nonce 1
    h.land(2);
    h.db.query("UPDATE snapshot_leases SET process_instance = 'dead-process'").run();
    const h2 = restart(h);
    expect(h2.snapshots.store.leaseCount()).toBe(0);
    expect(rows(h2).some((x) => x.snapshot_id === stale.lease.snapshot.snapshotId)).toBe(false);
  });
});

describe("startup rebuild", () => {
  test("loads the newest snapshot and replays only the entries after it", async () => {
    const h = harness(newDir());
    await traffic(h, 3);
    // two more ops after the last seal: they must be replayed
    await h.submit(h.op(account(0), 3, transfer(5n, account(2))));
    await h.submit(h.op(account(2), 0, transfer(5n, account(0))));
    const before = h.dumpHex();
    const pos = h.app.position;
    const h2 = restart(h);
    expect(h2.rebuilt.snapshot?.l2TxIndex).toBe(9);
    expect(h2.rebuilt.replayed).toBe(2);
    expect(h2.dumpHex()).toBe(before);
    expect(h2.app.position).toEqual(pos);
    // and the lane goes on sealing on top of it
    await h2.submit(h2.op(account(1), 3, transfer(1n, account(0))));
    await h2.seal();
    expect(rows(h2).at(-1)!.l2_tx_index).toBe(12);
  });

  test("no snapshot: replays from 0", async () => {
    const h = harness(newDir());
    await h.deposit([{ to: account(0), amount: 10n ** 18n }]);
    const h2 = restart(h);
    expect(h2.rebuilt.snapshot).toBeNull();
    expect(h2.rebuilt.replayed).toBe(1);
  });

  test("a missing or corrupt referenced snapshot is a fatal SnapshotError naming the file", async () => {
    const h = harness(newDir());
    await traffic(h, 2);
    const newest = rows(h).at(-1)!;
    const path = join(snapshotDir(h.dir), newest.file_name);
    const original = new Uint8Array(readFileSync(path));
    h.close();

    const startFails = (): SnapshotError => {
      try {
        harness(h.dir);
      } catch (e) {
        expect(e).toBeInstanceOf(SnapshotError);
        return e as SnapshotError;
      }
      throw new Error("startup did not fail");
    };
    renameSync(path, `${path}.away`);
    let err = startFails();
    expect(err.code).toBe("SNAPSHOT_MISSING");
    expect(err.message).toContain(path);
    expect(err.file).toBe(path);

    const flipped = original.slice();
    flipped[flipped.length - 1]! ^= 0x01;
    writeFileSync(path, flipped);
    err = startFails();
    expect(err.code).toBe("SNAPSHOT_CORRUPT");
    expect(err.message).toContain(path);

    writeFileSync(path, original.subarray(0, original.length - 56));
    expect(startFails().code).toBe("SNAPSHOT_CORRUPT");

    // the intact file back: startup works again, from that snapshot
    writeFileSync(path, original);
    const h2 = harness(h.dir);
    expect(h2.rebuilt.snapshot?.path).toBe(path);
  });
});

describe("a state the app cannot dump", () => {
  test("costs the snapshot, not the lane: the seal commits, later ops are acknowledged, the skip is counted and logged", async () => {
    // a module that accepts every op and whose dump traps, as the wallet's does past ~60k accounts
    const wasm = await compileAs(fixtureSource({ dump: "export function dump(): i32 { unreachable(); return 0; }" }));
    const lines: string[] = [];
    const h = harness(newDir(), { app: () => AppHost.create(wasm, CONFIG), log: createLogger({ write: (l) => lines.push(l) }) });
    expect((await h.submit(h.op(account(0), 0, new Uint8Array(1)))).ok).toBe(true);
    await h.seal();
    expect(h.fatal).toEqual([]);
    expect(h.sealedCount()).toBe(1);
    expect(h.snapshots.sealStats.dumpFailures).toBe(1);
    expect(rows(h)).toEqual([]);
    const skipped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "snapshot skipped: the app could not dump its state");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ level: "error", failure: "trap" });
    expect((await h.submit(h.op(account(0), 0, new Uint8Array(1)))).ok).toBe(true);
    expect(h.app.isDead).toBe(false);
  });
});
