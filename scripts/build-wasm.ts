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

/** Every app built from this repository: its entry (relative to app-wasm/) and its output. */
export const APPS = {
  wallet: { entry: "assembly/index.ts", out: WALLET_WASM_PATH },
  registry: { entry: "registry/index.ts", out: join(APP_DIR, "build", "registry.wasm") },
} as const;
export type AppName = keyof typeof APPS;

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
  return compileWith([...ASC_ARGS], overrides);
}

/** Compiles one of APPS with the wallet's options (asconfig.json), its own entry. */
export async function compileApp(name: AppName, overrides: Readonly<Record<string, string>> = {}): Promise<Uint8Array> {
  return compileWith([APPS[name].entry, ...ASC_ARGS], { "asconfig.json": ENTRYLESS_CONFIG, ...overrides });
}

// asconfig.json without its wallet entry, so that the entry comes from the command line
const ENTRYLESS_CONFIG = (() => {
  const c = JSON.parse(readFileSync(join(APP_DIR, "asconfig.json"), "utf8")) as { entries?: string[]; options: Record<string, unknown> };
  delete c.entries;
  delete c.options.outFile;
  c.options.outFile = "build/out.wasm";
  return JSON.stringify(c);
})();

async function compileWith(args: string[], overrides: Readonly<Record<string, string>>): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const stderr: string[] = [];
  const { error } = await asc.main(args, {
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
  let stale = false;
  for (const [name, app] of Object.entries(APPS) as [AppName, (typeof APPS)[AppName]][]) {
    const a = await compileApp(name);
    const b = await compileApp(name);
    if (sha256(a) !== sha256(b)) throw new Error(`asc output for ${name} is not deterministic across two builds`);
    const digest = sha256(a);
    if (process.argv.includes("--check")) {
      const committed = existsSync(app.out) ? readFileSync(app.out) : undefined;
      if (!committed || sha256(committed) !== digest) {
        process.stderr.write(`${app.out} is stale: rebuild with scripts/build-wasm.ts\n`);
        stale = true;
      } else console.log(`${name}.wasm up to date (${a.length} bytes, sha256 ${digest})`);
      continue;
    }
    mkdirSync(dirname(app.out), { recursive: true });
    writeFileSync(app.out, a);
    console.log(`wrote ${app.out} (${a.length} bytes, sha256 ${digest})`);
  }
  if (stale) process.exit(1);
}

if (import.meta.main) await main();
