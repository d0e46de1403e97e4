/**
 * The public listener's edges on a real sequencer process: CORS (per SEQ_CORS_ORIGINS, never on
 * the internal port), the body cap counted in bytes while a chunked body streams, JSON errors
 * at every size and on the WebSocket handshake, the Host-length routing bug, client
 * disconnects, /domain usable by signTypedData as served. Each refusal is checked against the
 * SQLite file: nothing stored.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { privateKeyToAccount } from "viem/accounts";
import { recoverTypedDataAddress, type Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { getJson, postTx, signOp, subscribe, transferData } from "../support/client.ts";
import { abortMidBody, chunkedPost, rawRequest } from "../support/raw-http.ts";
import type { SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let db: Database;
let port: number;
const KEY = DEVNET_KEYS[4] as Hex;
const USER = DEVNET_ADDRESSES[4]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
const ALLOWED = "https://app.example";
const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function stored(): { ops: number; history: number } {
  const ops = (db.query("SELECT COUNT(*) AS n FROM user_ops").get() as { n: number }).n;
  const history = (db.query("SELECT COUNT(*) AS n FROM sequenced_l2_txs").get() as { n: number }).n;
  return { ops, history };
}

function expectJsonError(a: { status: number; headers: Record<string, string>; body: string }, status: number, code: string) {
  expect(a.status).toBe(status);
  expect(a.headers["content-type"]).toMatch(/^application\/json/);
  const j = JSON.parse(a.body);
  expect(j).toMatchObject({ ok: false, code });
  expect(typeof j.message).toBe("string");
}

async function nextNonce(): Promise<number> {
  return (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
}

const dn = useDevnetSequencer({ env: { SEQ_CORS_ORIGINS: `${ALLOWED},http://localhost:5173` }, fund: 4, db: true });
beforeAll(() => {
  ({ anvil, seq, db } = dn());
  port = Number(new URL(seq.url).port);
});

describe("CORS", () => {
  test("an allowed origin gets the grant on answers and errors; another origin does not", async () => {
    for (const path of ["/fee", "/nope", `/nonce?sender=${USER}`]) {
      const ok = await fetch(`${seq.url}${path}`, { headers: { origin: ALLOWED } });
      expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      expect(ok.headers.get("vary")).toBe("Origin");
      const other = await fetch(`${seq.url}${path}`, { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    }
    const tx = await fetch(`${seq.url}/tx`, { method: "POST", headers: { origin: ALLOWED, "content-type": "application/json" }, body: "{" });
    expect(tx.status).toBe(400);
    expect(tx.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  test("preflight is answered for every route, with the grant only for an allowed origin", async () => {
    for (const path of ["/tx", "/inspect", "/fee", "/tx/0x" + "00".repeat(32)]) {
      const res = await fetch(`${seq.url}${path}`, {
        method: "OPTIONS",
        headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      expect(res.headers.get("access-control-allow-headers")).toContain("content-type");
    }
    const refused = await fetch(`${seq.url}/tx`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(refused.status).toBe(204);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("the internal port never sends CORS headers", async () => {
    for (const path of ["/healthz", "/metrics", "/batches", "/nope"]) {
      const res = await fetch(`${seq.internalUrl}${path}`, { headers: { origin: ALLOWED } });
      await res.arrayBuffer();
      for (const [k] of res.headers) expect(k.startsWith("access-control-")).toBe(false);
    }
    const pre = await fetch(`${seq.internalUrl}/metrics`, { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "GET" } });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.status).toBe(404);
  });
});

describe("body cap, counted in bytes while the body streams", () => {
  test("a signed op padded past the cap with multi-byte characters is refused, chunked or not", async () => {
    const op = await signOp(KEY, { nonce: await nextNonce(), maxFee: 1409, data: transferData(1n, TO) });
    // 2,100 'é' are 2,100 UTF-16 units but 4,200 bytes: the old cap counted the former.
    const body = JSON.stringify({ ...op, padding: "é".repeat(2100) });
    expect(body.length).toBeLessThan(4096);
    expect(Buffer.byteLength(body)).toBeGreaterThan(4096 + 106);
    const before = stored();
    expectJsonError(await rawRequest(port, chunkedPost("/tx", body, 512)), 413, "PAYLOAD_TOO_LARGE");
    expectJsonError(await rawRequest(port, chunkedPost("/tx", body, 1 << 16)), 413, "PAYLOAD_TOO_LARGE");
    const viaLength = await postTx(seq.url, body);
    expect(viaLength.status).toBe(413);
    expect(stored()).toEqual(before);
    // The same op without the padding, chunked, is accepted: chunked bodies are read, not refused.
    const ok = await rawRequest(port, chunkedPost("/tx", JSON.stringify(op), 64));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, sender: USER });
    expect(stored()).toEqual({ ops: before.ops + 1, history: before.history + 1 });
  });

  test("a chunked body stops being read at the cap: the answer comes before the body ends", async () => {
    // Send the head and 8 KiB of a body that never finishes: the answer must still arrive.
    const head = "POST /tx HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    const a = await rawRequest(port, `${head}2000\r\n${"x".repeat(0x2000)}\r\n`, 5000);
    expectJsonError(a, 413, "PAYLOAD_TOO_LARGE");
  });

  test("bodies over 1 MiB, declared or streamed, get the JSON 413 too", async () => {
    const declared = await rawRequest(port, "POST /tx HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000000000\r\n\r\n{");
    expectJsonError(declared, 413, "PAYLOAD_TOO_LARGE");
    const big = "x".repeat(2 << 20);
    const res = await fetch(`${seq.url}/tx`, { method: "POST", body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    const inspect = await fetch(`${seq.url}/inspect`, { method: "POST", body: big, headers: { "content-type": "application/octet-stream" } });
    expect(inspect.status).toBe(413);
    expect(((await inspect.json()) as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    expectJsonError(await rawRequest(port, chunkedPost("/inspect", big, 1 << 16)), 413, "PAYLOAD_TOO_LARGE");
  });

  test("a client that disconnects mid-body leaves no error in the log, and nothing stored", async () => {
    const before = stored();
    const errorsBefore = seq.logs.filter((l) => l.level === "error").length;
    const head = "POST /tx HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    await abortMidBody(port, `${head}Content-Length: 3000\r\n\r\n`, '{"message":');
    await abortMidBody(port, `${head}Transfer-Encoding: chunked\r\n\r\n`, '10\r\n{"message":{"non');
    await abortMidBody(port, "POST /inspect HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n", "ab");
    await Bun.sleep(300);
    expect((await getJson(`${seq.url}/healthz`)).status).toBe(200);
    expect(seq.logs.filter((l) => l.level === "error").length).toBe(errorsBefore);
    expect(stored()).toEqual(before);
  });
});

describe("the feed's handshake", () => {
  test("a plain GET answers 426 in the JSON shape", async () => {
    const res = await fetch(`${seq.url}/ws/subscribe`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
    expect(await res.json()).toMatchObject({ ok: false, code: "BAD_REQUEST" });
  });

  test("a missing or invalid Sec-WebSocket-Key, a wrong version or a bad offset are JSON errors", async () => {
    const hs = (extra: string, query = "") =>
      rawRequest(port, `GET /ws/subscribe${query} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`);
    expectJsonError(await hs("Sec-WebSocket-Version: 13\r\n"), 400, "BAD_REQUEST");
    expectJsonError(await hs("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n"), 400, "BAD_REQUEST");
    const v8 = await hs(`Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`);
    expectJsonError(v8, 426, "BAD_REQUEST");
    expect(v8.headers["sec-websocket-version"]).toBe("13");
    expectJsonError(await hs(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`, "?from_offset=-1"), 400, "BAD_REQUEST");
    expectJsonError(await hs(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`, "?generation=01"), 400, "BAD_REQUEST");
  });

  test("regression: a valid upgrade with a Host of 1 to 3 characters is upgraded, not 404", async () => {
    for (const host of ["x", "ab", "abc", "localhost"]) {
      const a = await rawRequest(
        port,
        `GET /ws/subscribe?from_offset=0 HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`,
      );
      expect(a.status).toBe(101);
    }
    // The other routes, with the same short Host, answer as with a normal one.
    const fee = await rawRequest(port, "GET /fee HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(fee.status).toBe(200);
    expect(JSON.parse(fee.body).fee).toBeGreaterThan(0);
    const nonce = await rawRequest(port, `GET /nonce?sender=${USER} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(nonce.status).toBe(200);
    expect(JSON.parse(nonce.body).sender).toBe(USER);
    expectJsonError(await rawRequest(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "NOT_FOUND");
  });
});

describe("routes", () => {
  test("unknown routes and unknown methods answer 404 NOT_FOUND in the JSON shape", async () => {
    for (const [method, path] of [["GET", "/nope"], ["PUT", "/tx"], ["DELETE", "/fee"], ["POST", "/healthz"], ["GET", "/tx"]] as const) {
      const res = await fetch(`${seq.url}${path}`, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ ok: false, code: "NOT_FOUND" });
    }
  });

  test("GET /domain can be passed to signTypedData as it is", async () => {
    const d = (await getJson(`${seq.url}/domain`)).json;
    expect(d.primaryType).toBe("UserOp");
    expect(d.types.UserOp.map((f: { name: string }) => f.name)).toEqual(["nonce", "max_fee", "data"]);
    const account = privateKeyToAccount(KEY);
    const message = { nonce: await nextNonce(), max_fee: 1409, data: transferData(1n, TO) };
    const signature = await account.signTypedData({ domain: d.domain, types: d.types, primaryType: d.primaryType, message });
    expect(await recoverTypedDataAddress({ domain: d.domain, types: d.types, primaryType: d.primaryType, message, signature })).toBe(account.address);
    const res = await postTx(seq.url, { message, signature, sender: USER });
    expect(res.status).toBe(200);
  });
});
