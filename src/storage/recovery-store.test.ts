/**
 * The cascade (SPEC §6) on real SQLite with the real lane and wallet: invalidation stamps,
 * history truncation into `truncated_l2_txs`, the generation bump, the reopened batch, the
 * re-drain of deposits, the feed's rollback message, and the app rebuilt to the cut.
 */
import { describe, expect, test } from "bun:test";
import { AppHost } from "../app/host.ts";
import { loadDefaultAppBytes } from "../app/default-app.ts";
import { hexToBytes } from "../core/bytes.ts";
import { encodeBatch } from "../core/ssz.ts";
import { FeedHub, type FeedSink } from "../egress/feed.ts";
import { createLogger } from "../observability/log.ts";
import { replayHistory } from "../restore/rebuild.ts";
import { newHarness, PORTAL, rows, submit, SUBMITTER, USER } from "../../test/support/lane-harness.ts";
import { HistoryQueries } from "./queries.ts";
import { RecoveryStore } from "./recovery-store.ts";
import { StatusQueries } from "./status-queries.ts";

const silent = createLogger({ write: () => {} });

class Sink implements FeedSink {
  sent: any[] = [];
  send(t: string) {
    this.sent.push(JSON.parse(t));
    return t.length;
  }
  close() {}
  bufferedAmount() {
    return 0;
  }
}

