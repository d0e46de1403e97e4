import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http } from "viem";
import { AnvilError, type AnvilHandle, isProcessAlive, resolveAnvilBinary, startAnvil } from "../../src/l1/anvil.ts";
import { freePort } from "../support/ports.ts";

const tmp = mkdtempSync(join(tmpdir(), "anvil-test-"));
const running: AnvilHandle[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function start(opts: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilHandle> {
  const h = await startAnvil(opts);
  running.push(h);
  return h;
}
const client = (url: string) => createPublicClient({ transport: http(url, { retryCount: 0 }) });
async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  return client(url).request({ method: method as never, params: params as never });
}

describe("binary resolution", () => {
  test("finds the npm package binary", () => {
    expect(existsSync(resolveAnvilBinary({}))).toBe(true);
  });
  test("SEQ_ANVIL_BIN must exist", () => {
    expect(() => resolveAnvilBinary({ SEQ_ANVIL_BIN: join(tmp, "nope") })).toThrow(AnvilError);
    const real = resolveAnvilBinary({});
    expect(resolveAnvilBinary({ SEQ_ANVIL_BIN: real })).toBe(real);
  });
});

describe("startAnvil", () => {
  test("port 0 picks an ephemeral port; explicit port works; stop is idempotent and reaps", async () => {
    const a = await start();
    expect(a.port).toBeGreaterThan(0);
    expect(a.url).toBe(`http://127.0.0.1:${a.port}`);
    expect(await client(a.url).getChainId()).toBe(31337);

    const port = await freePort();
    const b = await start({ port, chainId: 1234 });
    expect(b.port).toBe(port);
    expect(await client(b.url).getChainId()).toBe(1234);

    await Promise.all([a.stop(), a.stop()]);
    await a.stop();
    expect(isProcessAlive(a.pid)).toBe(false);
  });

  test("a taken port is a clear AnvilError", async () => {
    const a = await start();
    const err = await startAnvil({ port: a.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnvilError);
    expect(String((err as Error).message)).toMatch(/in use/i);
  });

  test("--state: SIGTERM dumps, the next start continues the chain (block number, balances)", async () => {
    const statePath = join(tmp, "persist.json");
    const a = await start({ statePath });
    await rpc(a.url, "anvil_mine", ["0x7"]);
    await rpc(a.url, "anvil_setBalance", ["0x000000000000000000000000000000000000bEEF", "0x1234"]);
    await a.stop();
    expect(existsSync(statePath)).toBe(true);

    const b = await start({ statePath });
    expect(await client(b.url).getBlockNumber()).toBe(7n);
    expect(await client(b.url).getBalance({ address: "0x000000000000000000000000000000000000bEEF" })).toBe(0x1234n);
    await rpc(b.url, "anvil_mine", ["0x1"]);
    await b.stop();

    const c = await start({ statePath });
    expect(await client(c.url).getBlockNumber()).toBe(8n);
  });

  test("SIGKILL writes no state (why stop() always tries SIGTERM first)", async () => {
    const statePath = join(tmp, "killed.json");
    const a = await start({ statePath });
    await rpc(a.url, "anvil_mine", ["0x3"]);
    process.kill(a.pid, "SIGKILL");
    await a.exited;
    expect(existsSync(statePath)).toBe(false);
  });

  test("automine by default, interval mining with blockTime", async () => {
    const a = await start({ blockTime: 1, slotsInAnEpoch: 1 });
    const n0 = await client(a.url).getBlockNumber();
    await Bun.sleep(2200);
    expect(await client(a.url).getBlockNumber()).toBeGreaterThanOrEqual(n0 + 2n);
    const b = await start();
    await Bun.sleep(1200);
    expect(await client(b.url).getBlockNumber()).toBe(0n);
  });

  test("a bad state file fails startup with anvil's output", async () => {
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "{ not json");
    const err = await startAnvil({ loadState: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnvilError);
  });

  test("no orphan: anvil dies when its parent is SIGKILLed (watchdog)", async () => {
    const script = join(tmp, "parent.ts");
    const mod = join(import.meta.dir, "..", "..", "src", "l1", "anvil.ts");
    writeFileSync(
      script,
      `import { startAnvil } from ${JSON.stringify(mod)};\n` +
        `const a = await startAnvil({});\nconsole.log(a.pid);\nsetInterval(() => {}, 1000);\n`,
    );
    const parent = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    const reader = parent.stdout.getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const anvilPid = Number(out.trim());
    expect(anvilPid).toBeGreaterThan(0);
    expect(isProcessAlive(anvilPid)).toBe(true);
    parent.kill("SIGKILL");
    await parent.exited;
    const deadline = Date.now() + 8000;
    while (isProcessAlive(anvilPid) && Date.now() < deadline) await Bun.sleep(100);
    const alive = isProcessAlive(anvilPid);
    if (alive) process.kill(anvilPid, "SIGKILL");
    expect(alive).toBe(false);
  });

  test("graceful parent exit kills anvil too (exit handler)", async () => {
    const script = join(tmp, "parent-exit.ts");
    const mod = join(import.meta.dir, "..", "..", "src", "l1", "anvil.ts");
    writeFileSync(
      script,
      `import { startAnvil } from ${JSON.stringify(mod)};\n` +
        `const a = await startAnvil({ watchdog: false });\nconsole.log(a.pid);\nprocess.exit(0);\n`,
    );
    const parent = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    await parent.exited;
    const anvilPid = Number((await new Response(parent.stdout).text()).trim());
    expect(anvilPid).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (isProcessAlive(anvilPid) && Date.now() < deadline) await Bun.sleep(50);
    const alive = isProcessAlive(anvilPid);
    if (alive) process.kill(anvilPid, "SIGKILL");
    expect(alive).toBe(false);
  });
});
