/**
 * The resilient L1 transport against a real anvil behind the fault-injecting proxy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { withDevnetAnvil, type DevnetAnvil } from "../../test/support/anvil.ts";
import { startRpcProxy, type RpcProxy } from "../../test/support/rpc-proxy.ts";
import { createLogger } from "../observability/log.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS, inputAddedEvent } from "./contracts.ts";
import { createL1Client, createL1Transport, createL1WalletClient, isL1TransportError, type L1TransportOptions } from "./provider.ts";

let anvil: DevnetAnvil;
let proxy: RpcProxy;
let lines: Record<string, unknown>[] = [];
const log = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });

/** Fast retry settings so each test runs in well under a second per fault. */
const FAST: L1TransportOptions = { log, maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 100, timeoutMs: 1_000, recoveryQuietMs: 0 };

const logged = (msg: string) => lines.filter((l) => l.msg === msg);

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  await anvil.mine(20);
  proxy = await startRpcProxy({ upstream: anvil.url });
});

afterAll(async () => {
  await proxy?.stop();
  await anvil?.stop();
});

beforeEach(async () => {
  await proxy.setMode({ kind: "pass" });
  proxy.getLogsMaxRange = null;
  proxy.resetCounters();
  lines = [];
});

function codesOf(e: unknown): number[] {
  const out: number[] = [];
  for (let cur: unknown = e; cur && typeof cur === "object"; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "number") out.push(code);
  }
  return out;
}

describe("transient failures are retried", () => {
  test("503 twice, then the call succeeds", async () => {
    const client = createL1Client(proxy.url, FAST);
    await proxy.setMode({ kind: "status5xx", times: 2 });
    expect(await client.getChainId()).toBe(31337);
    expect(proxy.count({ outcome: "status5xx" })).toBe(2);
    expect(proxy.count({ method: "eth_chainId", outcome: "pass" })).toBe(1);
  });

  test("429 with Retry-After is honoured (capped by maxDelayMs), then the call succeeds", async () => {
    const client = createL1Client(proxy.url, { ...FAST, maxDelayMs: 300 });
    await proxy.setMode({ kind: "rateLimit", retryAfterSeconds: 5, times: 1 });
    const t0 = performance.now();
    expect(await client.getBlockNumber()).toBeGreaterThan(0n);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    expect(proxy.count({ outcome: "rateLimit" })).toBe(1);
  });

  test("dropped connections three times, then the call succeeds", async () => {
    const client = createL1Client(proxy.url, FAST);
    await proxy.setMode({ kind: "drop", times: 3 });
    const block = await client.getBlock({ blockTag: "safe" });
    expect(block.number).toBeGreaterThan(0n);
    expect(proxy.count({ outcome: "drop" })).toBe(3);
  });

  test("refused connections while the node restarts, then the call succeeds", async () => {
    const client = createL1Client(proxy.url, { ...FAST, maxAttempts: 12 });
    await proxy.setMode({ kind: "refuse" });
    setTimeout(() => void proxy.setMode({ kind: "pass" }), 300);
    expect(await client.getChainId()).toBe(31337);
  });

  test("a hung attempt times out and the retry succeeds", async () => {
    const client = createL1Client(proxy.url, { ...FAST, timeoutMs: 200 });
    await proxy.setMode({ kind: "hang", times: 1 });
    const t0 = performance.now();
    expect(await client.getChainId()).toBe(31337);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(proxy.count({ outcome: "hang" })).toBe(1);
  });

  test("the wallet client retries eth_sendRawTransaction through a dropped connection", async () => {
    const account = privateKeyToAccount(DEVNET_KEYS[6]!);
    const wallet = createL1WalletClient(proxy.url, account, { ...FAST, chain: anvilChain });
    await proxy.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"], times: 1 });
    const hash = await wallet.sendTransaction({ to: DEVNET_ADDRESSES[7]!, value: parseEther("0.01") });
    const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    expect(proxy.count({ method: "eth_sendRawTransaction", outcome: "drop" })).toBe(1);
    expect(proxy.count({ method: "eth_sendRawTransaction", outcome: "pass" })).toBe(1);
  });
});

