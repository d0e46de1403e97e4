/**
 * Status derivation over a real SQLite database, seeded only through the writer classes
 * (LaneStore, SubmitterStore, ReaderStore + the reader's acceptance tracking). The one raw
 * UPDATE stamps `invalidated_at_ms`, for which no writer exists yet (recovery issue).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { keccak256 } from "viem";
import { encodeBatch, txHash as opTxHash } from "../core/ssz.ts";
import { trackAcceptance } from "../l1/acceptance.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { openDatabase } from "./db.ts";
import { LaneStore } from "./lane-store.ts";
import { HistoryQueries } from "./queries.ts";
import { ReaderStore } from "./reader-store.ts";
import { BATCHES_SQL, StatusQueries, TX_STATUS_SQL } from "./status-queries.ts";
import { SubmitterStore } from "./submitter-store.ts";
import type { Database } from "bun:sqlite";

const SUBMITTER = new Uint8Array(20).fill(0xaa);
const OTHER = new Uint8Array(20).fill(0x01);
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

function h32(n: number): Uint8Array {
  const b = new Uint8Array(32);
  b[0] = 0xab;
  b[31] = n;
  return b;
}

class World {
  readonly db: Database;
  readonly lane: LaneStore;
  readonly reader: ReaderStore;
  readonly sub: SubmitterStore;
  readonly history: HistoryQueries;
  readonly status: StatusQueries;
  private opNonce = 0;
  heads = { safeBlock: 10, finalizedBlock: 5, scannedThroughBlock: 10 };

  constructor() {
    const dir = tempDir();
    this.db = openDatabase(dir.path);
    closers.push(() => {
      this.db.close();
      dir.remove();
    });
    this.lane = new LaneStore(this.db);
    this.reader = new ReaderStore(this.db);
    this.sub = new SubmitterStore(this.db);
    this.history = new HistoryQueries(this.db);
    this.status = new StatusQueries(this.db);
    this.reader.append([], this.heads, 0);
  }

  /** A batch at `nonce` with `opsPerFrame[i]` ops of `dataLen` bytes in frame i; returns ids and op hashes. */
  batch(nonce: number, opsPerFrame: number[], opts: { close?: boolean; dataLen?: number; safeBlock?: number; parent?: number | null } = {}) {
    const hashes: Uint8Array[] = [];
    const batchId = this.lane.transaction(() => {
      const id = this.lane.openBatch(nonce, opts.parent ?? null, 1_000 + nonce);
      opsPerFrame.forEach((n, fi) => {
        const frameId = this.lane.openFrame(id, fi, (opts.safeBlock ?? 8) + fi, 1356, 1_000 + nonce);
        for (let k = 0; k < n; k++) {
          const op = {
            nonce: this.opNonce++,
            maxFee: 2000,
            data: new Uint8Array((opts.dataLen ?? 7) + k).fill(k),
            signature: new Uint8Array(65).fill(3),
          };
          const hash = opTxHash(op);
          hashes.push(hash);
          this.lane.insertUserOp({ frameId, sender: OTHER, ...op, txHash: hash, acceptedAtMs: 1_000 + nonce });
        }
      });
      return id;
    });
    if (opts.close !== false) this.close(batchId, nonce);
    return { batchId, hashes };
  }

  close(batchId: number, nonce: number): Uint8Array {
    const bytes = this.payload(batchId, nonce);
    this.lane.closeBatch(batchId, 2_000 + nonce, keccak256(bytes, "bytes"));
    return bytes;
  }

  payload(batchId: number, nonce: number): Uint8Array {
    return encodeBatch(this.history.batchContents(batchId, nonce));
  }

  submit(batchId: number, walletNonce: number, l1Hash: Uint8Array, sentAtMs = 5_000): void {
    this.sub.raiseWatermark(walletNonce + 1);
    this.sub.recordSubmission({
      batchId,
      walletNonce,
      l1TxHash: l1Hash,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      sentAtMs,
    });
  }

  /** The payload lands in a safe input at `block`; the reader's real acceptance code judges it. */
  land(payload: Uint8Array, block: number, l1Hash: Uint8Array): number {
    const inputIndex = this.reader.nextInputIndex();
    const input = { inputIndex, sender: SUBMITTER, blockNumber: block, blockTimestamp: block * 12, txHash: l1Hash, payload };
    const r = trackAcceptance([input], {
      submitter: SUBMITTER,
      nextBatchNonce: this.reader.nextBatchNonce(),
      sealed: (n) => this.reader.sealedBatch(n),
      alreadyDiverged: false,
      nowMs: 9_000,
    });
    this.heads = { ...this.heads, safeBlock: Math.max(block, this.heads.safeBlock), scannedThroughBlock: Math.max(block, this.heads.scannedThroughBlock) };
    this.reader.append([input], this.heads, 9_000, r.landings, r.divergence);
    return inputIndex;
  }

  finalize(block: number): void {
    this.heads = { ...this.heads, finalizedBlock: block };
    this.reader.append([], this.heads, 10_000);
  }

  invalidate(batchId: number): void {
    this.db.query("UPDATE batches SET invalidated_at_ms = ? WHERE batch_id = ?").run(11_000, batchId);
  }
}

