/**
 * Every error code of SPEC §4 on the real server, each followed by a check against the SQLite
 * file itself that nothing was stored.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { getJson, postTx, signOp, subscribe, transferData, type TxBody } from "../support/client.ts";
import type { SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let db: Database;
const KEY = DEVNET_KEYS[4] as Hex;
const USER = DEVNET_ADDRESSES[4]!.toLowerCase() as Hex;
const POOR_KEY = DEVNET_KEYS[5] as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
const SECP_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function stored(): { ops: number; history: number } {
  const ops = (db.query("SELECT COUNT(*) AS n FROM user_ops").get() as { n: number }).n;
  const history = (db.query("SELECT COUNT(*) AS n FROM sequenced_l2_txs").get() as { n: number }).n;
  return { ops, history };
}

async function expectRefused(body: unknown, status: number, code: string, message?: RegExp): Promise<void> {
  const before = stored();
  const res = await postTx(seq.url, body);
  expect(res.status).toBe(status);
  expect(res.json.ok).toBe(false);
  expect(res.json.code).toBe(code);
  expect(typeof res.json.message).toBe("string");
  if (message) expect(res.json.message).toMatch(message);
  expect(stored()).toEqual(before);
}

async function valid(nonce = 0, key = KEY, maxFee = 1409): Promise<TxBody> {
  return signOp(key, { nonce, maxFee, data: transferData(1000n, TO) });
}

const dn = useDevnetSequencer({ env: { SEQ_LANE_QUEUE_CAPACITY: "2" }, fund: 4, db: true });
beforeAll(() => {
  ({ anvil, seq, db } = dn());
});

describe("POST /tx errors", () => {
  test("400 BAD_REQUEST: malformed JSON, shapes, hex and lengths", async () => {
    await expectRefused("{not json", 400, "BAD_REQUEST", /malformed JSON/);
    await expectRefused("[]", 400, "BAD_REQUEST");
    const v = await valid();
    await expectRefused({ ...v, message: { ...v.message, nonce: -1 } }, 400, "BAD_REQUEST", /nonce/);
    await expectRefused({ ...v, message: { ...v.message, nonce: 2 ** 32 } }, 400, "BAD_REQUEST", /nonce/);
    await expectRefused({ ...v, message: { ...v.message, max_fee: 70000 } }, 400, "BAD_REQUEST", /max_fee/);
    await expectRefused({ ...v, message: { ...v.message, data: "0xzz" } }, 400, "BAD_REQUEST", /hex/);
    await expectRefused({ ...v, message: { ...v.message, data: "0x123" } }, 400, "BAD_REQUEST", /hex/);
    await expectRefused({ ...v, signature: v.signature.slice(0, -2) }, 400, "BAD_REQUEST", /65 bytes/);
    await expectRefused({ ...v, sender: "0x1234" }, 400, "BAD_REQUEST", /sender/);
    await expectRefused({ message: v.message, signature: v.signature }, 400, "BAD_REQUEST", /sender/);
    // Longer than the wallet's maximum (53 bytes) is refused before any signature work.
    const long = await signOp(KEY, { nonce: 0, maxFee: 1409, data: `0x01${"00".repeat(53)}` });
    await expectRefused(long, 400, "BAD_REQUEST", /at most 53/);
  });

  test("400 INVALID_SIGNATURE: wrong sender, high-s, bad v", async () => {
    const v = await valid();
    await expectRefused({ ...v, sender: TO }, 400, "INVALID_SIGNATURE", /not by sender/);
    // Same signature with s' = n - s and flipped parity: valid math, but not canonical.
    const sig = Buffer.from(v.signature.slice(2), "hex");
    const s = BigInt("0x" + sig.subarray(32, 64).toString("hex"));
    const highS = Buffer.from((SECP_N - s).toString(16).padStart(64, "0"), "hex");
    const flipped = Buffer.concat([sig.subarray(0, 32), highS, Buffer.from([sig[64] === 27 ? 28 : 27])]);
    await expectRefused({ ...v, signature: "0x" + flipped.toString("hex") }, 400, "INVALID_SIGNATURE", /high|s/i);
    const badV = Buffer.concat([sig.subarray(0, 64), Buffer.from([5])]);
    await expectRefused({ ...v, signature: "0x" + badV.toString("hex") }, 400, "INVALID_SIGNATURE");
  });

  test("413 PAYLOAD_TOO_LARGE: body over the cap", async () => {
    const v = await valid();
    const huge = JSON.stringify({ ...v, padding: "x".repeat(64 * 1024) });
    await expectRefused(huge, 413, "PAYLOAD_TOO_LARGE");
  });

  test("422 EXECUTION_REJECTED: bad nonce, fee cap, balance for fee", async () => {
    await expectRefused(await valid(5), 422, "EXECUTION_REJECTED", /bad nonce: expected 0, got 5/);
    await expectRefused(await valid(0, KEY, 1000), 422, "EXECUTION_REJECTED", /max_fee/);
    await expectRefused(await valid(0, POOR_KEY), 422, "EXECUTION_REJECTED", /insufficient balance for fee/);
  });

  test("429 OVERLOADED when the lane queue is full", async () => {
    // Queue capacity is 2 here; a burst of concurrent ops from one sender overflows it.
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    const bodies = await Promise.all(Array.from({ length: 64 }, (_, i) => valid(nonce + i)));
    const before = stored();
    const results = await Promise.all(bodies.map((b) => postTx(seq.url, b)));
    const overloaded = results.filter((r) => r.status === 429);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const r of overloaded) expect(r.json).toEqual({ ok: false, code: "OVERLOADED", message: "queue full" });
    const accepted = results.filter((r) => r.status === 200).length;
    // Only the accepted ops were stored, one history row each.
    expect(stored()).toEqual({ ops: before.ops + accepted, history: before.history + accepted });
    expect(results.every((r) => [200, 422, 429].includes(r.status))).toBe(true);
  });

  test("404 for unknown routes uses the error shape", async () => {
    const r = await getJson(`${seq.url}/nope`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });
});
