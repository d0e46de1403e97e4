import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { describeConfig, loadConfig } from "./config.ts";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const base = {
  SEQ_ETH_RPC_URL: "http://127.0.0.1:8545",
  SEQ_CHAIN_ID: "31337",
  SEQ_APP_ADDRESS: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
  SEQ_BATCH_SUBMITTER_PRIVATE_KEY: KEY,
};

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  test("defaults follow SPEC §9", () => {
    const c = loadConfig(base);
    expect(c.http).toEqual({ host: "127.0.0.1", port: 3000 });
    expect(c.internalHttp).toEqual({ host: "127.0.0.1", port: 3001 });
    expect(c.dataDir).toBe("sequencer-data");
    expect(c.preemptiveMarginBlocks).toBe(300);
    expect(c.secondsPerBlock).toBe(12);
    expect(c.maxBatchOpenSeconds).toBe(7200);
    expect(c.longBlockRangeErrorCodes).toEqual([-32005, -32600, -32602, -32616]);
    expect(c.appAddress).toBe("0xdc64a140aa3e981100a9beca4e685f962f0cf6c9");
    expect(c.inputBoxAddress).toBeUndefined();
    expect(c.signatureWorkers).toBe(Math.max(1, availableParallelism() - 1));
    expect(loadConfig({ ...base, SEQ_SIGNATURE_WORKERS: "3" }).signatureWorkers).toBe(3);
    expect(c.appConfig).toEqual(new Uint8Array(0));
    expect(c.inspectEnabled).toBe(true);
    expect(c.inspectQueueCapacity).toBe(64);
  });

  test("SEQ_APP_CONFIG is hex or a file of raw bytes, and is not a secret", () => {
    expect(loadConfig({ ...base, SEQ_APP_CONFIG: "0x0102ff" }).appConfig).toEqual(Uint8Array.of(1, 2, 0xff));
    const dir = tempDir();
    try {
      const f = join(dir.path, "cfg.bin");
      writeFileSync(f, Uint8Array.of(9, 8, 7));
      const c = loadConfig({ ...base, SEQ_APP_CONFIG: f });
      expect(c.appConfig).toEqual(Uint8Array.of(9, 8, 7));
      expect(describeConfig(c).appConfig).toBe("0x090807");
    } finally {
      dir.remove();
    }
  });

  test.each([
    ["SEQ_ETH_RPC_URL", undefined],
    ["SEQ_ETH_RPC_URL", "not a url"],
    ["SEQ_ETH_RPC_URL", "ftp://x"],
    ["SEQ_CHAIN_ID", undefined],
    ["SEQ_CHAIN_ID", "0"],
    ["SEQ_CHAIN_ID", "abc"],
    ["SEQ_APP_ADDRESS", "0x1234"],
    ["SEQ_BATCH_SUBMITTER_PRIVATE_KEY", undefined],
    ["SEQ_BATCH_SUBMITTER_PRIVATE_KEY", "0x00"],
    ["SEQ_HTTP_ADDR", "localhost"],
    ["SEQ_HTTP_ADDR", "127.0.0.1:70000"],
    ["SEQ_INTERNAL_HTTP_ADDR", ":"],
    ["SEQ_PREEMPTIVE_MARGIN_BLOCKS", "0"],
    ["SEQ_PREEMPTIVE_MARGIN_BLOCKS", "1200"],
    ["SEQ_SECONDS_PER_BLOCK", "1.5"],
    ["SEQ_MAX_BATCH_OPEN_SECONDS", "0"],
    ["SEQ_LONG_BLOCK_RANGE_ERROR_CODES", "-32005,x"],
    ["SEQ_LOG_LEVEL", "verbose"],
    ["SEQ_SIGNATURE_WORKERS", "0"],
    ["SEQ_SIGNATURE_WORKERS", "two"],
    ["SEQ_INPUT_BOX_ADDRESS", "0xnothex0000000000000000000000000000000000"],
    ["SEQ_APP_CONFIG", "0xabc"],
    ["SEQ_APP_CONFIG", "/nonexistent/app-config.bin"],
    ["SEQ_INSPECT_QUEUE_CAPACITY", "0"],
    ["SEQ_INSPECT_ENABLED", "maybe"],
    ["SEQ_INSPECT_HTTP_ADDR", "3002"],
    ["SEQ_INSPECT_HTTP_ADDR", "127.0.0.1:3000"],
    ["SEQ_INSPECT_HTTP_ADDR", "0.0.0.0:3001"],
    ["SEQ_CORS_ORIGINS", "app.example"],
    ["SEQ_CORS_ORIGINS", "https://app.example/"],
    ["SEQ_CORS_ORIGINS", "https://app.example/path"],
    ["SEQ_CORS_ORIGINS", "https://a.example,*"],
    ["SEQ_CORS_ORIGINS", "ftp://a.example"],
  ] as const)("%s=%p is a startup error naming the variable", (name, value) => {
    const env: Record<string, string> = { ...base };
    if (value === undefined) delete env[name];
    else env[name] = value;
    const e = errorOf(env);
    expect(e.variable).toBe(name);
    expect(e.message.startsWith(name)).toBe(true);
    expect(e.message).not.toContain("\n");
  });

  test("SEQ_CORS_ORIGINS: none by default, '*', or a list of origins", () => {
    expect(loadConfig(base).corsOrigins).toEqual({ kind: "none" });
    expect(loadConfig({ ...base, SEQ_CORS_ORIGINS: "" }).corsOrigins).toEqual({ kind: "none" });
    expect(loadConfig({ ...base, SEQ_CORS_ORIGINS: "*" }).corsOrigins).toEqual({ kind: "any" });
    const list = loadConfig({ ...base, SEQ_CORS_ORIGINS: "https://a.example, http://localhost:5173" }).corsOrigins;
    expect(list).toEqual({ kind: "list", origins: new Set(["https://a.example", "http://localhost:5173"]) });
    expect(describeConfig(loadConfig({ ...base, SEQ_CORS_ORIGINS: "*" })).corsOrigins).toBe("any");
  });

  test("SEQ_INSPECT_HTTP_ADDR: none by default, an address of its own, and only with the follower", () => {
    expect(loadConfig(base).inspectHttp).toBeUndefined();
    expect(loadConfig({ ...base, SEQ_INSPECT_HTTP_ADDR: "" }).inspectHttp).toBeUndefined();
    const c = loadConfig({ ...base, SEQ_INSPECT_HTTP_ADDR: "0.0.0.0:3002" });
    expect(c.inspectHttp).toEqual({ host: "0.0.0.0", port: 3002 });
    expect(describeConfig(c).inspectHttp).toBe("0.0.0.0:3002");
    // port 0 for every listener is what tests do: each gets its own
    expect(loadConfig({ ...base, SEQ_HTTP_ADDR: "127.0.0.1:0", SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:0" }).inspectHttp?.port).toBe(0);
    const off = errorOf({ ...base, SEQ_INSPECT_HTTP_ADDR: "127.0.0.1:3002", SEQ_INSPECT_ENABLED: "false" });
    expect(off.variable).toBe("SEQ_INSPECT_HTTP_ADDR");
    expect(off.message).toContain("SEQ_INSPECT_ENABLED=false");
  });

  test("the private key never appears in errors or in the loggable view", () => {
    const c = loadConfig(base);
    expect(JSON.stringify(describeConfig(c))).not.toContain(KEY.slice(2));
    const e = errorOf({ ...base, SEQ_BATCH_SUBMITTER_PRIVATE_KEY: KEY + "ff" });
    expect(e.message).not.toContain(KEY.slice(2));
  });

  test("the key can come from the first line of a file, but not from both places", () => {
    const d = tempDir();
    const file = join(d.path, "key");
    writeFileSync(file, KEY + "\nignored second line\n");
    const { SEQ_BATCH_SUBMITTER_PRIVATE_KEY: _, ...noKey } = base;
    expect(loadConfig({ ...noKey, SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE: file }).batchSubmitterPrivateKey).toBe(KEY);
    expect(errorOf({ ...base, SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE: file }).variable).toBe("SEQ_BATCH_SUBMITTER_PRIVATE_KEY");
    expect(errorOf({ ...noKey, SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE: join(d.path, "missing") }).variable).toBe(
      "SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE",
    );
    d.remove();
  });
});

describe("cross-checks", () => {
  test("a batch must close by time well before it could age into the danger zone", () => {
    // Defaults: 7200 s of 12 s blocks = 600 blocks, danger at 900 (3/4 of it: 675): fine.
    expect(loadConfig(base).maxBatchOpenSeconds).toBe(7200);
    // 1 s blocks with two-hour batches: 7200 blocks, far past 900.
    const e = errorOf({ ...base, SEQ_SECONDS_PER_BLOCK: "1" });
    expect(e.variable).toBe("SEQ_MAX_BATCH_OPEN_SECONDS");
    expect(e.message).toContain("<= 675 s");
    expect(loadConfig({ ...base, SEQ_SECONDS_PER_BLOCK: "1", SEQ_MAX_BATCH_OPEN_SECONDS: "675" }).maxBatchOpenSeconds).toBe(675);
    expect(errorOf({ ...base, SEQ_SECONDS_PER_BLOCK: "1", SEQ_MAX_BATCH_OPEN_SECONDS: "676" }).variable).toBe("SEQ_MAX_BATCH_OPEN_SECONDS");
    // A larger margin shrinks the threshold and the bound with it.
    expect(errorOf({ ...base, SEQ_PREEMPTIVE_MARGIN_BLOCKS: "1000" }).variable).toBe("SEQ_MAX_BATCH_OPEN_SECONDS");
  });
});
