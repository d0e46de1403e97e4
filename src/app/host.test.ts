/**
 * The host side of the ABI: load-time checks, the fatal-error contract, the counters it
 * owns, and the module loading used by the binary. Fixture modules are compiled from
 * AssemblyScript with the real compiler (no mocks).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAppBytes, loadDefaultAppBytes } from "./default-app.ts";
import { AppArgumentError, AppDumpError, AppFatalError, AppLoadError, AppSnapshotError } from "./errors.ts";
import { ExecutionFailedError } from "../core/execution-limits.ts";
import { prepareAppRuntime, AppHost } from "./host.ts";
import { wasiRuntimeLoaded } from "./wasi.ts";
import {
  ALICE,
  BOB,
  CONFIG,
  ETHER_PORTAL,
  ZERO,
  compileAs,
  etherDeposit,
  fixtureSource,
  newWallet,
  transferData,
  u256LE,
} from "../../scripts/lib/app-fixtures.ts";

const FEE = 1356;

/** Builds a wallet dump with one account, to reach states that would take 2^32 ops. */
function dumpWith(addrHex: string, nonce: number, balance: bigint): Uint8Array {
  const out = new Uint8Array(12 + 56);
  const dv = new DataView(out.buffer);
  out.set([0x43, 0x57, 0x41, 0x4c]);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, 1, true);
  out.set(Buffer.from(addrHex.slice(2), "hex"), 12);
  dv.setUint32(32, nonce, true);
  out.set(u256LE(balance), 36);
  return out;
}

describe("counters owned by the host", () => {
  test("executedInputCount advances once per successful apply; clock = max(clock, block)", () => {
    const w = newWallet();
    expect(w.executedInputCount).toBe(0n);
    expect(w.clock).toBe(0n);
    w.applyDirectInput(ETHER_PORTAL, 100n, etherDeposit(ALICE, 10n ** 18n));
    expect(w.position).toEqual({ executedInputCount: 1n, clock: 100n });
    w.applyDirectInput(BOB, 40n, new Uint8Array()); // forced inclusion of an old input
    expect(w.position).toEqual({ executedInputCount: 2n, clock: 100n });
    w.validate(ALICE, 0, FEE, new Uint8Array());
    expect(w.executedInputCount).toBe(2n); // validate never counts
    w.applyUserOp(ALICE, 0, FEE, transferData(1n, BOB), 150n);
    expect(w.position).toEqual({ executedInputCount: 3n, clock: 150n });
  });

  test("argument errors are thrown before executing and leave the instance alive", () => {
    const w = newWallet();
    expect(() => w.applyDirectInput(ETHER_PORTAL, -1n, new Uint8Array())).toThrow(AppArgumentError);
    expect(() => w.applyDirectInput(ETHER_PORTAL, 1n << 63n, new Uint8Array())).toThrow(AppArgumentError);
    expect(() => w.validate(ALICE, -1, FEE, new Uint8Array())).toThrow(AppArgumentError);
    expect(() => w.validate(ALICE, 2 ** 32, FEE, new Uint8Array())).toThrow(AppArgumentError);
    expect(() => w.validate("0x1234", 0, FEE, new Uint8Array())).toThrow();
    expect(() => w.validate(ALICE, 0, 17102, new Uint8Array())).toThrow(); // InvalidFeeError from core
    expect(() => w.applyUserOp(ALICE, 0, FEE, new Uint8Array(54), 1n)).toThrow(AppArgumentError);
    expect(() => w.load(new Uint8Array(), { executedInputCount: -1n, clock: 0n })).toThrow(AppArgumentError);
    expect(w.isDead).toBe(false);
    expect(w.executedInputCount).toBe(0n);
  });

  test("a sender given as its 20 stored bytes (replay) acts exactly like its hex form", () => {
    const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
    const viaHex = newWallet();
    const viaBytes = newWallet();
    for (const who of [ALICE, BOB]) {
      viaHex.applyDirectInput(ETHER_PORTAL, 10n, etherDeposit(who, 10n ** 18n));
      viaBytes.applyDirectInput(bytes(ETHER_PORTAL), 10n, etherDeposit(who, 10n ** 18n));
    }
    for (let nonce = 0; nonce < 3; nonce++) {
      // Alternate senders so the host's one-entry hex cache cannot hide a wrong byte path.
      const a = viaHex.applyUserOp(ALICE, nonce, FEE, transferData(5n, BOB), 20n);
      const b = viaBytes.applyUserOp(bytes(ALICE), nonce, FEE, transferData(5n, BOB), 20n);
      expect(b).toEqual(a);
      viaHex.applyUserOp(BOB, nonce, FEE, transferData(1n, ALICE), 20n);
      viaBytes.applyUserOp(bytes(BOB), nonce, FEE, transferData(1n, ALICE), 20n);
    }
    expect(viaBytes.dump()).toEqual(viaHex.dump());
    expect(viaBytes.position).toEqual(viaHex.position);
    expect(() => viaBytes.applyUserOp(new Uint8Array(19), 0, FEE, new Uint8Array(), 20n)).toThrow(AppArgumentError);
    expect(() => viaBytes.applyDirectInput(new Uint8Array(21), 20n, new Uint8Array())).toThrow(AppArgumentError);
    expect(viaBytes.isDead).toBe(false);
  });

  test("the last nonce is refused so an account can never wrap back to nonce 0", () => {
    const w = newWallet();
    w.load(dumpWith(ALICE, 0xfffffffe, 10n ** 18n), { executedInputCount: 5n, clock: 7n });
    expect(w.nonceOf(ALICE)).toBe(0xfffffffe);
    w.applyUserOp(ALICE, 0xfffffffe, FEE, new Uint8Array(), 8n);
    expect(w.nonceOf(ALICE)).toBe(0xffffffff);
    expect(w.validate(ALICE, 0xffffffff, FEE, new Uint8Array())).toEqual({ ok: false, reason: "nonce exhausted" });
  });
});

