/**
 * WASI modules (issue #15): the C guestbook (app-wasm/guestbook-c, committed as built) through
 * the real host, and a WASI probe module built in the test from WebAssembly text (binaryen),
 * for what must be deterministic: the clock, randomness, stdio, proc_exit, and the limits.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import binaryen from "binaryen";
import { join } from "node:path";
import { AppHost, prepareAppRuntime } from "./host.ts";
import { LocalApp, type Address } from "./local-app.ts";
import { CONFIG, ETHER_PORTAL, etherDeposit } from "../../scripts/lib/app-fixtures.ts";
import { buildGuestbook, clangAvailable, CLANG_ARGS, GUESTBOOK_WASM } from "../../scripts/build-c-app.ts";
import { testIf } from "../../test/support/optional-tools.ts";

const ALICE: Address = "0x00000000000000000000000000000000000a11ce";
const BOB: Address = "0x0000000000000000000000000000000000000b0b";
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("the C guestbook (WASI)", () => {
  test("messages, notices, inspect and the debug log; time() is the app clock", async () => {
    const app = await LocalApp.open(GUESTBOOK_WASM);
    app.deposit(ALICE, 10n ** 18n);
    app.advance(41);
    const r = app.op(ALICE, new TextEncoder().encode("hello from C"));
    expect(r.status).toBe("included");
    if (r.status !== "included") return;
    expect(r.outputs).toHaveLength(1);
    const n = Buffer.from(r.outputs[0]!.payload);
    expect(n.subarray(0, 20).toString("hex")).toBe(ALICE.slice(2));
    expect(n.readBigUInt64BE(20)).toBe(42n);
    expect(text(n.subarray(28))).toBe("hello from C");
    expect(app.logs).toEqual(["guestbook: 12 bytes at block 42 (clock 42), 1 messages from this author"]);

    expect(app.op(BOB, new TextEncoder().encode("no funds"))).toEqual({ status: "rejected", reason: "insufficient balance for fee" });
    expect(app.op(ALICE, new Uint8Array(0))).toEqual({ status: "rejected", reason: "a message is 1 to 140 bytes" });
    expect(app.op(ALICE, new Uint8Array(1), { nonce: 5 })).toEqual({ status: "rejected", reason: "bad nonce: expected 1, got 5" });
    app.op(ALICE, new TextEncoder().encode("second"));

    const msgs = app.inspect(Uint8Array.of(0));
    expect(msgs.status).toBe("accepted");
    expect(msgs.reports.map((m) => text(m.subarray(28)))).toEqual(["second", "hello from C"]);
    const acct = app.inspect(Uint8Array.of(1, ...Buffer.from(ALICE.slice(2), "hex")));
    expect(Buffer.from(acct.reports[0]!).readUInt32BE(32)).toBe(2); // next nonce
    expect(Buffer.from(acct.reports[0]!).readUInt32BE(36)).toBe(2); // messages
    expect(app.inspect(Uint8Array.of(9)).status).toBe("rejected");
  });

  test("the same history gives the same dump; dump and load round-trip; a bad dump changes nothing", async () => {
    const run = async () => {
      const app = await LocalApp.open(GUESTBOOK_WASM);
      for (const who of [BOB, ALICE]) app.deposit(who, 10n ** 18n);
      for (let i = 0; i < 40; i++) app.advance(1).op(i % 2 ? ALICE : BOB, new TextEncoder().encode(`message ${i}`));
      return app;
    };
    const a = await run();
    const b = await run();
    expect(a.dump()).toEqual(b.dump());
    const c = await LocalApp.open(GUESTBOOK_WASM);
    c.host.load(a.dump(), a.host.position);
    expect(c.dump()).toEqual(a.dump());
    expect(c.inspect(Uint8Array.of(0)).reports).toHaveLength(32);
    const before = c.dump();
    const bad = a.dump().slice(0, -1);
    expect(() => c.host.load(bad, a.host.position)).toThrow(/trailing bytes|truncated|bad message length/);
    expect(c.dump()).toEqual(before);
  });

  const rebuild = testIf(clangAvailable(), "rebuilding guestbook.wasm", `clang 14 with wasi-libc (${CLANG_ARGS.join(" ")})`);
  rebuild("rebuilding the committed guestbook.wasm from its source gives the same bytes", async () => {
    // binaryen's wasm-opt first on PATH, as under `npm test`: clang must not pick it up (CI failed so).
    const saved = process.env.PATH;
    process.env.PATH = `${join(import.meta.dir, "..", "..", "node_modules", ".bin")}:${saved}`;
    try {
      expect(buildGuestbook()).toEqual(new Uint8Array(await Bun.file(GUESTBOOK_WASM).arrayBuffer()));
    } finally {
      process.env.PATH = saved;
    }
  });
});

// A WASI probe, in WebAssembly text: every direct input runs what its first byte selects.
//   1 proc_exit(3)   2 random_get → its errno is stored   3 clock_time_get → the ns stored
//   4 loop forever   5 fd_write "hi from wasi\n" to stdout   6 recurse without bound
//   7 path_open of "x" (no preopened dir) → the errno is stored
const PROBE_WAT = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 512) "hi from wasi\\n")
  (global $heap (mut i32) (i32.const 4096))
  (func (export "_initialize") (i32.store (i32.const 280) (i32.add (i32.load (i32.const 280)) (i32.const 1))))
  (func (export "abi_version") (result i32) (i32.const 1))
  (func (export "alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
    (local.get $p))
  (func (export "dealloc") (param i32))
  (func (export "init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "max_data_len") (result i32) (i32.const 8))
  (func (export "last_error_ptr") (result i32) (i32.const 0))
  (func (export "last_error_len") (result i32) (i32.const 0))
  (func (export "validate") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "apply_user_op") (param i32 i32 i32 i32 i32 i32 i64) (result i32) (i32.const 0))
  (func $deep (param $n i32) (result i32) (i32.add (call $deep (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "apply_direct_input") (param $s i32) (param $b i64) (param $p i32) (param $l i32) (result i32) (local $m i32)
    (local.set $m (i32.load8_u (local.get $p)))
    (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
    (if (i32.eq (local.get $m) (i32.const 1)) (then (call $exit (i32.const 3))))
    (if (i32.eq (local.get $m) (i32.const 2)) (then (i32.store (i32.const 260) (call $random (i32.const 300) (i32.const 8)))))
    (if (i32.eq (local.get $m) (i32.const 3)) (then (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 264)))))
    (if (i32.eq (local.get $m) (i32.const 4)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $m) (i32.const 5)) (then
      (i32.store (i32.const 400) (i32.const 512)) (i32.store (i32.const 404) (i32.const 13))
      (drop (call $write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 408)))))
    (if (i32.eq (local.get $m) (i32.const 6)) (then (drop (call $deep (i32.const 0)))))
    (if (i32.eq (local.get $m) (i32.const 7)) (then
      (i32.store8 (i32.const 600) (i32.const 120))
      (i32.store (i32.const 272) (call $open (i32.const 3) (i32.const 0) (i32.const 600) (i32.const 1) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 610)))))
    (i32.const 0))
  (func (export "nonce_of") (param i32) (result i64) (i64.const 0))
  (func (export "dump") (result i32) (i32.const 0))
  (func (export "dump_ptr") (result i32) (i32.const 256))
  (func (export "dump_len") (result i32) (i32.const 28))
  (func (export "load") (param i32 i32) (result i32) (i32.const 1))
)`;

let probe: Uint8Array;
beforeAll(async () => {
  const m = binaryen.parseText(PROBE_WAT);
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt);
  if (!m.validate()) throw new Error("probe module does not validate");
  probe = m.emitBinary();
  m.dispose();
  await prepareAppRuntime(probe);
});

function probeHost(logs?: string[]): AppHost {
  return AppHost.create(probe, CONFIG, logs ? { onLog: (l) => logs.push(l) } : {});
}
const run = (h: AppHost, mode: number, block = 5n) => h.applyDirectInput(ETHER_PORTAL, block, Uint8Array.of(mode));
const state = (h: AppHost) => Buffer.from(h.dump());

describe("WASI is deterministic and bounded", () => {
  test("_initialize runs once before anything else; the clock is the app clock; random_get fails", () => {
    const h = probeHost();
    expect(state(h).readUInt32LE(24)).toBe(1); // _initialize, once
    expect(run(h, 3, 77n).failure).toBeNull();
    expect(state(h).readBigUInt64LE(8)).toBe(77n * 1_000_000_000n); // block 77 in ns
    expect(run(h, 2).failure).toBeNull();
    expect(state(h).readUInt32LE(4)).toBe(52); // ENOSYS
    expect(run(h, 7).failure).toBeNull();
    expect(state(h).readUInt32LE(16)).not.toBe(0); // no preopened directory: path_open fails
    expect(state(h).readUInt32LE(24)).toBe(1);
  });

  test("stdout goes to the debug log, and only there", () => {
    const logs: string[] = [];
    const a = probeHost(logs);
    const b = probeHost();
    expect(run(a, 5).outputs).toEqual([]);
    run(b, 5);
    expect(logs).toEqual(["hi from wasi"]);
    expect(state(a)).toEqual(state(b));
  });

  test("proc_exit, fuel and depth are failures with their class; the state is restored", () => {
    const h = probeHost();
    run(h, 0);
    const before = state(h);
    expect(run(h, 1).failure).toBe("trap");
    expect(run(h, 4).failure).toBe("fuel");
    expect(run(h, 6).failure).toBe("depth");
    expect(state(h)).toEqual(before);
    expect(run(h, 0).failure).toBeNull();
    expect(state(h).readUInt32LE(0)).toBe(before.readUInt32LE(0) + 1);
  });

  test("a command module (only _start) is refused with a clear message", () => {
    const wat = PROBE_WAT.replace('(export "_initialize")', '(export "_start")');
    const m = binaryen.parseText(wat);
    const bytes = m.emitBinary();
    m.dispose();
    expect(() => AppHost.create(bytes, CONFIG)).toThrow(/exports no _initialize: build it as a reactor/);
  });
});