describe("StatusQueries.txStatus", () => {
  test("one op walks soft_confirmed → submitted → included → safe → finalized", () => {
    const w = new World();
    const { batchId, hashes } = w.batch(0, [2], { close: false });
    const h = hashes[1]!;
    const base = { txHash: h, offset: 1, batchNonce: 0, outputs: [] };

    expect(w.status.txStatus(h)).toEqual({ ...base, status: "soft_confirmed", l1TxHash: null, l1Block: null });
    const payload = w.close(batchId, 0);
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "soft_confirmed", l1TxHash: null, l1Block: null });

    w.submit(batchId, 0, h32(1), 5_000);
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "submitted", l1TxHash: h32(1), l1Block: null });
    // A fee bump replaces the first transaction: the newest submission is shown.
    w.submit(batchId, 0, h32(2), 6_000);
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "submitted", l1TxHash: h32(2), l1Block: null });

    w.sub.markMined(h32(2), 12);
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "included", l1TxHash: h32(2), l1Block: 12 });

    w.land(payload, 12, h32(2));
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "safe", l1TxHash: h32(2), l1Block: 12 });

    w.finalize(11);
    expect(w.status.txStatus(h)?.status).toBe("safe");
    w.finalize(12);
    expect(w.status.txStatus(h)).toEqual({ ...base, status: "finalized", l1TxHash: h32(2), l1Block: 12 });
  });

  test("a landing that is not accepted (wrong nonce) does not make the batch safe", () => {
    const w = new World();
    const b0 = w.batch(0, [1]);
    const b1 = w.batch(1, [1]);
    w.submit(b1.batchId, 0, h32(9));
    w.sub.markMined(h32(9), 11);
    w.land(w.payload(b1.batchId, 1), 11, h32(9)); // nonce 1 before 0: wrong_nonce
    expect(w.status.txStatus(b1.hashes[0]!)).toMatchObject({ status: "included", l1Block: 11 });
    expect(w.status.txStatus(b0.hashes[0]!)?.status).toBe("soft_confirmed");
  });

  test("a safe landing without a recorded submission still reports the landing", () => {
    const w = new World();
    const b = w.batch(0, [1]);
    w.land(w.payload(b.batchId, 0), 11, h32(7));
    expect(w.status.txStatus(b.hashes[0]!)).toMatchObject({ status: "safe", l1TxHash: h32(7), l1Block: 11 });
  });

  test("invalidated outranks everything; a resubmitted op with the same hash wins when live", () => {
    const w = new World();
    const b = w.batch(0, [1]);
    w.submit(b.batchId, 0, h32(3));
    w.sub.markMined(h32(3), 11);
    w.invalidate(b.batchId);
    const h = b.hashes[0]!;
    expect(w.status.txStatus(h)).toEqual({ txHash: h, status: "invalidated", offset: 0, batchNonce: 0, l1TxHash: null, l1Block: null, outputs: [] });

    // The same signed op accepted again into a new live batch at the same nonce.
    w.lane.transaction(() => {
      const id = w.lane.openBatch(0, null, 20_000);
      const f = w.lane.openFrame(id, 0, 9, 1356, 20_000);
      const c = w.history.batchContents(b.batchId, 0).frames[0]!.userOps[0]!;
      w.lane.insertUserOp({ frameId: f, sender: OTHER, ...c, txHash: h, acceptedAtMs: 20_000 });
    });
    expect(w.status.txStatus(h)).toMatchObject({ status: "soft_confirmed", offset: 1, batchNonce: 0 });
  });

  test("unknown hash → null", () => {
    const w = new World();
    w.batch(0, [1]);
    expect(w.status.txStatus(h32(77))).toBeNull();
  });

  test("the per-hash lookup uses indexes only (no table scan)", () => {
    const w = new World();
    const plan = w.db.query(`EXPLAIN QUERY PLAN ${TX_STATUS_SQL}`).all(h32(1)) as { detail: string }[];
    const details = plan.map((r) => r.detail);
    // the derived index by key, the not-yet-indexed tail by rowid range; the only scan is of
    // the candidate list itself
    expect(details).toContain("SEARCH x USING PRIMARY KEY (tx_hash=?)");
    expect(details).toContain("SEARCH t USING INTEGER PRIMARY KEY (rowid>?)");
    expect(details.filter((d) => /^SCAN /.test(d))).toEqual(["SCAN cand"]);
  });
});