/** What `f` throws (undefined if it returns). */
function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("app failures are not fatal (SPEC 2.8)", () => {
  test("a dump that traps is put back (globals included) and the instance lives on", async () => {
    const wasm = await compileAs(
      fixtureSource(
        {
          dump: "export function dump(): i32 { touched = 7; unreachable(); return 0; }",
          nonce_of: "export function nonce_of(s: usize): i64 { return touched; }",
        },
        "let touched: i64 = 0;",
      ),
    );
    const h = AppHost.create(wasm, CONFIG);
    const err = thrownBy(() => h.dump());
    expect(err).toBeInstanceOf(AppDumpError);
    expect((err as AppDumpError).failure).toBe("trap");
    expect(h.isDead).toBe(false);
    expect(h.nonceOf(ALICE)).toBe(0); // the dump's write was undone
    expect(h.applyDirectInput(BOB, 3n, new Uint8Array())).toEqual({ outputs: [], failure: null });
    expect(h.executedInputCount).toBe(1n);
    expect(() => h.dump()).toThrow(AppDumpError); // and again, not "dead after an earlier fatal error"
  });

  test("a dump whose memory is refused at the cap is an AppDumpError of class memory", async () => {
    const wasm = await compileAs(fixtureSource({ dump: "export function dump(): i32 { heap.alloc(64 << 20); return 0; }" }));
    const h = AppHost.create(wasm, CONFIG);
    expect(h.applyDirectInput(BOB, 3n, new Uint8Array())).toEqual({ outputs: [], failure: null });
    const err = thrownBy(() => h.dump());
    expect(err).toBeInstanceOf(AppDumpError);
    expect((err as AppDumpError).failure).toBe("memory");
    expect(h.isDead).toBe(false);
    expect(h.executedInputCount).toBe(1n);
    expect(h.applyDirectInput(BOB, 4n, new Uint8Array())).toEqual({ outputs: [], failure: null });
  });

  test("a dump that breaks the contract (non-zero result) is still fatal", async () => {
    const wasm = await compileAs(fixtureSource({ dump: "export function dump(): i32 { return 3; }" }));
    const h = AppHost.create(wasm, CONFIG);
    expect(() => h.dump()).toThrow(AppFatalError);
    expect(h.isDead).toBe(true);
  });

  test("apply of an op that validate would reject fails with the app's reason; the instance lives on", () => {
    const w = newWallet();
    expect(() => w.applyUserOp(ALICE, 0, FEE, new Uint8Array(), 1n)).toThrow(ExecutionFailedError);
    expect(w.isDead).toBe(false);
    expect(w.nonceOf(ALICE)).toBe(0);
    expect(w.executedInputCount).toBe(0n);
  });

  test("a trap inside apply_user_op is an ExecutionFailedError of class trap; counters and clock unchanged", async () => {
    const wasm = await compileAs(
      fixtureSource({
        apply_user_op:
          "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { unreachable(); return 0; }",
      }),
    );
    const h = AppHost.create(wasm, CONFIG);
    expect(h.validate(ALICE, 0, FEE, new Uint8Array())).toEqual({ ok: true });
    let err: unknown;
    try {
      h.applyUserOp(ALICE, 0, FEE, new Uint8Array(), 5n);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect((err as ExecutionFailedError).failure).toBe("trap");
    expect(h.executedInputCount).toBe(0n);
    expect(h.clock).toBe(0n);
    expect(h.applyDirectInput(BOB, 1n, new Uint8Array())).toEqual({ outputs: [], failure: null });
    expect(h.executedInputCount).toBe(1n);
  });

  test("abort() (an AssemblyScript assertion) in a direct input: an included no-op, the message in the detail", async () => {
    const wasm = await compileAs(
      fixtureSource({
        apply_direct_input:
          'export function apply_direct_input(s: usize, b: i64, p: usize, l: usize): i32 { assert(l == 0, "boom"); return 0; }',
      }),
    );
    const h = AppHost.create(wasm, CONFIG);
    h.applyDirectInput(BOB, 1n, new Uint8Array());
    expect(h.applyDirectInput(BOB, 9n, new Uint8Array(1))).toEqual({ outputs: [], failure: "trap" });
    // the host still counts the input and moves the clock (SPEC 2.8 rule 2)
    expect(h.executedInputCount).toBe(2n);
    expect(h.clock).toBe(9n);
  });

  test("a non-zero apply result is a failure of class result, with the app's reason", async () => {
    const wasm = await compileAs(
      fixtureSource(
        {
          apply_user_op:
            "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { store<u8>(ERR, 0x78); return 7; }",
          last_error_ptr: "export function last_error_ptr(): usize { return ERR; }",
          last_error_len: "export function last_error_len(): usize { return 1; }",
        },
        "const ERR = memory.data(8);",
      ),
    );
    const h = AppHost.create(wasm, CONFIG);
    expect(() => h.applyUserOp(ALICE, 0, FEE, new Uint8Array(), 1n)).toThrow(/returned a non-zero result \(returned 7: x\)/);
    expect(h.isDead).toBe(false);
  });

  test("emit during validate is a failure of class import (validate must be read-only)", async () => {
    const wasm = await compileAs(
      fixtureSource(
        {
          validate:
            "export function validate(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize): i32 { emit(0, d, l); return 0; }",
        },
        '@external("env", "emit") declare function emit(kind: i32, ptr: usize, len: usize): void;',
      ),
    );
    const h = AppHost.create(wasm, CONFIG);
    const v = h.validate(ALICE, 0, FEE, new Uint8Array(3));
    expect(v.ok).toBe(false);
    expect(!v.ok && v.failure).toBe("import");
    expect(!v.ok && v.reason).toMatch(/emit outside apply/);
    expect(h.isDead).toBe(false);
  });

  test("kinds 0, 1 and 2 map to notice, voucher and report; an unknown kind is a failure", async () => {
    const wasm = await compileAs(
      fixtureSource(
        {
          apply_direct_input:
            "export function apply_direct_input(s: usize, b: i64, p: usize, l: usize): i32 { emit(<i32>l, p, l); emit(1, p, 0); return 0; }",
        },
        '@external("env", "emit") declare function emit(kind: i32, ptr: usize, len: usize): void;',
      ),
    );
    const h = AppHost.create(wasm, CONFIG);
    expect(h.applyDirectInput(BOB, 1n, Uint8Array.of()).outputs).toEqual([
      { kind: "notice", payload: new Uint8Array() },
      { kind: "voucher", payload: new Uint8Array() },
    ]);
    expect(h.applyDirectInput(BOB, 1n, Uint8Array.of(9)).outputs).toEqual([
      { kind: "voucher", payload: Uint8Array.of(9) },
      { kind: "voucher", payload: new Uint8Array() },
    ]);
    expect(h.applyDirectInput(BOB, 1n, Uint8Array.of(9, 9)).outputs).toEqual([
      { kind: "report", payload: Uint8Array.of(9, 9) },
      { kind: "voucher", payload: new Uint8Array() },
    ]);
    // kind 3 does not exist: a misused import, so the input is an included no-op (SPEC 2.8)
    const before = h.executedInputCount;
    expect(h.applyDirectInput(BOB, 1n, Uint8Array.of(9, 9, 9))).toEqual({ outputs: [], failure: "import" });
    expect(h.executedInputCount).toBe(before + 1n);
  });
});

describe("load-time checks", () => {
  test("a module importing anything the ABI does not provide is refused, naming the import", async () => {
    const wasm = await compileAs(
      fixtureSource(
        { nonce_of: "export function nonce_of(s: usize): i64 { return now(); }" },
        '@external("env", "now") declare function now(): i64;',
      ),
    );
    expect(() => AppHost.create(wasm, CONFIG)).toThrow(AppLoadError);
    expect(() => AppHost.create(wasm, CONFIG)).toThrow(/imports function "env\.now", which ABI v1 does not provide/);
  });

  test("a WASI import needs the WASI runtime loaded, and a reactor", async () => {
    const wasm = await compileAs(
      fixtureSource(
        { nonce_of: "export function nonce_of(s: usize): i64 { return fd_write(1, 2, 3, 4); }" },
        '@external("wasi_snapshot_preview1", "fd_write") declare function fd_write(a: i32, b: i32, c: i32, d: i32): i64;',
      ),
    );
    // the runtime is process-wide: another test file may have loaded it already
    if (!wasiRuntimeLoaded()) expect(() => AppHost.create(wasm, CONFIG)).toThrow(/WASI runtime is not loaded/);
    await prepareAppRuntime(wasm);
    expect(wasiRuntimeLoaded()).toBe(true);
    expect(() => AppHost.create(wasm, CONFIG)).toThrow(/exports no _initialize: build it as a reactor/);
  });

  test("an allowed import with the wrong signature is refused", async () => {
    const wasm = await compileAs(
      fixtureSource(
        { nonce_of: "export function nonce_of(s: usize): i64 { emit(1, 2); return 0; }" },
        '@external("env", "emit") declare function emit(kind: i32, ptr: usize): void;',
      ),
    );
    expect(() => AppHost.create(wasm, CONFIG)).toThrow(/env\.emit" has signature \(i32, i32\) -> \(\)/);
  });

  test("ABI version mismatch is refused", async () => {
    const wasm = await compileAs(fixtureSource({ abi_version: "export function abi_version(): i32 { return 2; }" }));
    expect(() => AppHost.create(wasm, CONFIG)).toThrow(/ABI version mismatch: module has 2, host supports 1/);
  });

  test("a missing export or an export with the wrong signature is refused", async () => {
    const missing = await compileAs(fixtureSource({ dump_len: "" }));
    expect(() => AppHost.create(missing, CONFIG)).toThrow(/does not export "dump_len"/);
    const wrong = await compileAs(fixtureSource({ nonce_of: "export function nonce_of(s: usize): i32 { return 0; }" }));
    expect(() => AppHost.create(wrong, CONFIG)).toThrow(/"nonce_of" has signature \(i32\) -> \(i32\), expected \(i32\) -> \(i64\)/);
  });

  test("bytes that are not WebAssembly are refused", () => {
    expect(() => AppHost.create(Uint8Array.of(1, 2, 3), CONFIG)).toThrow(AppLoadError);
  });

  test("the wallet refuses a bad config", () => {
    expect(() => newWallet({ ...CONFIG, feeRecipient: ZERO })).toThrow(/fee recipient must not be the zero address/);
    expect(() => newWallet({ ...CONFIG, erc20Portal: CONFIG.etherPortal })).toThrow(/portal/);
    expect(() => newWallet({ ...CONFIG, erc20Token: "0x12" })).toThrow(AppLoadError);
  });
});

describe("snapshot errors from a foreign module", () => {
  test("a non-zero load() result is AppSnapshotError, not fatal", async () => {
    const wasm = await compileAs(fixtureSource({ load: "function ls(p: usize, l: usize): i32 { return 3; }\nexport { ls as load };" }));
    const h = AppHost.create(wasm, CONFIG);
    expect(() => h.load(Uint8Array.of(1), { executedInputCount: 1n, clock: 1n })).toThrow(AppSnapshotError);
    expect(h.isDead).toBe(false);
    expect(h.executedInputCount).toBe(0n);
  });
});

describe("module files", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "app-wasm-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the embedded wallet loads and speaks ABI v1", () => {
    const h = AppHost.create(loadDefaultAppBytes(), CONFIG);
    expect(h.abiVersion).toBe(1);
    expect(loadAppBytes(undefined)).toEqual(loadDefaultAppBytes());
    expect(loadAppBytes("")).toEqual(loadDefaultAppBytes());
  });

  test("SEQ_APP_WASM path overrides the embedded wallet", () => {
    const p = join(dir, "app.wasm");
    writeFileSync(p, loadDefaultAppBytes());
    expect(loadAppBytes(p)).toEqual(loadDefaultAppBytes());
  });

  test("a missing, unreadable or empty file is a typed error naming the path", () => {
    const missing = join(dir, "nope.wasm");
    expect(() => loadAppBytes(missing)).toThrow(AppLoadError);
    expect(() => loadAppBytes(missing)).toThrow(new RegExp(`SEQ_APP_WASM=${missing}.*ENOENT`));
    expect(() => loadAppBytes(dir)).toThrow(/EISDIR/);
    const empty = join(dir, "empty.wasm");
    writeFileSync(empty, "");
    expect(() => loadAppBytes(empty)).toThrow(/empty/);
  });
});

describe("build", () => {
  test("the committed wallet.wasm is exactly what app-wasm/ compiles to", async () => {
    const { compileWallet, WALLET_WASM_PATH } = await import("../../scripts/build-wasm.ts");
    const fresh = await compileWallet();
    expect(Buffer.from(fresh).equals(await Bun.file(WALLET_WASM_PATH).bytes())).toBe(true);
  }, 60_000);
});
