/**
 * The instrumentation is consensus (SPEC 2.8): its output must be the same bytes wherever it
 * is produced, and it must refuse what it cannot bound.
 */
import { describe, expect, test } from "bun:test";
import binaryen from "binaryen";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadDefaultAppBytes } from "./default-app.ts";
import { MAX_MEMORY_PAGES } from "../core/execution-limits.ts";
import { AppLoadError } from "./errors.ts";
import { METERED_WALLET_SHA256 } from "../../test/support/metering-pins.ts";
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