describe("StatusQueries.batches", () => {
  test("states, counts and exact SSZ sizes for a page, in nonce order", () => {
    const w = new World();
    const b0 = w.batch(0, [2, 0, 3]); // finalized
    const b1 = w.batch(1, [1], { dataLen: 40 }); // safe
    const b2 = w.batch(2, [4]); // included
    const b3 = w.batch(3, []); // submitted (empty batch)
    const b4 = w.batch(4, [1]); // closed, then invalidated
    w.invalidate(b4.batchId);
    const b4b = w.batch(4, [2], { close: false }); // open, live replacement at nonce 4

    w.submit(b0.batchId, 0, h32(10));
    w.sub.markMined(h32(10), 11);
    const in0 = w.land(w.payload(b0.batchId, 0), 11, h32(10));
    w.submit(b1.batchId, 1, h32(11));
    w.sub.markMined(h32(11), 13);
    const in1 = w.land(w.payload(b1.batchId, 1), 13, h32(11));
    w.finalize(12);
    w.submit(b2.batchId, 2, h32(12), 7_000);
    w.sub.markMined(h32(12), 14);
    w.submit(b3.batchId, 3, h32(13), 8_000);

    const page = w.status.batches(0, 100);
    expect(page.map((b) => [b.nonce, b.batchId, b.state])).toEqual([
      [0, b0.batchId, "finalized"],
      [1, b1.batchId, "safe"],
      [2, b2.batchId, "included"],
      [3, b3.batchId, "submitted"],
      [4, b4.batchId, "invalidated"],
      [4, b4b.batchId, "open"],
    ]);
    for (const b of page) {
      expect(b.bytes).toBe(encodeBatch(w.history.batchContents(b.batchId, b.nonce)).length);
    }
    expect(page.map((b) => [b.userOps, b.frames])).toEqual([[5, 3], [1, 1], [4, 1], [0, 0], [1, 1], [2, 1]]);
    expect(page[0]).toMatchObject({
      firstSafeBlock: 8,
      l1TxHash: h32(10),
      walletNonce: 0,
      minedBlock: 11,
      landedBlock: 11,
      landedInputIndex: in0,
      finalized: true,
      openedAtMs: 1_000,
      closedAtMs: 2_000,
    });
    expect(page[0]!.sealedHash).toEqual(
      new Uint8Array(Buffer.from(keccak256(w.payload(b0.batchId, 0)).slice(2), "hex")),
    );
    expect(page[1]).toMatchObject({ landedInputIndex: in1, landedBlock: 13, finalized: false });
    expect(page[2]).toMatchObject({ l1TxHash: h32(12), walletNonce: 2, submittedAtMs: 7_000, minedBlock: 14, landedBlock: null });
    expect(page[3]).toMatchObject({ l1TxHash: h32(13), minedBlock: null, firstSafeBlock: null, bytes: 12 });
    expect(page[5]).toMatchObject({ closedAtMs: null, sealedHash: null, l1TxHash: null, walletNonce: null });

    expect(w.status.batches(2, 2).map((b) => b.nonce)).toEqual([2, 3]);
    expect(w.status.batches(4, 1).map((b) => b.batchId)).toEqual([b4.batchId]);
    expect(w.status.batches(99, 10)).toEqual([]);
  });

  test("a page touches the page's frames and ops only, never a scan of the whole history", () => {
    const w = new World();
    const plan = w.db.query(`EXPLAIN QUERY PLAN ${BATCHES_SQL}`).all(0, 10) as { detail: string }[];
    const scans = plan.map((r) => r.detail).filter((d) => /^SCAN /.test(d));
    // With the batches_nonce index (migration 3) only the page itself is scanned.
    expect(new Set(scans)).toEqual(new Set(["SCAN p"]));
  });
});
