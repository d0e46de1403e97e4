/**
 * `npm run demo` against the real devnet appliance (`bun src/cli/main.ts devnet`, 1 s blocks)
 * started as a child process on ephemeral ports and a temp data dir; then a clean SIGTERM that
 * leaves no anvil behind, and a second start on the same data dir that continues the chain.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { isProcessAlive } from "../../src/l1/anvil.ts";
import { getJson, subscribe, until } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { tempDir } from "../support/sequencer.ts";

const ROOT = join(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "cli", "main.ts");
const DEMO = join(ROOT, "scripts", "demo.ts");

interface Devnet {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  logs: Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
  api: string;
  rpc: string;
  anvilPid: number;
  stop(): Promise<number>;
}

function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR"]) if (process.env[k]) out[k] = process.env[k]!;
  return out;
}

/** Every live process whose command line mentions `needle` (our temp data dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(needle)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function startDevnet(dataDir: string, ports: { anvil: number; http: number; internal: number }): Promise<Devnet> {
  const proc = Bun.spawn([process.execPath, MAIN, "devnet"], {
    cwd: dataDir,
    env: {
      ...baseEnv(),
      SEQ_DATA_DIR: dataDir,
      SEQ_DEVNET_ANVIL_PORT: String(ports.anvil),
      SEQ_HTTP_ADDR: `127.0.0.1:${ports.http}`,
      SEQ_INTERNAL_HTTP_ADDR: `127.0.0.1:${ports.internal}`,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Record<string, unknown>[] = [];
  let out = "";
  let err = "";
  let onLog: () => void = () => {};
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stderr) {
      const t = dec.decode(chunk, { stream: true });
      err += t;
      buf += t;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
          onLog();
        } catch {
          /* non-JSON */
        }
      }
    }
  })();
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) out += dec.decode(chunk, { stream: true });
  })();

  let stopped: Promise<number> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
      const code = await proc.exited;
      clearTimeout(killer);
      return code;
    })());

  try {
    const ready = await Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        onLog = () => {
          const r = logs.find((l) => l.msg === "sequencer ready");
          if (r) resolve(r);
        };
      }),
      proc.exited.then((c) => {
        throw new Error(`devnet exited with ${c} before ready:\n${err.slice(-3000)}`);
      }),
      Bun.sleep(60_000).then(() => {
        throw new Error(`devnet not ready after 60 s:\n${err.slice(-3000)}`);
      }),
    ]);
    const anvilReady = logs.find((l) => l.msg === "devnet: anvil ready");
    if (!anvilReady) throw new Error("no 'devnet: anvil ready' log line");
    return {
      proc,
      logs,
      stdout: () => out,
      stderr: () => err,
      api: ready.public_url as string,
      rpc: anvilReady.url as string,
      anvilPid: anvilReady.pid as number,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function blockNumber(rpc: string): Promise<number> {
  const res = await fetch(rpc, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
  });
  return Number(BigInt(((await res.json()) as { result: string }).result));
}

async function runDemo(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, DEMO], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), 150_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(killer);
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

describe("npm run demo against the devnet appliance", () => {
  let data: { path: string; remove(): void };
  let ports: { anvil: number; http: number; internal: number };
  const started: Devnet[] = [];

  beforeAll(async () => {
    data = tempDir("seq-demo-devnet-");
    ports = { anvil: await freePort(), http: await freePort(), internal: await freePort() };
  });

  afterAll(async () => {
    for (const d of started) await d.stop();
    // Belt and braces: nothing we started may outlive the test (only our own temp-dir processes).
    for (const pid of processesMentioning(data.path)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    data.remove();
  }, 60_000);

  let lastBlock = 0;
  let feedBefore: unknown[] = [];

  test("the demo deposits, transfers, and exits 0; SIGTERM stops the devnet and its anvil", async () => {
    const devnet = await startDevnet(data.path, ports);
    started.push(devnet);
    expect(devnet.api).toBe(`http://127.0.0.1:${ports.http}`);
    expect(devnet.rpc).toBe(`http://127.0.0.1:${ports.anvil}`);
    expect(isProcessAlive(devnet.anvilPid)).toBe(true);
    await until(() => devnet.stdout().includes("npm run demo"), 5_000, "the banner");

    // The demo follows the same variables as `npm start`, as the banner says.
    expect(devnet.stdout()).toContain(`SEQ_HTTP_ADDR=127.0.0.1:${ports.http} SEQ_DEVNET_ANVIL_PORT=${ports.anvil} npm run demo`);
    const demo = await runDemo({ SEQ_HTTP_ADDR: `127.0.0.1:${ports.http}`, SEQ_DEVNET_ANVIL_PORT: String(ports.anvil) });
    if (demo.code !== 0) process.stderr.write(`demo output:\n${demo.stdout}\n${demo.stderr}\n`);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain("tx_hash");
    expect(demo.stdout).toMatch(/POST \/tx → 200 .*"tx_hash":"0x[0-9a-f]{64}"/);
    expect(demo.stdout).toMatch(/feed ▸ direct_input/);
    expect(demo.stdout).toMatch(/feed ▸ user_op/);
    expect(demo.stdout).toContain('"next_nonce":1');
    process.stderr.write(`demo took ${Math.round(demo.ms)} ms\n`);

    // Remember where the chain and the feed are before stopping.
    lastBlock = await blockNumber(devnet.rpc);
    const sub = subscribe(devnet.api);
    feedBefore = (await sub.waitFor(2)).slice();
    sub.close();

    expect(await devnet.stop()).toBe(0);
    await until(() => !isProcessAlive(devnet.anvilPid), 5_000, "anvil to exit");
    expect(processesMentioning(data.path)).toEqual([]);
  }, 180_000);

  test("a second devnet start on the same data dir continues the chain and the feed", async () => {
    expect(lastBlock).toBeGreaterThan(0);
    const devnet = await startDevnet(data.path, ports);
    started.push(devnet);
    // A fresh chain would restart from the preloaded state's block number, well below lastBlock.
    expect(await blockNumber(devnet.rpc)).toBeGreaterThanOrEqual(lastBlock);
    await until(async () => (await blockNumber(devnet.rpc)) > lastBlock, 10_000, "a new block past the old head");

    const sub = subscribe(devnet.api);
    const after = await sub.waitFor(feedBefore.length);
    sub.close();
    expect(after.slice(0, feedBefore.length)).toEqual(feedBefore);

    const info = await getJson(`${devnet.api}/info`);
    expect(info.status).toBe(200);
    // The devnet allows any origin (a frontend's dev server); `run` allows none by default.
    const cors = await fetch(`${devnet.api}/fee`, { headers: { origin: "http://localhost:5173" } });
    expect(cors.headers.get("access-control-allow-origin")).toBe("*");

    expect(await devnet.stop()).toBe(0);
    await until(() => !isProcessAlive(devnet.anvilPid), 5_000, "anvil to exit");
    expect(processesMentioning(data.path)).toEqual([]);
  }, 120_000);
});
