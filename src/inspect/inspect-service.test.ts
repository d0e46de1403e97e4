/**
 * InspectService with its real worker, over a real (empty) data dir and a module compiled in
 * the test whose inspect echoes the payload: concurrent queries in many batches each get
 * their own answer, the queue bound answers OVERLOADED, and stop fails what is in flight.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSdkApp, ECHO_APP } from "../../test/support/sdk-app.ts";
import { CONFIG } from "../../scripts/lib/app-fixtures.ts";
import { prepareAppRuntime } from "../app/host.ts";
import { meteredCacheDirOf } from "../app/metering.ts";
import { openLaneStorage } from "../ingress/lane-stack.ts";
import { createLogger } from "../observability/log.ts";
import { InspectOverloadedError, InspectService, InspectUnavailableError } from "./inspect-service.ts";

let dir: string;
let svc: InspectService;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "seq-inspect-service-"));
  openLaneStorage(dir).db.close();
  const wasm = await compileSdkApp(ECHO_APP);
  await prepareAppRuntime(wasm, { meteredCacheDir: meteredCacheDirOf(dir) });
  svc = new InspectService({ dataDir: dir, wasm, hostConfig: CONFIG, appConfig: new Uint8Array(), log: createLogger({ level: "error" }), maxPending: 300 });
  svc.start();
  await svc.whenReady();
});
afterAll(async () => {
  await svc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const text = (body: string) => JSON.parse(body) as { status: string; reports: { payload: string }[]; offset: number | null };

describe("InspectService", () => {
  test("concurrent queries over many batches each get their own answer", async () => {
    const asked: Promise<string>[] = [];
    for (let i = 0; i < 250; i++) {
      asked.push(svc.inspect(Uint8Array.of(i & 0xff, i >> 8, 0xab)));
      if (i % 37 === 0) await Bun.sleep(1); // spread them over several turns, so several batches
    }
    const answers = (await Promise.all(asked)).map(text);
    answers.forEach((a, i) => {
      expect(a.status).toBe("accepted");
      expect(a.reports).toEqual([{ payload: `0x${(i & 0xff).toString(16).padStart(2, "0")}${(i >> 8).toString(16).padStart(2, "0")}ab` }]);
      expect(a.offset).toBeNull(); // nothing sequenced yet
    });
    expect(text(await svc.inspect(new Uint8Array(0))).status).toBe("rejected");
  });

  test("one query over the bound is OVERLOADED; the ones in it are answered", async () => {
    const inBound = Array.from({ length: 300 }, () => svc.inspect(Uint8Array.of(1)));
    await expect(svc.inspect(Uint8Array.of(2))).rejects.toBeInstanceOf(InspectOverloadedError);
    expect((await Promise.all(inBound)).every((b) => text(b).status === "accepted")).toBe(true);
    expect(text(await svc.inspect(Uint8Array.of(3))).reports[0]!.payload).toBe("0x03");
  });

  test("stop fails the queries in flight as UNAVAILABLE, and refuses new ones", async () => {
    const inFlight = svc.inspect(Uint8Array.of(4)).then(() => "answered", (e: unknown) => e);
    await svc.stop();
    expect(await inFlight).toBeInstanceOf(InspectUnavailableError);
    await expect(svc.inspect(Uint8Array.of(5))).rejects.toBeInstanceOf(InspectUnavailableError);
  });
});