describe("cascade", () => {
  test("invalidates the suffix from the scheduler's next nonce, cuts history, re-drains deposits", async () => {
    const h = newHarness(10, { maxBatchOpenMs: 3_600_000 });
    const history = new HistoryQueries(h.db);
    const feed = new FeedHub({ history, log: silent, generations: new RecoveryStore(h.db).generationSource() });
    const sink = new Sink();
    feed.subscribe(sink, 0);
    const publish = () => {
      for (const c of h.committed.splice(0)) feed.publish(c);
    };

    // Batch 0: a deposit and one op; sealed, landed and accepted.
    h.deposit(10, 10n ** 18n, 15);
    await Bun.sleep(5);
    expect((await submit(h, await h.op(0))).ok).toBe(true);
    const lane = h.lane as unknown as { closeBatch(now: number): void; o: { store: { transaction<T>(f: () => T): T } } };
    lane.o.store.transaction(() => lane.closeBatch(Date.now()));
    const b0 = rows(h.db, "SELECT batch_id AS id FROM batches WHERE nonce = 0")[0].id as number;
    const payload0 = encodeBatch(history.batchContents(b0, 0));
    h.reader.append(
      [{ inputIndex: h.nextIndex++, sender: hexToBytes(SUBMITTER, 20), blockNumber: 16, blockTimestamp: 0, txHash: new Uint8Array(32).fill(1), payload: payload0 }],
      { safeBlock: 16, finalizedBlock: 16, scannedThroughBlock: 16 },
      Date.now(),
      [{ inputIndex: h.nextIndex - 1, verdict: "accepted", batchNonce: 0, batchId: b0, detail: null }],
    );
    // Batch 1 (sealed, never lands): a second deposit drained into it, and two ops.
    h.deposit(20, 5n, 21);
    await Bun.sleep(5);
    const op1 = await h.op(1);
    expect((await submit(h, op1)).ok).toBe(true);
    expect((await submit(h, await h.op(2))).ok).toBe(true);
    lane.o.store.transaction(() => lane.closeBatch(Date.now()));
    // Batch 2 (open): one more op.
    expect((await submit(h, await h.op(3))).ok).toBe(true);
    publish();
    await Bun.sleep(20);
    expect(sink.sent.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    const before = rows(h.db, "SELECT COUNT(*) AS n FROM sequenced_l2_txs")[0].n;
    expect(before).toBe(6);
    // every entry emitted a notice: the deposits' stored by offset, the ops' in their rows
    expect(rows(h.db, "SELECT l2_offset AS o FROM direct_outputs ORDER BY l2_offset").map((r) => r.o)).toEqual([0, 2]);
    expect(rows(h.db, "SELECT COUNT(*) AS n FROM user_ops WHERE outputs IS NOT NULL")[0].n).toBe(4);

    h.lane.pause("recovering: test");
    const store = new RecoveryStore(h.db);
    const result = store.cascade({ nextBatchNonce: 1, safeHead: 30, fee: 1356, reason: "test", nowMs: Date.now() })!;
    expect(result).toEqual({
      generation: 1,
      truncatedAtOffset: 2,
      firstInvalidNonce: 1,
      invalidatedBatches: 2,
      invalidatedOps: 3,
      redrainedInputs: 1,
    });
    // Stamps, truncation (kept for audit), the reopened batch.
    expect(rows(h.db, "SELECT nonce, invalidated_at_ms IS NOT NULL AS inv, closed_at_ms IS NOT NULL AS closed FROM batches ORDER BY batch_id")).toEqual([
      { nonce: 0, inv: 0, closed: 1 },
      { nonce: 1, inv: 1, closed: 1 },
      { nonce: 2, inv: 1, closed: 0 },
      { nonce: 1, inv: 0, closed: 0 },
    ]);
    expect(rows(h.db, "SELECT l2_offset AS o FROM sequenced_l2_txs ORDER BY l2_offset").map((r) => r.o)).toEqual([0, 1]);
    expect(rows(h.db, "SELECT generation AS g, l2_offset AS o FROM truncated_l2_txs ORDER BY l2_offset").map((r) => r.o)).toEqual([2, 3, 4, 5]);
    // the cut deposit's outputs went with its history row (foreign key cascade): its offset
    // is reused by the next generation
    expect(rows(h.db, "SELECT l2_offset AS o FROM direct_outputs ORDER BY l2_offset").map((r) => r.o)).toEqual([0]);
    // an op cut by the cascade shows no outputs any more
    expect(new StatusQueries(h.db).txStatus(op1.txHash)?.outputs).toEqual([]);
    expect(new StatusQueries(h.db).txStatus(op1.txHash)?.status).toBe("invalidated");
    // A second cascade has nothing left to do beyond the reopened empty batch.
    expect(store.generation()).toBe(1);

    // The app goes back to the cut, the feed hears of it, the lane resumes and re-drains.
    const fresh = AppHost.create(loadDefaultAppBytes(), {
      feeRecipient: SUBMITTER,
      etherPortal: PORTAL,
      erc20Portal: "0x0000000000000000000000000000000000000000",
      erc20Token: "0x0000000000000000000000000000000000000000",
    });
    h.app.load(fresh.dump(), { executedInputCount: 0n, clock: 0n });
    replayHistory(h.app, history, 0, silent);
    expect(h.app.nonceOf(USER)).toBe(1);
    feed.rollback(result.truncatedAtOffset, result.generation);
    expect(sink.sent.at(-1)).toEqual({ kind: "rollback", offset: 2, generation: 1 });
    h.lane.resume(30);
    await Bun.sleep(10);
    publish();
    // The deposit of the invalidated batch is drained again, at the cut, in the new batch 1.
    const after = sink.sent.slice(sink.sent.findIndex((m) => m.kind === "rollback") + 1);
    expect(after.map((m) => [m.kind, m.offset, m.input_index])).toEqual([["direct_input", 2, 2]]);
    expect(rows(h.db, "SELECT b.nonce, f.safe_block FROM frames f JOIN batches b ON b.batch_id = f.batch_id WHERE b.invalidated_at_ms IS NULL ORDER BY f.frame_id").at(-1)).toEqual({ nonce: 1, safe_block: 30 });
    // The user resubmits from the nonce the rebuilt state expects.
    expect((await submit(h, await h.op(1))).ok).toBe(true);
    expect(h.app.nonceOf(USER)).toBe(2);

    // A reconnect from an old position and generation 0 learns of the cut first.
    const late = new Sink();
    feed.subscribe(late, 5, 0);
    await Bun.sleep(10);
    expect(late.sent[0]).toEqual({ kind: "rollback", offset: 2, generation: 1 });
    expect(late.sent.slice(1).map((m) => m.offset)).toEqual([2, 3]);
    // Passing the current generation: no rollback message.
    const current = new Sink();
    feed.subscribe(current, 3, 1);
    await Bun.sleep(10);
    expect(current.sent.map((m) => m.offset)).toEqual([3]);
  });

  test("nothing to invalidate returns null and changes nothing", () => {
    const h = newHarness(10);
    const store = new RecoveryStore(h.db);
    expect(store.cascade({ nextBatchNonce: 5, safeHead: 10, fee: 1356, reason: "x", nowMs: 1 })).toBeNull();
    expect(store.generation()).toBe(0);
  });
});
