/**
 * `GET /tx/:tx_hash` and `GET /batches`: input validation, JSON shapes and encodings, over a
 * real SQLite database seeded through the writer classes. The derivation itself is covered in
 * storage/status-queries.test.ts; `/batches` is also exercised over real HTTP on the internal
 * listener.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { keccak256 } from "viem";
import { bytesToHex } from "../core/bytes.ts";
import { encodeBatch, txHash as opTxHash } from "../core/ssz.ts";
import { startInternalServer } from "../cli/servers.ts";
import { createLogger } from "../observability/log.ts";
import { openDatabase } from "../storage/db.ts";
import { LaneStore } from "../storage/lane-store.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { ReaderStore } from "../storage/reader-store.ts";
import { StatusQueries } from "../storage/status-queries.ts";
import { SubmitterStore } from "../storage/submitter-store.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { batchesRoute, txStatusRoute } from "./status-routes.ts";

const closers: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const L1_TX = new Uint8Array(32).fill(0xcd);

/** Batch 0 (closed, submitted, mined at 12) with two ops; batch 1 open with one op. */
function seeded() {
  const dir = tempDir();
  const db = openDatabase(dir.path);
  closers.push(() => {
    db.close();
    dir.remove();
  });
  new ReaderStore(db).append([], { safeBlock: 10, finalizedBlock: 5, scannedThroughBlock: 10 }, 0);
  const lane = new LaneStore(db);
  const history = new HistoryQueries(db);
  const hashes: Uint8Array[] = [];
  const addOps = (frameId: number, n: number) => {
    for (let i = 0; i < n; i++) {
      const op = { nonce: hashes.length, maxFee: 2000, data: new Uint8Array(5 + i), signature: new Uint8Array(65).fill(9) };
      const txHash = opTxHash(op);
      hashes.push(txHash);
      lane.insertUserOp({ frameId, sender: new Uint8Array(20).fill(1), ...op, txHash, acceptedAtMs: 1 });
    }
  };
  const b0 = lane.transaction(() => {
    const id = lane.openBatch(0, null, Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    addOps(lane.openFrame(id, 0, 8, 1356, 0), 2);
    return id;
  });
  lane.closeBatch(b0, Date.UTC(2026, 0, 2, 3, 4, 7, 0), keccak256(encodeBatch(history.batchContents(b0, 0)), "bytes"));
  const sub = new SubmitterStore(db);
  sub.recordSubmission({ batchId: b0, walletNonce: 4, l1TxHash: L1_TX, maxFeePerGas: 3n, maxPriorityFeePerGas: 1n, sentAtMs: Date.UTC(2026, 0, 2, 3, 4, 8, 0) });
  sub.markMined(L1_TX, 12);
  lane.transaction(() => {
    const id = lane.openBatch(1, b0, Date.UTC(2026, 0, 2, 3, 4, 9, 0));
    addOps(lane.openFrame(id, 0, 9, 1356, 0), 1);
  });
  return { db, history, status: new StatusQueries(db), hashes, b0 };
}

const body = (r: { body: string }) => JSON.parse(r.body);

describe("GET /tx/:tx_hash", () => {
  test("answers the SPEC §4 shape, lowercase hex, for a hash given in any case", () => {
    const { status, hashes } = seeded();
    const h = bytesToHex(hashes[1]!);
    const r = txStatusRoute(status, h.toUpperCase().replace("0X", "0x"));
    expect(r.status).toBe(200);
    expect(body(r)).toEqual({
      tx_hash: h,
      status: "included",
      offset: 1,
      batch_nonce: 0,
      l1_tx_hash: bytesToHex(L1_TX),
      l1_block: 12,
      outputs: [],
    });
    expect(body(txStatusRoute(status, bytesToHex(hashes[2]!)))).toEqual({
      tx_hash: bytesToHex(hashes[2]!),
      status: "soft_confirmed",
      offset: 2,
      batch_nonce: 1,
      l1_tx_hash: null,
      l1_block: null,
      outputs: [],
    });
  });

  test("unknown hash → 404 NOT_FOUND", () => {
    const { status } = seeded();
    const r = txStatusRoute(status, "0x" + "ab".repeat(32));
    expect(r.status).toBe(404);
    expect(body(r)).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  test.each([
    ["missing prefix", "ab".repeat(32)],
    ["too short", "0x" + "ab".repeat(31)],
    ["too long", "0x" + "ab".repeat(33)],
    ["non-hex", "0x" + "zz".repeat(32)],
    ["0X prefix", "0X" + "ab".repeat(32)],
    ["empty", ""],
  ])("malformed hash (%s) → 400 BAD_REQUEST", (_name, raw) => {
    const { status } = seeded();
    const r = txStatusRoute(status, raw);
    expect(r.status).toBe(400);
    expect(body(r)).toMatchObject({ ok: false, code: "BAD_REQUEST" });
  });
});

describe("GET /batches", () => {
  test("the operator view: fields, ISO times, exact bytes", () => {
    const { status, history, b0 } = seeded();
    const r = batchesRoute(status, {});
    expect(r.status).toBe(200);
    const { batches } = body(r);
    expect(batches).toHaveLength(2);
    expect(batches[0]).toEqual({
      nonce: 0,
      batch_id: b0,
      state: "included",
      user_ops: 2,
      frames: 1,
      bytes: encodeBatch(history.batchContents(b0, 0)).length,
      opened_at: "2026-01-02T03:04:05.006Z",
      closed_at: "2026-01-02T03:04:07.000Z",
      sealed_hash: keccak256(encodeBatch(history.batchContents(b0, 0))),
      first_safe_block: 8,
      l1_tx_hash: bytesToHex(L1_TX),
      wallet_nonce: 4,
      submitted_at: "2026-01-02T03:04:08.000Z",
      mined_block: 12,
      landed_block: null,
      landed_input_index: null,
      finalized: false,
    });
    expect(batches[1]).toMatchObject({ nonce: 1, state: "open", user_ops: 1, closed_at: null, sealed_hash: null, l1_tx_hash: null, submitted_at: null });
    expect(body(batchesRoute(status, { from_nonce: "1", limit: "1" })).batches.map((b: { nonce: number }) => b.nonce)).toEqual([1]);
    expect(body(batchesRoute(status, { from_nonce: "0", limit: "1000" })).batches).toHaveLength(2);
  });

  test.each([
    [{ from_nonce: "-1" }],
    [{ from_nonce: "01" }],
    [{ from_nonce: "x" }],
    [{ from_nonce: "99999999999999999" }],
    [{ limit: "0" }],
    [{ limit: "1001" }],
    [{ limit: "1.5" }],
  ])("bad query %p → 400 BAD_REQUEST", (q) => {
    const { status } = seeded();
    const r = batchesRoute(status, q);
    expect(r.status).toBe(400);
    expect(body(r)).toMatchObject({ ok: false, code: "BAD_REQUEST" });
  });

  test("mounted on the internal listener", async () => {
    const { status } = seeded();
    const srv = startInternalServer({ listen: { host: "127.0.0.1", port: 0 }, log: createLogger({ write: () => {} }), batches: status });
    closers.push(() => srv.stop());
    const base = `http://127.0.0.1:${srv.port}`;
    const ok = await fetch(`${base}/batches?from_nonce=0&limit=10`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("application/json");
    expect(((await ok.json()) as { batches: unknown[] }).batches).toHaveLength(2);
    const bad = await fetch(`${base}/batches?limit=abc`);
    expect(bad.status).toBe(400);
  });
});
