/**
 * The instrumentation is consensus (SPEC 2.8): its output must be the same bytes wherever it
 * is produced, and it must refuse what it cannot bound.
 */
import { describe, expect, test } from "bun:test";
import binaryen from "binaryen";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadDefaultAppBytes } from "./default-app.ts";
import { MAX_MEMORY_PAGES } from "../core/execution-limits.ts";
import { AppLoadError } from "./errors.ts";
import { METERED_WALLET_SHA256 } from "../../test/support/metering-pins.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { meterModule, meterModuleUncached, sha256Hex } from "./metering.ts";


function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  m.setFeatures(binaryen.Features.All);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

describe("metering", () => {
  test("the instrumented wallet is byte-identical to the pinned one", () => {
    const m = meterModule(loadDefaultAppBytes());
    expect(m.meteredSha256).toBe(METERED_WALLET_SHA256);
    expect(sha256Hex(m.bytes)).toBe(METERED_WALLET_SHA256);
    expect(m.moduleSha256).toBe(sha256Hex(loadDefaultAppBytes()));
  });

  test("metering version 1 still instruments the pre-SDK wallet to the bytes #14 pinned", () => {
    // what `verify` of an export recorded under version 1 runs (docs/decisions.md)
    const v1 = new Uint8Array(readFileSync(join(import.meta.dir, "../../app-wasm/build/wallet-v1.wasm")));
    expect(meterModule(v1, 1).meteredSha256).toBe("03cb9b6908212dd18d77558ef9780adb252184178403a1e3d99324471fe5442a");
    expect(meterModule(v1, 2).meteredSha256).not.toBe(meterModule(v1, 1).meteredSha256);
    expect(() => meterModule(v1, 99)).toThrow(/metering version 99 is not supported/);
  });

  test("the same bytes after assemblyscript changed binaryen's process-wide settings, which are put back", async () => {
    // asc (run by app tests and LocalApp users in the same process) leaves optimize level 4
    // and Stack IR on; the writer would then emit other bytes, so other fuel
    const { compileWallet } = await import("../../scripts/build-wasm.ts");
    await compileWallet();
    const c = binaryen as unknown as Record<string, () => number>;
    const before = [c._BinaryenGetOptimizeLevel!(), c._BinaryenGetGenerateStackIR!()];
    expect(meterModuleUncached(loadDefaultAppBytes()).meteredSha256).toBe(METERED_WALLET_SHA256);
    expect([c._BinaryenGetOptimizeLevel!(), c._BinaryenGetGenerateStackIR!()]).toEqual(before);
  }, 60_000);

  test("refuses SIMD, tail calls and a reserved name, each naming what it refused", () => {
    const simd = wat(`(module (memory (export "memory") 1)
      (func (export "f") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))`);
    expect(() => meterModule(simd)).toThrow(AppLoadError);
    const tail = wat(`(module (memory (export "memory") 1)
      (func $g (result i32) (i32.const 1))
      (func (export "f") (result i32) (return_call $g)))`);
    expect(() => meterModule(tail)).toThrow(AppLoadError);
    const reserved = wat(`(module (memory (export "memory") 1)
      (global $g (mut i64) (i64.const 0)) (export "__seq_fuel" (global $g)) (func (export "f")))`);
    expect(() => meterModule(reserved)).toThrow(/reserved/);
  });

  test("refuses a memory that starts above the cap", () => {
    expect(() => meterModule(wat(`(module (memory (export "memory") ${MAX_MEMORY_PAGES + 1}))`))).toThrow(
      new RegExp(`starts with ${MAX_MEMORY_PAGES + 1} memory pages; the limit is ${MAX_MEMORY_PAGES}`),
    );
  });
});

describe("the data dir's cache of metered modules", () => {
  // Each run is a fresh process, as a restart is: the in-process cache is empty there.
  function prepareInChild(cacheDir: string, version = 2): { source: string; passLoaded: boolean; meteredSha256: string } {
    const script = `
      import { prepareMeteredModule, meterModule, meteringPassLoaded } from ${JSON.stringify(join(import.meta.dir, "metering.ts"))};
      import { loadDefaultAppBytes } from ${JSON.stringify(join(import.meta.dir, "default-app.ts"))};
      import { readFileSync } from "node:fs";
      const wasm = ${version === 1 ? `new Uint8Array(readFileSync(${JSON.stringify(join(import.meta.dir, "../../app-wasm/build/wallet-v1.wasm"))}))` : "loadDefaultAppBytes()"};
      const source = await prepareMeteredModule(wasm, { cacheDir: ${JSON.stringify(cacheDir)}, meteringVersion: ${version} });
      const m = meterModule(wasm, ${version});
      console.log(JSON.stringify({ source, passLoaded: meteringPassLoaded(), meteredSha256: m.meteredSha256 }));`;
    const p = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    return JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!);
  }

  test("a restart loads the metered module from the data dir without loading binaryen; a bad file is rebuilt", () => {
    const dir = tempDir("metered-cache-");
    try {
      const cacheDir = join(dir.path, "metered");
      expect(prepareInChild(cacheDir)).toEqual({ source: "computed", passLoaded: true, meteredSha256: METERED_WALLET_SHA256 });
      expect(prepareInChild(cacheDir)).toEqual({ source: "disk", passLoaded: false, meteredSha256: METERED_WALLET_SHA256 });

      // Another metering version is another key: never served the current version's bytes.
      const v1 = prepareInChild(cacheDir, 1);
      expect(v1).toMatchObject({ source: "computed", meteredSha256: "03cb9b6908212dd18d77558ef9780adb252184178403a1e3d99324471fe5442a" });
      expect(prepareInChild(cacheDir, 1).source).toBe("disk");

      // Bytes that do not match their recorded sha256 (a torn or altered file) are ignored.
      const files = readdirSync(cacheDir).filter((f) => f.endsWith(".json"));
      expect(files).toHaveLength(2);
      for (const f of files) {
        const body = JSON.parse(readFileSync(join(cacheDir, f), "utf8"));
        const bytes = Buffer.from(body.bytesBase64, "base64");
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
        writeFileSync(join(cacheDir, f), JSON.stringify({ ...body, bytesBase64: bytes.toString("base64") }));
      }
      expect(prepareInChild(cacheDir)).toEqual({ source: "computed", passLoaded: true, meteredSha256: METERED_WALLET_SHA256 });
      expect(prepareInChild(cacheDir)).toEqual({ source: "disk", passLoaded: false, meteredSha256: METERED_WALLET_SHA256 });

      // A file that is not JSON at all: the same.
      for (const f of readdirSync(cacheDir)) writeFileSync(join(cacheDir, f), "garbage");
      expect(prepareInChild(cacheDir).source).toBe("computed");
    } finally {
      dir.remove();
    }
  });
});
