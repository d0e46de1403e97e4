/**
 * The WebSocket feed on the real server: replay from an offset, live follow, the subscriber
 * cap and the catch-up cap (SPEC §4).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { openDatabase } from "../../src/storage/db.ts";
import { LaneStore } from "../../src/storage/lane-store.ts";
import { ReaderStore } from "../../src/storage/reader-store.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
const KEY = DEVNET_KEYS[2] as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
let nextNonce = 0;

async function sendOp(url = seq.url): Promise<any> {
  const r = await postTx(url, await signOp(KEY, { nonce: nextNonce++, maxFee: 1409, data: transferData(1n, TO) }));
  expect(r.status).toBe(200);
  return r.json;
}

const dn = useDevnetSequencer({ fund: 2 });
beforeAll(async () => {
  ({ anvil, seq } = dn());
  for (let i = 0; i < 4; i++) await sendOp(); // offsets 1..4
});

describe("feed", () => {
  test("replays from an offset, then follows live", async () => {
    const f = subscribe(seq.url, "?from_offset=2");
    const first = await f.waitFor(3);
    expect(first.map((m) => m.offset)).toEqual([2, 3, 4]);
    expect(first.every((m) => m.kind === "user_op")).toBe(true);
    const ack = await sendOp();
    const all = await f.waitFor(4);
    expect(all[3]).toMatchObject({ kind: "user_op", offset: ack.offset, tx_hash: ack.tx_hash });
    expect(ack.offset).toBe(5);
    f.close();
  });

  test("from_offset beyond the head waits for that offset", async () => {
    const f = subscribe(seq.url, "?from_offset=7");
    await f.opened;
    await sendOp(); // offset 6: not for this subscriber
    const ack = await sendOp(); // offset 7
    const got = await f.waitFor(1);
    expect(got[0].offset).toBe(7);
    expect(got[0].tx_hash).toBe(ack.tx_hash);
    await Bun.sleep(100);
    expect(f.messages.length).toBe(1);
    f.close();
  });

  test("a malformed from_offset is refused before the upgrade", async () => {
    const res = await fetch(`${seq.url}/ws/subscribe?from_offset=-1`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("BAD_REQUEST");
  });

  test("the 65th subscriber is refused; a freed slot is reusable", async () => {
    const subs: FeedClient[] = [];
    try {
      for (let i = 0; i < 64; i++) subs.push(subscribe(seq.url));
      await Promise.all(subs.map((s) => s.waitFor(8)));
      const extra = subscribe(seq.url);
      const closed = await extra.closed;
      expect(closed.code).toBe(1013);
      expect(closed.reason).toBe("subscriber limit reached");
      expect(extra.messages.length).toBe(0);

      subs.shift()!.close();
      const again: FeedClient = await until(async () => {
        const s = subscribe(seq.url);
        const r = await Promise.race([s.waitFor(1, 2000).then(() => s), s.closed.then(() => null)]).catch(() => null);
        return r as FeedClient;
      }, 10_000, "a free subscriber slot");
      subs.push(again);
      expect(again.messages[0].offset).toBe(0);
    } finally {
      for (const s of subs) s.close();
    }
  });
});

describe("catch-up cap", () => {
  const seeded = tempDir();
  let big: SequencerProcess | undefined;
  const ENTRIES = 50_001;

  beforeAll(async () => {
    // Seed a history of 50,001 direct inputs through the storage writers themselves (faster
    // than 50k L1 transactions; the inputs come from an address the wallet ignores).
    // The shared anvil already holds real inputs; claim its blocks as scanned so the reader
    // only looks at blocks mined from now on.
    const head = Number(await anvil.publicClient.getBlockNumber());
    const db = openDatabase(seeded.path);
    const sender = new Uint8Array(20).fill(0xab);
    const reader = new ReaderStore(db);
    reader.append(
      Array.from({ length: ENTRIES }, (_, i) => ({
        inputIndex: i,
        sender,
        blockNumber: 1,
        blockTimestamp: 0,
        txHash: new Uint8Array(32),
        payload: new Uint8Array([i & 0xff]),
      })),
      { safeBlock: head, finalizedBlock: head, scannedThroughBlock: head },
      Date.now(),
    );
    const lane = new LaneStore(db);
    lane.transaction(() => {
      const b = lane.openBatch(0, null, Date.now());
      const f = lane.openFrame(b, 0, 1, 1356, Date.now());
      for (let i = 0; i < ENTRIES; i++) lane.insertDirect(i, i, f);
    });
    db.close();
    big = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: seeded.path });
  });

  afterAll(async () => {
    await big?.stop();
    seeded.remove();
  });

  test("a window over 50,000 events is upgraded then closed with 1008", async () => {
    const f = subscribe(big!.url, "?from_offset=0");
    await f.opened;
    const closed = await f.closed;
    expect(closed).toEqual({ code: 1008, reason: "catch-up window exceeded" });
    expect(f.messages.length).toBe(0);
  });

  test("a window of exactly 50,000 events is served in full", async () => {
    const f = subscribe(big!.url, "?from_offset=1");
    const msgs = await f.waitFor(50_000, 60_000);
    expect(msgs[0].offset).toBe(1);
    expect(msgs[49_999].offset).toBe(50_000);
    expect(msgs[49_999].kind).toBe("direct_input");
    f.close();
  });
});