describe("outages", () => {
  test("a long outage makes the call throw within a bounded time", async () => {
    const opts = { ...FAST, maxAttempts: 4 };
    const client = createL1Client(proxy.url, opts);
    await proxy.setMode({ kind: "drop" });
    const t0 = performance.now();
    const err = await client.getChainId().then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    expect(err).not.toBeNull();
    expect(isL1TransportError(err)).toBe(true);
    expect(proxy.count({ outcome: "drop" })).toBe(4);
    // 3 backoffs of at most 20, 40, 80 ms.
    expect(elapsed).toBeLessThan(1_000);
  });

  test("a node that never answers makes the call throw after maxAttempts timeouts", async () => {
    const client = createL1Client(proxy.url, { ...FAST, maxAttempts: 2, timeoutMs: 250 });
    await proxy.setMode({ kind: "hang" });
    const t0 = performance.now();
    const err = await client.getBlockNumber().then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    expect((err as Error).name).toBe("TimeoutError");
    expect(isL1TransportError(err)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(2 * 250 + 100 + 500);
  });

  test("an outage is logged once and the recovery once, whatever the number of calls and retries", async () => {
    const transport = createL1Transport(proxy.url, { ...FAST, maxAttempts: 3 });
    const a = createL1Client(proxy.url, { ...FAST, transport });
    const b = createL1Client(proxy.url, { ...FAST, transport });
    await proxy.setMode({ kind: "status5xx" });
    const failures = await Promise.allSettled([
      a.getBlockNumber(),
      b.getChainId(),
      a.getBlock({ blockTag: "safe" }),
      b.getBlock({ blockTag: "finalized" }),
    ]);
    expect(failures.every((f) => f.status === "rejected")).toBe(true);
    await proxy.setMode({ kind: "drop" });
    await a.getBlockNumber().catch(() => {});
    expect(logged("L1 unreachable")).toHaveLength(1);
    expect(logged("L1 unreachable")[0]).toMatchObject({ level: "warn", rpc: proxy.url });
    expect(logged("L1 reachable again")).toHaveLength(0);

    await proxy.setMode({ kind: "pass" });
    await Promise.all([a.getBlockNumber(), b.getChainId(), a.getChainId()]);
    const rec = logged("L1 reachable again");
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ level: "info", failed_attempts: 15 });
    expect(typeof rec[0]!.outage_ms).toBe("number");
    expect(logged("L1 unreachable")).toHaveLength(1);

    // A second outage is a new episode: logged again, once.
    await proxy.setMode({ kind: "drop", times: 2 });
    await a.getChainId();
    expect(logged("L1 unreachable")).toHaveLength(2);
    expect(logged("L1 reachable again")).toHaveLength(2);
    expect(logged("L1 reachable again")[1]).toMatchObject({ failed_attempts: 2 });
    expect(lines.filter((l) => l.level === "warn" || l.level === "error")).toHaveLength(2);
  });
});

describe("partial outages", () => {
  test("a node that keeps failing one method while answering others is one outage, logged once", async () => {
    const start = lines.length;
    const transport = createL1Transport(proxy.url, { ...FAST, maxAttempts: 1, recoveryQuietMs: 400 });
    const client = createL1Client(proxy.url, { ...FAST, transport });
    await proxy.setMode({ kind: "drop", methods: ["eth_getTransactionCount"] });
    const mine = () => lines.slice(start);
    // Poll like the submitter: one failing call and several good ones per tick.
    for (let tick = 0; tick < 5; tick++) {
      await client.getTransactionCount({ address: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" }).catch(() => {});
      await client.getBlockNumber();
      await client.getChainId();
      await Bun.sleep(50);
    }
    expect(mine().filter((l) => l.msg === "L1 unreachable")).toHaveLength(1);
    expect(mine().filter((l) => l.msg === "L1 reachable again")).toHaveLength(0);
    await proxy.setMode({ kind: "pass" });
    await Bun.sleep(450);
    await client.getBlockNumber();
    expect(mine().filter((l) => l.msg === "L1 reachable again")).toHaveLength(1);
  });
});

describe("JSON-RPC errors are returned untouched", () => {
  test("-32005 (range too large) is not retried and its code reaches the caller", async () => {
    const client = createL1Client(proxy.url, FAST);
    proxy.getLogsMaxRange = 4;
    const err = await client
      .getLogs({ event: inputAddedEvent, fromBlock: 1n, toBlock: 15n })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(codesOf(err)).toContain(-32005);
    expect(isL1TransportError(err)).toBe(false);
    expect(proxy.count({ method: "eth_getLogs" })).toBe(1);
    expect(lines).toHaveLength(0); // the node answered: no outage
    // Within the limit the same query works.
    expect(await client.getLogs({ event: inputAddedEvent, fromBlock: 12n, toBlock: 15n })).toEqual([]);
  });

  test("an invalid raw transaction is not retried", async () => {
    const client = createL1Client(proxy.url, FAST);
    const err = await client.request({ method: "eth_sendRawTransaction", params: ["0x00"] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(codesOf(err).length).toBeGreaterThan(0);
    expect(isL1TransportError(err)).toBe(false);
    expect(proxy.count({ method: "eth_sendRawTransaction" })).toBe(1);
  });

  test("a revert from eth_call is not retried", async () => {
    const client = createL1Client(proxy.url, FAST);
    // An unknown selector: the InputBox has no fallback, so the call reverts.
    const err = await client
      .call({ to: anvil.deployment.inputBox, data: "0xdeadbeef", account: DEVNET_ADDRESSES[0]! })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).not.toBeNull();
    expect(isL1TransportError(err)).toBe(false);
    expect(proxy.count({ method: "eth_call" })).toBe(1);
  });
});
