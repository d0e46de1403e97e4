/**
 * The inspect listener (SEQ_INSPECT_HTTP_ADDR): the follower worker serving the inspect routes
 * on its own port. A real InspectService and worker over a real (empty) data dir, a module
 * compiled in the test whose inspect echoes the payload, and HTTP clients on loopback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSdkApp, ECHO_APP } from "../../test/support/sdk-app.ts";
import { CONFIG } from "../../scripts/lib/app-fixtures.ts";
import { prepareAppRuntime } from "../app/host.ts";
import { meteredCacheDirOf } from "../app/metering.ts";
import { parseCorsOrigins } from "../http/cors.ts";
import { openLaneStorage } from "../ingress/lane-stack.ts";
import { createLogger } from "../observability/log.ts";
import { InspectListenError, InspectService, type InspectServiceOptions } from "./inspect-service.ts";

const ALLOWED = "http://app.example";

let dir: string;
let wasm: Uint8Array;
const services: InspectService[] = [];

function service(o: Partial<InspectServiceOptions> = {}): InspectService {
  const s = new InspectService({
    dataDir: dir,
    wasm,
    hostConfig: CONFIG,
    appConfig: new Uint8Array(),
    log: createLogger({ level: "error" }),
    listen: { host: "127.0.0.1", port: 0, cors: parseCorsOrigins(ALLOWED) },
    ...o,
  });
  services.push(s);
  s.start();
  return s;
}

let svc: InspectService;
let base: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "seq-inspect-listener-"));
  openLaneStorage(dir).db.close();
  wasm = await compileSdkApp(ECHO_APP);
  await prepareAppRuntime(wasm, { meteredCacheDir: meteredCacheDirOf(dir) });
  svc = service();
  base = `http://127.0.0.1:${await svc.whenListening()}`;
  await svc.whenReady();
});
afterAll(async () => {
  for (const s of services) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function json(r: Response): Promise<any> {
  expect(r.headers.get("content-type")).toContain("application/json");
  return r.json();
}

describe("the inspect listener", () => {
  test("GET, POST raw and POST JSON answer as the message path does, with the CORS grant", async () => {
    const viaMessage = JSON.parse(await svc.inspect(Uint8Array.of(0xca, 0xfe)));
    expect(viaMessage).toEqual({ status: "accepted", reports: [{ payload: "0xcafe" }], offset: null });

    const get = await fetch(`${base}/inspect/0xcafe`, { headers: { origin: ALLOWED } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(await json(get)).toEqual(viaMessage);
    expect(await json(await fetch(`${base}/inspect/CAFE`))).toEqual(viaMessage); // 0x optional, any case

    const raw = await fetch(`${base}/inspect`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Uint8Array.of(0xca, 0xfe) });
    expect(await json(raw)).toEqual(viaMessage);
    const viaJson = await fetch(`${base}/inspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload: "0xcafe" }) });
    expect(await json(viaJson)).toEqual(viaMessage);

    // the app's own rejection is an answer, not an HTTP error
    const empty = await fetch(`${base}/inspect`, { method: "POST", body: new Uint8Array(0) });
    expect(empty.status).toBe(200);
    expect((await json(empty)).status).toBe("rejected");

    // another origin gets no grant, and the answer says it varies by origin
    const other = await fetch(`${base}/inspect/01`, { headers: { origin: "http://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("vary")).toBe("Origin");
  });

  test("a browser's preflight is granted for the allowed origin", async () => {
    const r = await fetch(`${base}/inspect`, { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "POST" } });
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(r.headers.get("access-control-allow-methods")).toContain("POST");
  });

  test("bad input gets a clear JSON error, and the next query is answered", async () => {
    const cases: [string, RequestInit, number, string][] = [
      ["/inspect", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }, 400, "BAD_REQUEST"],
      ["/inspect", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload: "0xabc" }) }, 400, "BAD_REQUEST"],
      ["/inspect", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" }, 400, "BAD_REQUEST"],
      ["/inspect", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(200_000) }, 413, "PAYLOAD_TOO_LARGE"],
      ["/inspect/0xzz", { method: "GET" }, 400, "BAD_REQUEST"],
      ["/inspect/abc", { method: "GET" }, 400, "BAD_REQUEST"],
      ["/tx", { method: "POST", body: "{}" }, 404, "NOT_FOUND"],
      ["/inspect/", { method: "GET" }, 404, "NOT_FOUND"],
      ["/inspect", { method: "PUT", body: "x" }, 404, "NOT_FOUND"],
    ];
    for (const [path, init, status, code] of cases) {
      const r = await fetch(`${base}${path}`, init);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect((await json(r)).code).toBe(code);
    }
    expect(await json(await fetch(`${base}/inspect/07`))).toEqual({ status: "accepted", reports: [{ payload: "0x07" }], offset: null });
    expect(await json(await fetch(`${base}/healthz`))).toEqual({ ok: true, status: "up" });
  });

  test("the worker reports the listener's counts to the service (for /metrics) at most a second late", async () => {
    await Bun.sleep(1_200); // the earlier tests' queries reported first
    const before = svc.stats.listenerQueries;
    expect(before).toBeGreaterThan(5);
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/inspect/0${i}`)).status).toBe(200);
    for (let i = 0; i < 30 && svc.stats.listenerQueries < before + 5; i++) await Bun.sleep(50);
    expect(svc.stats.listenerQueries).toBe(before + 5);
    expect(svc.stats.head).toBe(0); // nothing sequenced in this data dir
  });

  test("at the bound, one more request answers 429 OVERLOADED; the one in flight is answered", async () => {
    const one = service({ maxPending: 1 });
    const url = `http://127.0.0.1:${await one.whenListening()}`;
    await one.whenReady();
    // a POST whose body has not ended holds the only slot
    let finish!: () => void;
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(Uint8Array.of(0x0b));
        await new Promise<void>((r) => (finish = r));
        c.close();
      },
    });
    const held = fetch(`${url}/inspect`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body, duplex: "half" } as RequestInit);
    let refused: Response | undefined;
    for (let i = 0; i < 50 && refused?.status !== 429; i++) {
      await Bun.sleep(20);
      refused = await fetch(`${url}/inspect/0c`);
    }
    expect(refused!.status).toBe(429);
    expect((await json(refused!)).code).toBe("OVERLOADED");
    finish();
    expect(await json(await held)).toEqual({ status: "accepted", reports: [{ payload: "0x0b" }], offset: null });
    expect((await fetch(`${url}/inspect/0c`)).status).toBe(200);
    for (let i = 0; i < 40 && one.stats.listenerOverloaded === 0; i++) await Bun.sleep(50);
    expect(one.stats.listenerOverloaded).toBeGreaterThanOrEqual(1);
    expect(one.stats.overloaded).toBe(0); // the public port's count is its own
  });

  test("an address in use is an InspectListenError naming it", async () => {
    const port = await svc.whenListening();
    const clash = service({ listen: { host: "127.0.0.1", port, cors: { kind: "none" } } });
    const e = await clash.whenListening().then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(InspectListenError);
    expect((e as Error).message).toContain(`127.0.0.1:${port}`);
    // the first listener is unharmed
    expect((await fetch(`${base}/inspect/01`)).status).toBe(200);
  });

  test("without a listener configured, whenListening says so", async () => {
    const s = new InspectService({ dataDir: dir, wasm, hostConfig: CONFIG, appConfig: new Uint8Array(), log: createLogger({ level: "error" }) });
    await expect(s.whenListening()).rejects.toBeInstanceOf(InspectListenError);
  });
});
