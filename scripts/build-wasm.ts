/**
 * Builds the default wallet app: app-wasm/assembly → app-wasm/build/wallet.wasm.
 *
 * Run: node_modules/.bin/bun scripts/build-wasm.ts [--check]
 *   --check  builds in memory and fails if the committed wallet.wasm differs (CI guard
 *            against a stale artifact, since the compiled binary embeds that file).
 *
 * The output is deterministic (asc is a pure function of its sources, options and version;
 * no timestamps or paths end up in the binary), which the script verifies by compiling
 * twice and comparing bytes before writing.
 */
import asc from "assemblyscript/asc";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const APP_DIR = join(ROOT, "app-wasm");
export const WALLET_WASM_PATH = join(APP_DIR, "build", "wallet.wasm");
const OUT_FILE = WALLET_WASM_PATH;

/**
 * All compiler options live in app-wasm/asconfig.json (runtime incremental = TLSF, so the
 * account table and dump buffers are really freed; -O3; no debug info). App authors can run
 * the same file with the asc CLI.
 */
export const ASC_ARGS: readonly string[] = ["--config", "asconfig.json"];

/**
 * Compiles the wallet in memory (no file written). `overrides` replaces or adds files by
 * path relative to app-wasm/ (tests build variants of the wallet this way).
 */
export async function compileWallet(overrides: Readonly<Record<string, string>> = {}): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const stderr: string[] = [];
  const { error } = await asc.main([...ASC_ARGS], {
    // resolve sources relative to app-wasm/ without chdir-ing the whole process
    readFile: (name: string, baseDir: string) => {
      const rel = join(baseDir, name);
      if (rel in overrides) return overrides[rel]!;
      const p = join(APP_DIR, rel);
      return existsSync(p) ? readFileSync(p, "utf8") : null;
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
    },
    listFiles: () => [],
    stdout: { write: () => true } as never,
    stderr: { write: (s: string) => (stderr.push(String(s)), true) } as never,
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.join("")}`);
  if (!binary) throw new Error(`asc produced no binary\n${stderr.join("")}`);
  return binary;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

async function main(): Promise<void> {
  const a = await compileWallet();
  const b = await compileWallet();
  if (sha256(a) !== sha256(b)) throw new Error("asc output is not deterministic across two builds");
  const digest = sha256(a);
  if (process.argv.includes("--check")) {
    const committed = existsSync(OUT_FILE) ? readFileSync(OUT_FILE) : undefined;
    if (!committed || sha256(committed) !== digest) {
      process.stderr.write(`${OUT_FILE} is stale: rebuild with scripts/build-wasm.ts\n`);
      process.exit(1);
    }
    console.log(`wallet.wasm up to date (${a.length} bytes, sha256 ${digest})`);
    return;
  }
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, a);
  console.log(`wrote ${OUT_FILE} (${a.length} bytes, sha256 ${digest})`);
}

if (import.meta.main) await main();
