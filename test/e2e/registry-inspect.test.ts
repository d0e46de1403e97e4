/**
 * The second example app (the name registry, on the SDK) on the real devnet, and inspect
 * (issue #15): a real sequencer process with SEQ_APP_WASM and SEQ_APP_CONFIG, deposits through
 * the EtherPortal on anvil, signed ops, both inspect routes served by the follower worker, bad
 * input to every new route, a full queue, and export-l1 + verify of the whole history.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, until, type FeedClient } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { exportAndVerifyCli, waitUntilSafe } from "../support/verify-cli.ts";

const WASM = join(import.meta.dir, "../../app-wasm/build/registry.wasm");
const PRICE = 1000n;
const PERIOD = 50n;
// price u256 BE || period u64 BE
const APP_CONFIG = `0x${PRICE.toString(16).padStart(64, "0")}${PERIOD.toString(16).padStart(16, "0")}`;

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let live: FeedClient;
const dir = tempDir();
const work = tempDir();
const ALICE_KEY = DEVNET_KEYS[2] as Hex;
const ALICE = DEVNET_ADDRESSES[2]!.toLowerCase();
const BOB_KEY = DEVNET_KEYS[3] as Hex;
const hexOf = (s: string) => Buffer.from(s).toString("hex");
const register = (name: string) => `0x01${hexOf(name)}` as Hex;

async function inspectJson(payload: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${seq.url}/inspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload }) });
  return { status: r.status, json: await r.json() };
}

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  seq = await startSequencerProcess({
    rpcUrl: anvil.url,
    dataDir: dir.path,
    env: {
      SEQ_APP_WASM: WASM,
      SEQ_APP_CONFIG: APP_CONFIG,
      SEQ_INSPECT_QUEUE_CAPACITY: "2",
      // the follower worker also serves inspect on a port of its own
      SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:0",
      SEQ_MAX_BATCH_OPEN_SECONDS: "1",
      SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100",
    },
  });
  live = subscribe(seq.url);
  await live.opened;
  await anvil.deposit(2, 10n ** 18n);
  await anvil.deposit(3, 10n ** 18n);
  await anvil.mine(7);
  await live.waitFor(2);
});

afterAll(async () => {
  if (process.env.SHOW_LOGS) for (const l of seq?.logs ?? []) if (l.level !== "info" && l.level !== "debug") console.log(JSON.stringify(l));
  live?.close();
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
  work.remove();
});

describe("the name registry on the devnet", () => {
  test("/info shows the app config and that the app answers inspect", async () => {
    const info = (await getJson(`${seq.url}/info`)).json;
    expect(info.app_config).toBe(APP_CONFIG);
    expect(info.app_inspect).toBe(true);
    // the follower's thread yields the CPU to the lane (runtime/thread-priority.ts)
    // (logged when the worker has caught up, which may follow the first answers' test by a moment)
    for (let i = 0; i < 100 && !seq.logs.some((l) => l.msg === "inspect follower ready"); i++) await Bun.sleep(50);
    expect(seq.logs.find((l) => l.msg === "inspect follower ready")).toMatchObject({ thread_nice: 19 });
  });

  test("register by op, read it back by inspect on both routes, at the offset that made it", async () => {
    const ack = await postTx(seq.url, await signOp(ALICE_KEY, { nonce: 0, maxFee: 1409, data: register("alice") }));
    expect(ack.status).toBe(200);
    const msgs = await live.waitFor(3);
    expect(msgs[2].outputs[0].kind).toBe("notice");

    const q = `0x01${hexOf("alice")}`;
    const a = (await until(async () => {
      const r = await inspectJson(q);
      return r.json.offset === ack.json.offset ? r : null;
    }))!;
    expect(a.status).toBe(200);
    expect(a.json.status).toBe("accepted");
    const report = a.json.reports[0].payload as string;
    expect(report.slice(2, 42)).toBe(ALICE.slice(2)); // owner
    expect(report.slice(42, 82)).toBe(ALICE.slice(2)); // target
    // the same query, Cartesi 1.x style, and as raw bytes
    const g = await getJson(`${seq.url}/inspect/${q}`);
    expect(g.json).toEqual(a.json);
    const raw = await fetch(`${seq.url}/inspect`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.from(q.slice(2), "hex") });
    expect(await raw.json()).toEqual(a.json);

    // balance query: the deposit minus the price and the fee
    const bal = await getJson(`${seq.url}/inspect/02${ALICE.slice(2)}`);
    expect(bal.json.status).toBe("accepted");
    const balance = BigInt(`0x${(bal.json.reports[0].payload as string).slice(2, 66)}`);
    expect(balance).toBeLessThan(10n ** 18n - PRICE);
    expect(BigInt(`0x${(bal.json.reports[0].payload as string).slice(66)}`)).toBe(1n); // next nonce

    // Bob cannot take it: 422 with the app's reason, nothing stored
    const taken = await postTx(seq.url, await signOp(BOB_KEY, { nonce: 0, maxFee: 1409, data: register("alice") }));
    expect(taken.status).toBe(422);
    expect(taken.json.code).toBe("EXECUTION_REJECTED");
    expect(taken.json.message).toContain("register: the name is taken until block");
    // an unknown name is a rejected query with a report saying why
    const none = await inspectJson(`0x01${hexOf("nobody")}`);
    expect(none.json.status).toBe("rejected");
    expect(Buffer.from((none.json.reports[0].payload as string).slice(2), "hex").toString()).toBe("the name is not registered");
  });

  test("the inspect listener (SEQ_INSPECT_HTTP_ADDR) answers as the public port does", async () => {
    expect(seq.inspectUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(seq.inspectUrl).not.toBe(seq.url);
    const q = `0x01${hexOf("alice")}`;
    const pub = await inspectJson(q);
    expect(pub.json.status).toBe("accepted");
    const own = await getJson(`${seq.inspectUrl}/inspect/${q}`);
    expect(own.status).toBe(200);
    expect(own.json).toEqual(pub.json);
    const posted = await fetch(`${seq.inspectUrl}/inspect`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload: q }) });
    expect(await posted.json()).toEqual(pub.json);
    // only the inspect routes live there
    const tx = await fetch(`${seq.inspectUrl}/tx`, { method: "POST", body: "{}" });
    expect(tx.status).toBe(404);
    expect(((await tx.json()) as { code: string }).code).toBe("NOT_FOUND");
    // the same state: the answer reflects the same last offset
    expect(own.json.offset).toBe(pub.json.offset);
  });

  test("bad input to the inspect routes gets a JSON error and changes nothing", async () => {
    const before = await inspectJson(`0x01${hexOf("alice")}`);
    const cases: [RequestInit & { path?: string }, number, string][] = [
      [{ method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }, 400, "BAD_REQUEST"],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload: "0xabc" }) }, 400, "BAD_REQUEST"],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload: 12 }) }, 400, "BAD_REQUEST"],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(["0x01"]) }, 400, "BAD_REQUEST"],
      [{ method: "POST", headers: { "content-type": "text/plain" }, body: "hello" }, 400, "BAD_REQUEST"],
      [{ method: "POST", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(200_000) }, 413, "PAYLOAD_TOO_LARGE"],
      [{ method: "GET", path: "/inspect/0xzz" }, 400, "BAD_REQUEST"],
      [{ method: "GET", path: "/inspect/abc" }, 400, "BAD_REQUEST"],
    ];
    for (const [init, status, code] of cases) {
      const r = await fetch(`${seq.url}${init.path ?? "/inspect"}`, init);
      expect(r.status).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/json");
      expect(((await r.json()) as { code: string }).code).toBe(code);
    }
    expect(await inspectJson(`0x01${hexOf("alice")}`)).toEqual(before);
  });

  test("a full inspect queue answers 429 OVERLOADED, and /tx is unaffected", async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => inspectJson(`0x01${hexOf("alice")}`)));
    const overloaded = results.filter((r) => r.status === 429);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const r of overloaded) expect(r.json.code).toBe("OVERLOADED");
    for (const r of results.filter((r) => r.status !== 429)) expect(r.json.status).toBe("accepted");
    const ok = await postTx(seq.url, await signOp(BOB_KEY, { nonce: 0, maxFee: 1409, data: register("bob") }));
    expect(ok.status).toBe(200);
  });

  test("/metrics counts inspect queries and refusals per listener, and the follower's head", async () => {
    const sample = (text: string, series: string) => Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1] ?? Number.NaN);
    const text = (await until(async () => {
      const t = await (await fetch(`${seq.internalUrl}/metrics`)).text();
      // the worker reports its head and the listener's counts once a second
      const caughtUp = sample(t, "seq_inspect_follower_head_offset") === sample(t, "seq_l2_head_offset");
      return sample(t, 'seq_inspect_queries_total{listener="inspect"}') >= 2 && caughtUp ? t : null;
    }))!;
    // at least the answered public queries of the tests above (how many of the 60 concurrent ones got in varies)
    expect(sample(text, 'seq_inspect_queries_total{listener="public"}')).toBeGreaterThanOrEqual(9);
    expect(sample(text, 'seq_inspect_overloaded_total{listener="public"}')).toBeGreaterThan(0);
    expect(sample(text, 'seq_inspect_overloaded_total{listener="inspect"}')).toBe(0);
    expect(sample(text, "seq_inspect_follower_restarts_total")).toBe(0);
    expect(text).toContain("# TYPE seq_inspect_queries_total counter");
  });

  test("export-l1 --sequencer records the app config, and verify of the whole history matches", async () => {
    const msgs = await live.waitFor(4);
    await waitUntilSafe(anvil, seq.url, msgs[3].tx_hash);
    const run = await exportAndVerifyCli({
      anvil,
      workDir: work.path,
      feedMessages: msgs.slice(0, 4),
      extraExportArgs: ["--sequencer", seq.url],
      extraVerifyArgs: ["--app-wasm", WASM],
    });
    expect(run.exportCode).toBe(0);
    expect(run.report.verdict).toBe("match");
    expect(run.report.parameters.app_config).toBe(APP_CONFIG);
    expect(run.verifyCode).toBe(0);
    // the config is consensus: the default one (price and period) folds to other outputs
    const wrong = await exportAndVerifyCli({
      anvil,
      workDir: work.path,
      feedMessages: msgs.slice(0, 4),
      extraVerifyArgs: ["--app-wasm", WASM, "--app-config", "0x"],
    });
    expect(wrong.report.verdict).toBe("divergence");
    expect(wrong.verifyCode).toBe(1);
  });
});
