/**
 * FeedHub fan-out rules with a real SQLite history. The WebSocket is replaced by a recording
 * sink (a test double) because a socket whose peer stops reading cannot be produced on demand;
 * the real socket path is covered by test/e2e/feed.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { SequencedTx } from "../core/l2tx.ts";
import { createLogger } from "../observability/log.ts";
import { openDatabase } from "../storage/db.ts";
import { LaneStore } from "../storage/lane-store.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { ReaderStore } from "../storage/reader-store.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { CATCH_UP_EXCEEDED, FeedHub, SLOW_CONSUMER, type FeedSink } from "./feed.ts";

const silent = createLogger({ write: () => {} });
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

function seeded(n: number): HistoryQueries {
  const db = openDatabase(tempDir().path);
  closers.push(() => db.close());
  new ReaderStore(db).append(
    Array.from({ length: n }, (_, i) => ({ inputIndex: i, sender: new Uint8Array(20).fill(1), blockNumber: 1, blockTimestamp: 0, txHash: new Uint8Array(32), payload: new Uint8Array([i & 255]) })),
    { safeBlock: 1, finalizedBlock: 1, scannedThroughBlock: 1 },
    0,
  );
  const lane = new LaneStore(db);
  lane.transaction(() => {
    const f = lane.openFrame(lane.openBatch(0, null, 0), 0, 1, 1356, 0);
    for (let i = 0; i < n; i++) lane.insertDirect(i, i, f);
  });
  return new HistoryQueries(db);
}

class RecordingSink implements FeedSink {
  sent: any[] = [];
  closed: { code: number; reason: string } | null = null;
  buffered = 0;
  send(t: string) {
    this.sent.push(JSON.parse(t));
    return t.length;
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
  }
  bufferedAmount() {
    return this.buffered;
  }
}

const direct = (offset: number): SequencedTx => ({ kind: "direct_input", offset, sender: "0x0101010101010101010101010101010101010101", blockNumber: 1, inputIndex: offset, payload: new Uint8Array([offset & 255]), outputs: [], failure: null });

describe("FeedHub", () => {
  test("catch-up in pages, then live without gaps or duplicates", async () => {
    const history = seeded(1200);
    const hub = new FeedHub({ history, log: silent, pageSize: 100 });
    const sink = new RecordingSink();
    hub.subscribe(sink, 5);
    // While catching up, new commits happen; they must arrive exactly once, in order.
    await Bun.sleep(50);
    hub.publish([direct(1200)]); // not in SQLite in this test; live subscribers get it from memory
    expect(sink.sent.map((m) => m.offset)).toEqual(Array.from({ length: 1196 }, (_, i) => i + 5));
  });

  test("a live subscriber above the buffer bound is cut off; others are unaffected", async () => {
    const history = seeded(3);
    const hub = new FeedHub({ history, log: silent, maxBufferedBytes: 1000 });
    const slow = new RecordingSink();
    const fast = new RecordingSink();
    hub.subscribe(slow, 0);
    hub.subscribe(fast, 0);
    await Bun.sleep(10);
    slow.buffered = 5000;
    const t0 = performance.now();
    hub.publish([direct(3)]);
    expect(performance.now() - t0).toBeLessThan(50); // publish never waits for a consumer
    expect(slow.closed).toEqual({ code: 1008, reason: SLOW_CONSUMER });
    expect(hub.subscriberCount).toBe(1);
    hub.publish([direct(4)]);
    expect(fast.sent.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(slow.sent.map((m) => m.offset)).toEqual([0, 1, 2, 3]);
  });

  test("a catching-up subscriber stalled above the bound is cut off after the stall limit", async () => {
    const history = seeded(10);
    const hub = new FeedHub({ history, log: silent, maxBufferedBytes: 10, catchUpStallMs: 30 });
    const sink = new RecordingSink();
    sink.buffered = 100;
    hub.subscribe(sink, 0);
    await Bun.sleep(120);
    expect(sink.closed).toEqual({ code: 1008, reason: SLOW_CONSUMER });
    expect(sink.sent.length).toBe(0);
  });

  test("caps: catch-up window and subscriber count", () => {
    const history = seeded(20);
    const hub = new FeedHub({ history, log: silent, catchUpCap: 10, maxSubscribers: 1 });
    const far = new RecordingSink();
    expect(hub.subscribe(far, 9)).toBeNull();
    expect(far.closed).toEqual({ code: 1008, reason: CATCH_UP_EXCEEDED });
    expect(hub.subscribe(new RecordingSink(), 10)).not.toBeNull();
    const extra = new RecordingSink();
    expect(hub.subscribe(extra, 20)).toBeNull();
    expect(extra.closed?.code).toBe(1013);
  });
});
