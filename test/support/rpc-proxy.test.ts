/**
 * The fault-injecting JSON-RPC proxy, against a real anvil: every mode does what it says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { withDevnetAnvil, type DevnetAnvil } from "./anvil.ts";
import { startRpcProxy, type RpcProxy } from "./rpc-proxy.ts";

let anvil: DevnetAnvil;
let proxy: RpcProxy;

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  await anvil.mine(20);
  proxy = await startRpcProxy({ upstream: anvil.url });
});

afterAll(async () => {
  await proxy?.stop();
  await anvil?.stop();
});

let nextId = 1;
function call(method: string, params: unknown[] = []) {
  return { jsonrpc: "2.0", id: nextId++, method, params };
}

async function post(body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(proxy.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** Resolves to the error code of a failed fetch, or "ok:<status>" when it answered. */
async function outcomeOf(p: Promise<Response>): Promise<string> {
  try {
    const r = await p;
    await r.arrayBuffer();
    return `ok:${r.status}`;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? code : (e as Error).name;
  }
}

async function reset(): Promise<void> {
  await proxy.setMode({ kind: "pass" });
  proxy.getLogsMaxRange = null;
  proxy.getLogsHangAbove = null;
  proxy.resetCounters();
}

describe("rpc proxy", () => {
  test("pass forwards single calls and batches, and counts per method", async () => {
    await reset();
    const r = await post(call("eth_chainId"));
    expect(((await r.json()) as { result: string }).result).toBe("0x7a69");
    const b = (await (await post([call("eth_chainId"), call("eth_blockNumber")])).json()) as { result: string }[];
    expect(b).toHaveLength(2);
    expect(b[0]!.result).toBe("0x7a69");
    expect(BigInt(b[1]!.result)).toBeGreaterThan(0n);
    expect(proxy.count({ method: "eth_chainId" })).toBe(2);
    expect(proxy.count({ method: "eth_blockNumber", outcome: "pass" })).toBe(1);
    expect(proxy.count()).toBe(3);
  });

  test("drop resets the connection without a response", async () => {
    await reset();
    await proxy.setMode({ kind: "drop" });
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ECONNRESET");
    expect(proxy.count({ outcome: "drop" })).toBe(1);
  });

  test("refuse stops listening; any other mode listens again on the same port", async () => {
    await reset();
    await proxy.setMode({ kind: "refuse" });
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ECONNREFUSED");
    expect(proxy.count()).toBe(0);
    await proxy.setMode({ kind: "pass" });
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ok:200");
  });

  test("delay answers correctly, late", async () => {
    await reset();
    await proxy.setMode({ kind: "delay", ms: 300 });
    const t0 = performance.now();
    const r = await post(call("eth_chainId"));
    expect(((await r.json()) as { result: string }).result).toBe("0x7a69");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(proxy.count({ outcome: "delay" })).toBe(1);
  });

  test("status5xx answers 503 with a body; rateLimit answers 429 with Retry-After", async () => {
    await reset();
    await proxy.setMode({ kind: "status5xx" });
    const r = await post(call("eth_chainId"));
    expect(r.status).toBe(503);
    expect(await r.text()).toContain("unavailable");
    await proxy.setMode({ kind: "status5xx", status: 502, body: "bad gateway" });
    const r2 = await post(call("eth_chainId"));
    expect(r2.status).toBe(502);
    expect(await r2.text()).toBe("bad gateway");
    await proxy.setMode({ kind: "rateLimit", retryAfterSeconds: 2 });
    const r3 = await post(call("eth_chainId"));
    expect(r3.status).toBe(429);
    expect(r3.headers.get("retry-after")).toBe("2");
    await r3.text();
    expect(proxy.count({ outcome: "status5xx" })).toBe(2);
    expect(proxy.count({ outcome: "rateLimit" })).toBe(1);
  });

  test("hang holds the request until the mode changes, then resets it", async () => {
    await reset();
    await proxy.setMode({ kind: "hang" });
    const pending = outcomeOf(post(call("eth_chainId")));
    const early = await Promise.race([pending, Bun.sleep(500).then(() => "still hanging")]);
    expect(early).toBe("still hanging");
    expect(proxy.hungCount).toBe(1);
    await proxy.setMode({ kind: "pass" });
    expect(await pending).toBe("ECONNRESET");
    expect(proxy.hungCount).toBe(0);
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ok:200");
  });

  test("a client that gives up on a hung request is forgotten", async () => {
    await reset();
    await proxy.setMode({ kind: "hang" });
    const outcome = await outcomeOf(post(call("eth_chainId"), AbortSignal.timeout(200)));
    expect(outcome).toBe("TimeoutError");
    await Bun.sleep(50);
    expect(proxy.hungCount).toBe(0);
  });

  test("a fault restricted to methods leaves other methods alone (also inside batches)", async () => {
    await reset();
    await proxy.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"] });
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ok:200");
    expect(await outcomeOf(post(call("eth_sendRawTransaction", ["0x00"])))).toBe("ECONNRESET");
    expect(await outcomeOf(post([call("eth_chainId"), call("eth_sendRawTransaction", ["0x00"])]))).toBe("ECONNRESET");
    expect(await outcomeOf(post([call("eth_chainId"), call("eth_blockNumber")]))).toBe("ok:200");
    expect(proxy.count({ method: "eth_sendRawTransaction", outcome: "drop" })).toBe(2);
    expect(proxy.count({ method: "eth_chainId", outcome: "drop" })).toBe(1);
    expect(proxy.count({ method: "eth_chainId", outcome: "pass" })).toBe(2);
  });

  test("times applies the fault to that many requests, then reverts to pass", async () => {
    await reset();
    await proxy.setMode({ kind: "status5xx", times: 2 });
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await outcomeOf(post(call("eth_chainId"))));
    expect(seen).toEqual(["ok:503", "ok:503", "ok:200", "ok:200"]);
    expect(proxy.mode.kind).toBe("pass");
  });

  test("getLogsMaxRange answers -32005 above N blocks, resolving hex and tags", async () => {
    await reset();
    proxy.getLogsMaxRange = 4;
    const head = BigInt(((await (await post(call("eth_blockNumber"))).json()) as { result: string }).result);
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    const logs = async (filter: Record<string, unknown>) =>
      (await (await post(call("eth_getLogs", [filter]))).json()) as { result?: unknown[]; error?: { code: number; message: string } };

    const ok = await logs({ fromBlock: hex(head - 3n), toBlock: hex(head) });
    expect(ok.error).toBeUndefined();
    expect(Array.isArray(ok.result)).toBe(true);
    const tooLong = await logs({ fromBlock: hex(head - 4n), toBlock: hex(head) });
    expect(tooLong.error).toEqual({ code: -32005, message: "query returned more than 10000 results" });
    expect((await logs({ fromBlock: hex(head - 4n), toBlock: "latest" })).error?.code).toBe(-32005);
    expect((await logs({ fromBlock: hex(head - 2n) })).error).toBeUndefined(); // toBlock defaults to latest
    expect((await logs({ fromBlock: "earliest", toBlock: "safe" })).error?.code).toBe(-32005);
    expect((await logs({})).error).toBeUndefined(); // latest..latest

    // Per call inside a batch: the long one fails, the others are answered.
    const batch = (await (
      await post([
        call("eth_getLogs", [{ fromBlock: "0x1", toBlock: hex(head) }]),
        call("eth_chainId"),
        call("eth_getLogs", [{ fromBlock: hex(head), toBlock: hex(head) }]),
      ])
    ).json()) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(batch.map((b) => b.error?.code ?? "ok")).toEqual([-32005, "ok", "ok"]);
    expect(batch[1]!.result).toBe("0x7a69");
    expect(proxy.count({ method: "eth_getLogs", outcome: "rangeError" })).toBe(4);
    expect(proxy.count({ method: "eth_getLogs", outcome: "pass" })).toBe(4);
  });

  test("getLogsHangAbove holds eth_getLogs reaching above block B, serves the rest, and releases on change", async () => {
    await reset();
    const head = BigInt(((await (await post(call("eth_blockNumber"))).json()) as { result: string }).result);
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    proxy.getLogsHangAbove = Number(head - 2n);
    const below = await post(call("eth_getLogs", [{ fromBlock: hex(head - 5n), toBlock: hex(head - 2n) }]));
    expect(((await below.json()) as { result?: unknown[] }).result).toBeInstanceOf(Array);
    // Above B (a number or a tag that resolves above it): held.
    const above = outcomeOf(post(call("eth_getLogs", [{ fromBlock: hex(head - 5n), toBlock: hex(head - 1n) }])));
    const latest = outcomeOf(post([call("eth_chainId"), call("eth_getLogs", [{ fromBlock: hex(head), toBlock: "latest" }])]));
    expect(await Promise.race([above, Bun.sleep(300).then(() => "still hanging")])).toBe("still hanging");
    expect(proxy.hungCount).toBe(2);
    // A mode change leaves them held; other methods pass meanwhile.
    await proxy.setMode({ kind: "pass" });
    expect(proxy.hungCount).toBe(2);
    expect(await outcomeOf(post(call("eth_chainId")))).toBe("ok:200");
    proxy.getLogsHangAbove = null;
    expect(await above).toBe("ECONNRESET");
    expect(await latest).toBe("ECONNRESET");
    expect(proxy.hungCount).toBe(0);
    expect(proxy.count({ method: "eth_getLogs", outcome: "hang" })).toBe(2);
    expect(await outcomeOf(post(call("eth_getLogs", [{ fromBlock: hex(head - 1n), toBlock: hex(head) }])))).toBe("ok:200");
  });

  test("stop closes hung and delayed requests and the listener", async () => {
    const p2 = await startRpcProxy({ upstream: anvil.url, mode: { kind: "hang" } });
    const req = (body: unknown) =>
      outcomeOf(fetch(p2.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
    const hung = req(call("eth_chainId"));
    await Bun.sleep(100);
    await p2.setMode({ kind: "delay", ms: 60_000 });
    expect(await hung).toBe("ECONNRESET"); // released by the mode change
    const delayed = req(call("eth_chainId"));
    await Bun.sleep(100);
    await p2.setMode({ kind: "hang", methods: ["eth_blockNumber"] });
    const hung2 = req(call("eth_blockNumber"));
    await Bun.sleep(100);
    const t0 = performance.now();
    await p2.stop();
    expect(await delayed).toBe("ECONNRESET");
    expect(await hung2).toBe("ECONNRESET");
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await req(call("eth_chainId"))).toBe("ECONNREFUSED");
    await p2.stop(); // idempotent
  });
});
