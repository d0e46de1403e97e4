/**
 * Builds the C example app (app-wasm/guestbook-c, WASI) into app-wasm/build/guestbook.wasm.
 *
 * Run: node_modules/.bin/bun scripts/build-c-app.ts [--check]
 *   --check  builds into a temporary file and fails if the committed module differs.
 *
 * Needs Debian's clang-14, lld-14, wasi-libc and libclang-rt-14-dev-wasm32
 * (`apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32`). `npm test` does not:
 * the built module is committed, and the test that rebuilds it is skipped without clang.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
export const GUESTBOOK_SOURCE = join(ROOT, "app-wasm", "guestbook-c", "guestbook.c");
export const GUESTBOOK_WASM = join(ROOT, "app-wasm", "build", "guestbook.wasm");
export const CLANG = "clang-14";
/** The exact command; relative paths only, so the output does not depend on the checkout's location. */
export const CLANG_ARGS = ["--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-fuse-ld=lld", "-Wall", "-Wextra", "-Werror"];

export function clangAvailable(): boolean {
  return Bun.which(CLANG) !== null && Bun.which("wasm-ld-14") !== null && existsSync("/usr/lib/wasm32-wasi/libc.a");
}

/**
 * PATH minus every directory holding a `wasm-opt`. At -O2 clang runs the first `wasm-opt` it finds
 * on PATH over the linked module, and `npm test` puts node_modules/.bin (binaryen's wasm-opt) first,
 * so the same command gave other bytes under npm than in a shell. The committed module is clang's
 * and wasm-ld's output alone.
 */
export function pathWithoutWasmOpt(): string {
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir !== "" && !existsSync(join(dir, "wasm-opt")))
    .join(":");
}

/** Compiles the guestbook into bytes (no file left behind). */
export function buildGuestbook(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "guestbook-"));
  try {
    const out = join(dir, "guestbook.wasm");
    const p = Bun.spawnSync([CLANG, ...CLANG_ARGS, "-o", out, "guestbook.c"], {
      cwd: join(ROOT, "app-wasm", "guestbook-c"),
      env: { ...process.env, PATH: pathWithoutWasmOpt() },
      stderr: "pipe",
    });
    if (p.exitCode !== 0) throw new Error(`clang failed (${p.exitCode}): ${p.stderr.toString()}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

if (import.meta.main) {
  if (!clangAvailable()) {
    process.stderr.write("clang-14 with wasi-libc is not installed: apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32\n");
    process.exit(2);
  }
  const a = buildGuestbook();
  const b = buildGuestbook();
  if (sha(a) !== sha(b)) throw new Error("clang output is not deterministic across two builds");
  if (process.argv.includes("--check")) {
    const committed = existsSync(GUESTBOOK_WASM) ? new Uint8Array(readFileSync(GUESTBOOK_WASM)) : null;
    if (!committed || sha(committed) !== sha(a)) {
      process.stderr.write(`${GUESTBOOK_WASM} is stale: rebuild with scripts/build-c-app.ts\n`);
      process.exit(1);
    }
    console.log(`guestbook.wasm up to date (${a.length} bytes, sha256 ${sha(a)})`);
  } else {
    writeFileSync(GUESTBOOK_WASM, a);
    console.log(`wrote ${GUESTBOOK_WASM} (${a.length} bytes, sha256 ${sha(a)})`);
  }
}
