/**
 * The compiled single binary (`npm run build` → dist/sequencer), copied ALONE into a fresh
 * folder and run from there: CLI surface, one-line config errors, no secret in any output, and
 * a real `run` against a devnet anvil that accepts a signed op through the native secp256k1
 * backend inside the signature workers.
 *
 * dist/sequencer is (re)built in beforeAll when it is missing or older than the sources.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseEther, type Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_BATCH_SUBMITTER_INDEX, DEVNET_DEPLOYMENT, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { type DevnetAnvil, withDevnetAnvil } from "../support/anvil.ts";
import { type FeedClient, getJson, postTx, signOp, subscribe, transferData, until } from "../support/client.ts";
import { METERED_WALLET_SHA256 } from "../support/metering-pins.ts";
import { type SequencerProcess, startSequencerProcess, tempDir } from "../support/sequencer.ts";

const ROOT = join(import.meta.dir, "..", "..");
const DIST = join(ROOT, "dist", "sequencer");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** A real anvil dev key (the devnet batch submitter): it must never be printed. */
const KEY = DEVNET_KEYS[DEVNET_BATCH_SUBMITTER_INDEX];
const KEY_HEX = KEY.slice(2);

/** Newest mtime among the files the binary is built from. */
function newestSourceMtime(): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) visit(join(p, e));
    } else if (!p.endsWith(".test.ts")) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of ["src", "package.json", "scripts/build.ts", "app-wasm/build", "devnet"]) visit(join(ROOT, p));
  return newest;
}

function ensureBinary(): void {
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= newestSourceMtime()) return;
  const p = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), "--quiet"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) throw new Error(`npm run build failed:\n${p.stdout.toString()}\n${p.stderr.toString()}`);
}

let dir: { path: string; remove(): void };
let bin: string;

beforeAll(() => {
  ensureBinary();
  dir = tempDir("seq-binary-");
  bin = join(dir.path, "sequencer");
  copyFileSync(DIST, bin);
  Bun.spawnSync(["chmod", "+x", bin]);
}, 120_000);

