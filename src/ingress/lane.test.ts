/**
 * The inclusion lane against real SQLite and the real wallet WASM. The L1 side is driven
 * through the input reader's own storage writer (ReaderStore), which is exactly what the
 * reader does after reading L1; no L1 is needed to exercise the lane's rules.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { keccak256 } from "viem";
import { bytesToHex, hexToBytes } from "../core/bytes.ts";
import { domainSeparator, userOpDigest } from "../core/eip712.ts";
import { DEFAULT_BATCH_POLICY, recommendedFee, batchSizeTargetExponent } from "../core/fees.ts";
import type { SequencedTx } from "../core/l2tx.ts";
import { decodeBatch, encodeBatch, txHash } from "../core/ssz.ts";
import { recoverSigner } from "../core/signature.ts";
import { openDatabase } from "../storage/db.ts";
import { loadBatchPolicy, loadDerivedPolicy } from "../storage/policy-store.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { signOp, transferData } from "../../test/support/client.ts";
import { APP, CHAIN, cleanups, KEY, newHarness, rows, submit, SUBMITTER, TO, USER } from "../../test/support/lane-harness.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { handleTx } from "./tx-route.ts";

describe("inclusion lane", () => {
  test("directs are drained into a new frame only once the safe head is 5 past", async () => {
    const h = newHarness(10);
    h.deposit(12, 10n ** 18n, 14);
    await Bun.sleep(5);
    expect(h.committed.flat().length).toBe(0); // 14 < 10 + 5: no new frame yet
    h.deposit(15, 5n, 15);
    await Bun.sleep(5);
    const drained = h.committed.flat();
    expect(drained.map((e) => [e.kind, e.offset])).toEqual([["direct_input", 0], ["direct_input", 1]]);
    // The root frame was still empty, so it was re-stamped rather than followed by another.
    const frames = rows(h.db, "SELECT frame_index, safe_block, fee FROM frames ORDER BY frame_id");
    expect(frames).toEqual([{ frame_index: 0, safe_block: 15, fee: 1356 }]);
    const r = await submit(h, await h.op(0));
    expect(r).toEqual({ ok: true, offset: 2 });
    // Now the frame has content: the next advance opens a new frame, draining first.
    h.deposit(18, 7n, 20);
    await Bun.sleep(5);
    const r2 = await submit(h, await h.op(1));
    expect(r2).toEqual({ ok: true, offset: 4 });
    expect(h.committed.flat().map((e) => [e.kind, e.offset])).toEqual([
      ["direct_input", 0],
      ["direct_input", 1],
      ["user_op", 2],
      ["direct_input", 3],
      ["user_op", 4],
    ]);
    expect(rows(h.db, "SELECT frame_index, safe_block FROM frames ORDER BY frame_id")).toEqual([
      { frame_index: 0, safe_block: 15 },
      { frame_index: 1, safe_block: 20 },
    ]);
  });

  test("an idle batch's empty first frame is re-stamped, so the batch never lands stale", async () => {
    const h = newHarness(10);
    // Thousands of blocks pass with nothing to sequence.
    h.lane.observeSafeHead(5000);
    await Bun.sleep(5);
    h.deposit(5000, 10n ** 18n, 5000);
    await Bun.sleep(5);
    expect((await submit(h, await h.op(0))).ok).toBe(true);
    const frames = rows(h.db, "SELECT frame_index, safe_block FROM frames ORDER BY frame_id");
    expect(frames).toEqual([{ frame_index: 0, safe_block: 5000 }]);
  });

  test("deposits already safe at genesis are drained into the first frame before any op", async () => {
    const h = newHarness(10, { preexisting: [{ block: 7, amount: 10n ** 18n }, { block: 10, amount: 1n }] });
    // The first op arrives before the safe head moves: frame 0 (safe block 10) must hold the
    // deposits first, exactly as the scheduler drains them before that frame's ops.
    const r = await submit(h, await h.op(0));
    expect(r).toEqual({ ok: true, offset: 2 });
    expect(h.committed.flat().map((e) => [e.kind, e.offset])).toEqual([
      ["direct_input", 0],
      ["direct_input", 1],
      ["user_op", 2],
    ]);
    expect(rows(h.db, "SELECT frame_index, safe_block FROM frames")).toEqual([{ frame_index: 0, safe_block: 10 }]);
  });

  test("submitter inputs are never drained as direct inputs", async () => {
    const h = newHarness(10);
    h.reader.append(
      [{ inputIndex: 0, sender: hexToBytes(SUBMITTER, 20), blockNumber: 11, blockTimestamp: 0, txHash: new Uint8Array(32), payload: new Uint8Array([1]) }],
      { safeBlock: 16, finalizedBlock: 16, scannedThroughBlock: 16 },
      Date.now(),
    );
    h.nextIndex = 1;
    h.lane.observeSafeHead(16);
    h.deposit(16, 10n ** 18n, 16);
    await Bun.sleep(5);
    const drained = h.committed.flat();
    expect(drained.length).toBe(1);
    expect(drained[0]).toMatchObject({ kind: "direct_input", inputIndex: 1 });
  });

  test("a chunk of concurrent ops shares one commit; acks carry dense offsets", async () => {
    const h = newHarness(10);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    const commitsBefore = h.committed.length;
    const ops = await Promise.all(Array.from({ length: 50 }, (_, i) => h.op(i)));
    const results = await Promise.all(ops.map((o) => submit(h, o)));
    expect(results.map((r) => (r.ok ? r.offset : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(h.committed.length - commitsBefore).toBe(1);
    expect(h.app.nonceOf(USER)).toBe(50);
    expect(h.lane.queueDepth).toBe(0);
  });

  test("an op alone commits at once; ops queued before the lane's turn share one commit", async () => {
    const h = newHarness(10);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    const ops = await Promise.all(Array.from({ length: 8 }, (_, i) => h.op(i)));
    // sequential, one at a time (concurrency 1): one commit each, nothing held back
    const start = h.lane.commits;
    for (const o of ops.slice(0, 3)) expect((await submit(h, o)).ok).toBe(true);
    expect(h.lane.commits - start).toBe(3);
    // five submitted in one go (a burst that arrived while the lane was busy): one commit
    const mid = h.lane.commits;
    expect((await Promise.all(ops.slice(3).map((o) => submit(h, o)))).every((r) => r.ok)).toBe(true);
    expect(h.lane.commits - mid).toBe(1);
    expect(h.app.nonceOf(USER)).toBe(8);
    // Every commit was timed (the metric seq_lane_commit_seconds), with the ops it answered.
    expect(h.commitTimes.length).toBe(h.lane.commits);
    expect(h.commitTimes.slice(-4).map((c) => c.ops)).toEqual([1, 1, 1, 5]);
    expect(h.commitTimes.every((c) => c.seconds > 0 && c.seconds < 60)).toBe(true);
  });

  test("rejected ops are answered and never stored", async () => {
    const h = newHarness(10);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    const bad = [await h.op(3), await h.op(0, 1355)];
    const results = await Promise.all(bad.map((o) => submit(h, o)));
    expect(results[0]).toEqual({ ok: false, code: "EXECUTION_REJECTED", message: "bad nonce: expected 0, got 3" });
    expect(results[1]).toMatchObject({ ok: false, code: "EXECUTION_REJECTED" });
    expect(rows(h.db, "SELECT COUNT(*) AS n FROM user_ops")[0].n).toBe(0);
    expect(h.app.nonceOf(USER)).toBe(0);
  });

  test("a batch closes at the size target, is sealed with its payload hash, and chains", async () => {
    const h = newHarness(10);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    // 12 (batch) + 1 frame x 18 + n x (83 + 53) >= 12578  →  n = 93.
    const ops = await Promise.all(Array.from({ length: 95 }, (_, i) => h.op(i)));
    for (const o of ops) expect((await submit(h, o)).ok).toBe(true);
    const batches = rows(h.db, "SELECT batch_id, nonce, parent_id, closed_at_ms IS NOT NULL AS closed, sealed_hash FROM batches ORDER BY batch_id");
    expect(batches.length).toBe(2);
    expect(batches[0]).toMatchObject({ nonce: 0, parent_id: null, closed: 1 });
    expect(batches[1]).toMatchObject({ nonce: 1, parent_id: batches[0].batch_id, closed: 0 });
    const contents = new HistoryQueries(h.db).batchContents(batches[0].batch_id, 0);
    const bytes = encodeBatch(contents);
    expect(bytesToHex(batches[0].sealed_hash)).toBe(keccak256(bytes));
    expect(bytes.length).toBeGreaterThanOrEqual(12578);
    expect(bytes.length).toBeLessThan(12578 + 136);
    const decoded = decodeBatch(bytes);
    expect(decoded.nonce).toBe(0n);
    expect(decoded.frames.map((f) => f.safeBlock)).toEqual([15n]);
    expect(decoded.frames[0]!.userOps.length).toBe(93);
    // Every sealed op verifies against the EIP-712 domain: the batch is what the scheduler reads.
    const sep = domainSeparator(CHAIN, APP);
    for (const op of decoded.frames[0]!.userOps) {
      expect(recoverSigner(userOpDigest(sep, op.nonce, op.maxFee, op.data), op.signature)).toBe(USER);
    }
    // The child's first frame starts at the parent's last safe block.
    const childFrames = rows(h.db, "SELECT frame_index, safe_block FROM frames WHERE batch_id = ?", batches[1].batch_id);
    expect(childFrames).toEqual([{ frame_index: 0, safe_block: 15 }]);
  });

  test("a batch with content closes after the maximum open time; an empty one stays open", async () => {
    const h = newHarness(10, { maxBatchOpenMs: 50 });
    h.lane.start();
    await Bun.sleep(1200);
    expect(rows(h.db, "SELECT COUNT(*) AS n FROM batches")[0].n).toBe(1);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    expect((await submit(h, await h.op(0))).ok).toBe(true);
    await Bun.sleep(1200);
    // Batch 0 closed holding the drained deposit, batch 1 holding the op; batch 2 is empty
    // and stays open however long it waits.
    const b = rows(h.db, "SELECT nonce, closed_at_ms IS NOT NULL AS closed FROM batches ORDER BY nonce");
    expect(b).toEqual([{ nonce: 0, closed: 1 }, { nonce: 1, closed: 1 }, { nonce: 2, closed: 0 }]);
    const perBatch = rows(h.db, `SELECT b.nonce, COUNT(s.l2_offset) AS n FROM batches b
      JOIN frames f ON f.batch_id = b.batch_id LEFT JOIN sequenced_l2_txs s ON s.frame_id = f.frame_id
      GROUP BY b.nonce ORDER BY b.nonce`);
    expect(perBatch).toEqual([{ nonce: 0, n: 1 }, { nonce: 1, n: 1 }, { nonce: 2, n: 0 }]);
  });

  test("restart restores the open batch, frame and offsets from storage", async () => {
    const dir = tempDir().path;
    const h = newHarness(10, { dir });
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    for (let i = 0; i < 3; i++) expect((await submit(h, await h.op(i))).ok).toBe(true);
    const snap = h.lane.snapshot();
    h.lane.stop();
    h.db.close();
    const h2 = newHarness(15, { dir });
    expect(h2.lane.snapshot()).toEqual(snap);
    expect(h2.lane.headOffset).toBe(4);
  });

  test("the danger guard is asked before a chunk of ops is confirmed; a refusal stores nothing", async () => {
    let refusal: string | null = null;
    let asked = 0;
    const h = newHarness(10, {
      guard: () => {
        asked++;
        return refusal;
      },
    });
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    expect(asked).toBe(0); // draining deposits confirms no op: not asked
    expect((await submit(h, await h.op(0))).ok).toBe(true);
    expect(asked).toBe(1);
    refusal = "recovering: batch 0 (open) is 950 blocks old, threshold 900";
    expect(await submit(h, await h.op(1))).toEqual({ ok: false, code: "UNAVAILABLE", message: refusal });
    expect(rows(h.db, "SELECT COUNT(*) AS n FROM user_ops")[0].n).toBe(1);
    expect(h.app.nonceOf(USER)).toBe(1);
    expect(h.lane.queueDepth).toBe(0);
  });

  test("queue capacity bounds admitted ops", () => {
    const h = newHarness(10, { queueCapacity: 2 });
    expect(h.lane.tryReserve()).toBe(true);
    expect(h.lane.tryReserve()).toBe(true);
    expect(h.lane.tryReserve()).toBe(false);
    h.lane.release();
    expect(h.lane.tryReserve()).toBe(true);
  });

  test("a failed commit answers INTERNAL_ERROR, reports fatal, and stops taking work", async () => {
    const h = newHarness(10);
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    const op = await h.op(0);
    // A real SQLite failure on the write path: the connection refuses writes (SQLITE_READONLY).
    h.db.exec("PRAGMA query_only = ON");
    expect(await submit(h, op)).toEqual({ ok: false, code: "INTERNAL_ERROR", message: "inclusion lane failed" });
    expect(h.fatal.length).toBe(1);
    expect(h.lane.isHealthy).toBe(false);
    expect(await submit(h, await h.op(0))).toMatchObject({ ok: false, code: "UNAVAILABLE" });
  });

  test("POST /tx logic answers 503 UNAVAILABLE while offline and stores nothing", async () => {
    const h = newHarness(10);
    const body = await signOp(KEY, { nonce: 0, maxFee: 1409, data: transferData(1n, TO) }, CHAIN, APP);
    const sep = domainSeparator(CHAIN, APP);
    const reply = await handleTx(JSON.stringify(body), {
      lane: h.lane,
      maxDataLength: 53,
      recover: async (op) => ({
        signer: recoverSigner(userOpDigest(sep, op.nonce, op.maxFee, op.data), op.signature),
        txHash: txHash(op),
      }),
      unavailableReason: () => "shutting down",
    });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body)).toEqual({ ok: false, code: "UNAVAILABLE", message: "shutting down" });
    expect(h.lane.queueDepth).toBe(0);
    expect(rows(h.db, "SELECT COUNT(*) AS n FROM user_ops")[0].n).toBe(0);
  });
});

describe("batch policy", () => {
  test("the batch_policy_derived view agrees with core/fees.ts", () => {
    const db = openDatabase(tempDir().path);
    cleanups.push(() => db.close());
    expect(loadBatchPolicy(db)).toEqual({ ...DEFAULT_BATCH_POLICY });
    for (const [gas, delta] of [[0, 419], [120, 419], [300, 100], [-50, 700]] as const) {
      db.query("UPDATE batch_policy SET log_gas_price = ?, log_delta = ? WHERE id = 1").run(gas, delta);
      const p = loadBatchPolicy(db);
      expect(loadDerivedPolicy(db)).toEqual({
        recommendedFee: recommendedFee(p),
        batchSizeTarget: batchSizeTargetExponent(p),
      });
    }
  });
});
