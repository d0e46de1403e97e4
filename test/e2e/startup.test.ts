/**
 * Startup refusals against a real anvil: each is a one-line error naming the variable and
 * exit code 78 (configuration), so a supervisor pages a human instead of restarting.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { postTx, signOp, subscribe, transferData } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { devnetEnv, startSequencerProcess, tempDir } from "../support/sequencer.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");
let anvil: DevnetAnvil;
const dir = tempDir();

beforeAll(async () => {
  anvil = await withDevnetAnvil();
});
afterAll(async () => {
  await anvil?.stop();
  dir.remove();
});

async function runExpectingExit(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const p = Bun.spawn([process.execPath, MAIN, "run"], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, stderr };
}

describe("startup refusals", () => {
  test("a chain id that does not match the node", async () => {
    const r = await runExpectingExit({ ...devnetEnv(anvil.url, join(dir.path, "a")), SEQ_CHAIN_ID: "1" });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("configuration error: SEQ_CHAIN_ID");
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/SEQ_CHAIN_ID.*31337/);
  });

  test("an app address with no contract", async () => {
    const r = await runExpectingExit({
      ...devnetEnv(anvil.url, join(dir.path, "b")),
      SEQ_APP_ADDRESS: "0x000000000000000000000000000000000000dead",
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("SEQ_APP_ADDRESS");
  });

  test("a portal bound to another InputBox (or not a contract)", async () => {
    const r = await runExpectingExit({
      ...devnetEnv(anvil.url, join(dir.path, "c")),
      SEQ_ETHER_PORTAL_ADDRESS: anvil.deployment.application,
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("SEQ_ETHER_PORTAL_ADDRESS");
  });

  test("without SEQ_INPUT_BOX_ADDRESS the InputBox is discovered from the app", async () => {
    const env = devnetEnv(anvil.url, join(dir.path, "d"));
    delete (env as Record<string, string | undefined>).SEQ_INPUT_BOX_ADDRESS;
    const s = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: join(dir.path, "d"), env: { SEQ_INPUT_BOX_ADDRESS: "" } });
    try {
      const info = (await (await fetch(`${s.url}/info`)).json()) as { input_box_address: string };
      expect(info.input_box_address).toBe(anvil.deployment.inputBox.toLowerCase());
    } finally {
      await s.stop();
    }
  });

  test("SEQ_APP_WASM replaces the embedded app; a bad module is a configuration error", async () => {
    const wasm = join(import.meta.dir, "..", "..", "app-wasm", "build", "wallet.wasm");
    const s = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: join(dir.path, "f"), env: { SEQ_APP_WASM: wasm } });
    try {
      const info = (await (await fetch(`${s.url}/info`)).json()) as { max_data_length: number; app_abi_version: number };
      expect(info).toMatchObject({ max_data_length: 53, app_abi_version: 1 });
    } finally {
      await s.stop();
    }
    const missing = await runExpectingExit({ ...devnetEnv(anvil.url, join(dir.path, "g")), SEQ_APP_WASM: join(dir.path, "nope.wasm") });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/SEQ_APP_WASM: .*nope\.wasm/);
    const notWasm = join(dir.path, "junk.wasm");
    await Bun.write(notWasm, "not a wasm module");
    const junk = await runExpectingExit({ ...devnetEnv(anvil.url, join(dir.path, "h")), SEQ_APP_WASM: notWasm });
    expect(junk.code).toBe(78);
    expect(junk.stderr).toContain("SEQ_APP_WASM");
  });

  test("a restart while L1 is unreachable resumes from stored state and keeps acknowledging", async () => {
    const d = join(dir.path, "outage");
    const s = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: d });
    const feed = subscribe(s.url);
    await anvil.deposit(6, 10n ** 18n);
    await anvil.mine(7);
    await feed.waitFor(1);
    feed.close();
    expect(await s.stop()).toBe(0);
    // Nothing listens on this port: every L1 call fails at the transport level.
    const deadPort = await freePort();
    const again = await startSequencerProcess({
      rpcUrl: anvil.url,
      dataDir: d,
      env: { SEQ_ETH_RPC_URL: `http://127.0.0.1:${deadPort}`, SEQ_INPUT_BOX_ADDRESS: "" },
    });
    try {
      expect(again.logs.some((l) => l.msg === "L1 unreachable at startup; resuming from the stored binding")).toBe(true);
      const body = await signOp(DEVNET_KEYS[6] as Hex, { nonce: 0, maxFee: 1409, data: transferData(1n, DEVNET_ADDRESSES[3]!.toLowerCase() as Hex) });
      const r = await postTx(again.url, body);
      expect(r.status).toBe(200);
      expect(r.json.offset).toBe(1);
    } finally {
      await again.stop();
    }
    // A first start cannot do without L1.
    const fresh = await runExpectingExit({ ...devnetEnv(`http://127.0.0.1:${deadPort}`, join(dir.path, "fresh")) });
    expect(fresh.code).toBe(1);
  });

  test("an inspect listener address already in use", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await runExpectingExit({ ...devnetEnv(anvil.url, join(dir.path, "f")), SEQ_INSPECT_HTTP_ADDR: `127.0.0.1:${taken.port}` });
      expect(r.code).toBe(78);
      expect(r.stderr.trim().split("\n").at(-1)).toContain(`configuration error: SEQ_INSPECT_HTTP_ADDR: cannot listen on 127.0.0.1:${taken.port}`);
    } finally {
      taken.stop(true);
    }
  });

  test("a data dir of another deployment is refused", async () => {
    const d = join(dir.path, "e");
    const s = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: d });
    expect(await s.stop()).toBe(0);
    const r = await runExpectingExit({
      ...devnetEnv(anvil.url, d),
      // Another submitter key: the history in this data dir was sequenced for someone else.
      SEQ_BATCH_SUBMITTER_PRIVATE_KEY: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("belongs to another deployment");
  });
});

describe("JavaScript heap sizing (runtime/heap-sizing.ts)", () => {
  /** The JSC option in the environment of the running process, read from /proc. */
  function jscRamOption(pid: number): string | undefined {
    const vars = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return vars.find((v) => v.startsWith("BUN_JSC_forceRAMSize="))?.split("=")[1];
  }

  test("by default the process re-executes itself (same PID) with JSC sized for 160 MiB", async () => {
    const s = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: join(dir.path, "heap-default") });
    try {
      // The PID is the one Bun.spawn returned, so the exec replaced the process instead of forking.
      expect(jscRamOption(s.proc.pid)).toBe(String(160 * 1_048_576));
      expect(readFileSync(`/proc/${s.proc.pid}/cmdline`, "utf8").split("\0").slice(-2)).toEqual(["run", ""]);
      expect(s.logs.find((l) => l.msg === "starting sequencer")?.jsHeapRamMb).toBe(160);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  test("SEQ_JS_HEAP_RAM_MB=0 leaves JSC to the machine's RAM; an operator's BUN_JSC_forceRAMSize wins", async () => {
    const off = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: join(dir.path, "heap-off"), env: { SEQ_JS_HEAP_RAM_MB: "0" } });
    try {
      expect(jscRamOption(off.proc.pid)).toBeUndefined();
      expect(off.logs.find((l) => l.msg === "starting sequencer")?.jsHeapRamMb).toBe("machine");
    } finally {
      expect(await off.stop()).toBe(0);
    }
    const own = await startSequencerProcess({
      rpcUrl: anvil.url,
      dataDir: join(dir.path, "heap-own"),
      env: { SEQ_JS_HEAP_RAM_MB: "512", BUN_JSC_forceRAMSize: String(300 * 1_048_576) },
    });
    try {
      expect(jscRamOption(own.proc.pid)).toBe(String(300 * 1_048_576));
      expect(own.logs.find((l) => l.msg === "starting sequencer")?.jsHeapRamMb).toBe(300);
    } finally {
      expect(await own.stop()).toBe(0);
    }
  });

  test("a bad SEQ_JS_HEAP_RAM_MB is a one-line configuration error", async () => {
    const r = await runExpectingExit({ ...devnetEnv(anvil.url, join(dir.path, "heap-bad")), SEQ_JS_HEAP_RAM_MB: "lots" });
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("SEQ_JS_HEAP_RAM_MB");
  });
});