afterAll(() => {
  dir?.remove();
});

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the copied binary from its own folder with exactly `env` (plus PATH/HOME). */
async function runBin(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  const proc = Bun.spawn([bin, ...args], {
    cwd: dir.path,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir.path, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(killer);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  }
}

function expectNoSecret(r: RunResult): void {
  const all = (r.stdout + r.stderr).toLowerCase();
  expect(all).not.toContain(KEY_HEX);
  // nor a recognisable piece of it (e.g. a truncated echo of the value)
  expect(all).not.toContain(KEY_HEX.slice(0, 16));
  expect(all).not.toContain(KEY_HEX.slice(-16));
}

/** A complete, valid `run` environment except for what the test overrides. */
function fullEnv(over: Record<string, string> = {}): Record<string, string> {
  const d = DEVNET_DEPLOYMENT;
  return {
    SEQ_ETH_RPC_URL: "http://127.0.0.1:9",
    SEQ_CHAIN_ID: String(d.chainId),
    SEQ_APP_ADDRESS: d.application,
    SEQ_BATCH_SUBMITTER_PRIVATE_KEY: KEY,
    SEQ_DATA_DIR: join(dir.path, "data-" + Math.random().toString(36).slice(2)),
    SEQ_HTTP_ADDR: "127.0.0.1:0",
    SEQ_INTERNAL_HTTP_ADDR: "127.0.0.1:0",
    ...over,
  };
}

describe("dist/sequencer copied alone", () => {
  test("the copy sits alone in its folder", () => {
    expect(readdirSync(dir.path)).toEqual(["sequencer"]);
  });

  test("--help exits 0 and names run and devnet", async () => {
    const r = await runBin(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\brun\b/);
    expect(r.stdout).toMatch(/\bdevnet\b/);
  });

  test("--version prints package.json's version", async () => {
    const r = await runBin(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  test("an unknown command is a usage error", async () => {
    const r = await runBin(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command");
  });

  test("run without SEQ_CHAIN_ID: exit 78, one stderr line naming it, no secret", async () => {
    const env = fullEnv();
    delete env.SEQ_CHAIN_ID;
    const r = await runBin(["run"], env);
    expect(r.code).toBe(78);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("SEQ_CHAIN_ID");
    expect(r.stdout).toBe("");
    expectNoSecret(r);
  });

  test("run with a bad SEQ_HTTP_ADDR: exit 78, one stderr line naming it, no secret", async () => {
    const r = await runBin(["run"], fullEnv({ SEQ_HTTP_ADDR: "not-an-address" }));
    expect(r.code).toBe(78);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("SEQ_HTTP_ADDR");
    expectNoSecret(r);
  });

  test("a bad SEQ_JS_HEAP_RAM_MB: exit 78 before anything else, one stderr line naming it", async () => {
    const r = await runBin(["run"], fullEnv({ SEQ_JS_HEAP_RAM_MB: "-5" }));
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("SEQ_JS_HEAP_RAM_MB");
    expectNoSecret(r);
  });

  test("a malformed private key is named but its value is not echoed", async () => {
    const bad = KEY.slice(0, -1); // 63 hex digits
    const r = await runBin(["run"], fullEnv({ SEQ_BATCH_SUBMITTER_PRIVATE_KEY: bad }));
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("SEQ_BATCH_SUBMITTER_PRIVATE_KEY");
    expectNoSecret(r);
  });

  test("an unreachable L1 is a fatal error that does not leak the key", async () => {
    const r = await runBin(["run"], fullEnv({ SEQ_LOG_LEVEL: "debug" }), 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr.length).toBeGreaterThan(0);
    expectNoSecret(r);
  }, 70_000);
});

describe("dist/sequencer run against a devnet anvil", () => {
  let l1: DevnetAnvil | undefined;
  let seq: SequencerProcess | undefined;
  let feed: FeedClient | undefined;
  let data: { path: string; remove(): void } | undefined;

  afterAll(async () => {
    feed?.close();
    try {
      if (seq) expect(await seq.stop()).toBe(0);
    } finally {
      await l1?.stop();
      data?.remove();
    }
  }, 40_000);

  test("becomes ready, takes a deposit, and acks a signed transfer (native secp256k1 and keccak)", async () => {
    l1 = await withDevnetAnvil();
    data = tempDir("seq-binary-data-");
    const started = performance.now();
    // cd into the binary's lonely folder so nothing next to the checkout can be picked up.
    seq = await startSequencerProcess({
      rpcUrl: l1.url,
      dataDir: data.path,
      command: ["/bin/sh", "-c", 'cd "$0" && exec ./sequencer run', dir.path],
      // Forces the addon: if it cannot load inside the worker, recovery fails and /tx is not 200.
      env: { SEQ_SIG_BACKEND: "native" },
    });
    const readyMs = performance.now() - started;
    expect(readyMs).toBeLessThan(30_000);
    expect(seq.logs.some((l) => l.msg === "sequencer ready")).toBe(true);
    // The binary re-executed itself with the JSC heap sizing (same PID as the shell's exec),
    // keeping its own argv: a wrong argv would not have reached "ready".
    const environ = readFileSync(`/proc/${seq.proc.pid}/environ`, "utf8").split("\0");
    expect(environ).toContain(`BUN_JSC_forceRAMSize=${160 * 1_048_576}`);
    expect(readFileSync(`/proc/${seq.proc.pid}/cmdline`, "utf8").split("\0").slice(1, -1)).toEqual(["run"]);

    feed = subscribe(seq.url);
    await feed.opened;

    const alice = DEVNET_ADDRESSES[2].toLowerCase() as Hex;
    await l1.deposit(2, parseEther("1"));
    const deposit = await until(
      async () => {
        const m = feed!.messages.find((x) => x.kind === "direct_input");
        if (!m) await l1!.mine(1);
        return m;
      },
      20_000,
      "the deposit as a direct_input in the feed",
    );
    expect(deposit.sender.toLowerCase()).toBe(DEVNET_DEPLOYMENT.etherPortal.toLowerCase());

    // the compiled binary instruments the wallet to the same bytes as Bun does (fuel is consensus)
    expect((await getJson(`${seq.url}/info`)).json.app_metered_sha256).toBe(METERED_WALLET_SHA256);
    // The embedded files reach the binary: the dashboard page and the OpenAPI document.
    const page = await fetch(`${seq.internalUrl}/dashboard`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('data-testid="danger-blocks-left"');
    expect((await getJson(`${seq.url}/openapi.json`)).json.openapi).toBe("3.1.0");

    const fee = await getJson(`${seq.url}/fee`);
    expect(fee.status).toBe(200);
    const nonce0 = await getJson(`${seq.url}/nonce?sender=${alice}`);
    expect(nonce0.status).toBe(200);

    const body = await signOp(DEVNET_KEYS[2], {
      nonce: nonce0.json.next_nonce,
      maxFee: fee.json.suggested_max_fee,
      data: transferData(parseEther("0.001"), DEVNET_ADDRESSES[3].toLowerCase() as Hex),
    });
    const res = await postTx(seq.url, body);
    expect(res.status).toBe(200);
    expect(res.json.ok).toBe(true);
    expect(res.json.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(typeof res.json.offset).toBe("number");

    const op = await until(
      () => feed!.messages.find((x) => x.kind === "user_op" && x.tx_hash === res.json.tx_hash),
      10_000,
      "the user_op in the feed",
    );
    expect(op.offset).toBe(res.json.offset);
    const nonce1 = await getJson(`${seq.url}/nonce?sender=${alice}`);
    expect(nonce1.json.next_nonce).toBe(nonce0.json.next_nonce + 1);

    // The addon really is loaded in this process (Bun extracts the embedded .node and dlopens it).
    // Compare the mapped .node files with the prebuilt addon, byte for byte.
    if (process.platform === "linux" && process.arch === "x64") {
      const maps = readFileSync(`/proc/${seq.proc.pid}/maps`, "utf8");
      const mapped = [...new Set(maps.split("\n").map((l) => l.split(/\s+/)[5] ?? "").filter((p) => p.endsWith(".node")))];
      // both native addons: secp256k1 (recovery) and keccak (digest and tx_hash of that op)
      for (const rel of ["secp256k1/prebuilds/linux-x64/secp256k1.glibc.node", "keccak/prebuilds/linux-x64/node.napi.glibc.node"]) {
        const addon = readFileSync(join(ROOT, "node_modules", rel));
        expect(mapped.some((p) => existsSync(p) && readFileSync(p).equals(addon))).toBe(true);
      }
    }

    const startup = seq.logs.find((l) => l.msg === "starting sequencer");
    expect(startup).toBeDefined();
    const logged = JSON.stringify(seq.logs).toLowerCase();
    expect(logged).not.toContain(KEY_HEX);
  }, 90_000);
});

describe("dist/sequencer runs a WASI app in C, and serves inspect from its worker (on the public port and its own)", () => {
  let l1: DevnetAnvil | undefined;
  let seq: SequencerProcess | undefined;
  let data: { path: string; remove(): void } | undefined;

  afterAll(async () => {
    try {
      if (seq) expect(await seq.stop()).toBe(0);
    } finally {
      await l1?.stop();
      data?.remove();
    }
  }, 40_000);

  test("the guestbook: a deposit, a signed message, and GET /inspect reads it back", async () => {
    l1 = await withDevnetAnvil();
    data = tempDir("seq-binary-wasi-");
    // the module sits next to the lonely binary: nothing from the checkout is reachable
    copyFileSync(join(ROOT, "app-wasm", "build", "guestbook.wasm"), join(dir.path, "guestbook.wasm"));
    seq = await startSequencerProcess({
      rpcUrl: l1.url,
      dataDir: data.path,
      command: ["/bin/sh", "-c", 'cd "$0" && exec ./sequencer run', dir.path],
      env: { SEQ_APP_WASM: "guestbook.wasm", SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:0" },
    });
    const feed = subscribe(seq.url);
    try {
      await feed.opened;
      await l1.deposit(2, parseEther("1"));
      await until(
        async () => {
          const m = feed.messages.find((x) => x.kind === "direct_input");
          if (!m) await l1!.mine(1);
          return m;
        },
        20_000,
        "the deposit",
      );
      const body = await signOp(DEVNET_KEYS[2], { nonce: 0, maxFee: 1409, data: `0x${Buffer.from("hi from the binary").toString("hex")}` });
      expect((await postTx(seq.url, body)).status).toBe(200);
      const answer = await until(async () => {
        const r = await getJson(`${seq!.url}/inspect/00`);
        return r.json.reports?.length === 1 ? r : null;
      });
      expect(answer!.json.status).toBe("accepted");
      expect(Buffer.from(answer!.json.reports[0].payload.slice(58), "hex").toString()).toBe("hi from the binary");
      // the worker's own listener (SEQ_INSPECT_HTTP_ADDR) serves the same answer
      expect(seq.inspectUrl).toBeString();
      expect((await getJson(`${seq.inspectUrl}/inspect/00`)).json).toEqual(answer!.json);
      // bun:ffi reaches libc from the compiled binary: the follower's thread runs at nice 19
      expect(seq.logs.find((l) => l.msg === "inspect follower ready")).toMatchObject({ thread_nice: 19 });
    } finally {
      feed.close();
    }
  }, 90_000);
});
