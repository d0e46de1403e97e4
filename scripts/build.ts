/**
 * `npm run build`: the single executable `dist/sequencer`.
 *
 *   1. builds app-wasm/build/wallet.wasm first if it is missing (the binary embeds it);
 *   2. `bun build --compile src/cli/main.ts src/ingress/sigpool-worker.ts --outfile dist/sequencer`.
 *      The signature worker must be an extra entrypoint: `new Worker(path)` in a compiled
 *      binary can only load modules that were bundled as entrypoints (see sigpool.ts);
 *   3. smoke-checks the result (`--version` prints package.json's version) and prints its size.
 *
 * What gets embedded: every module, wallet.wasm (`type: "file"` import), the devnet anvil state
 * (`type: "text"` import) and the native libsecp256k1 addon (required by a literal path in
 * src/runtime/native-addons.ts; Bun extracts it to a temp file and dlopens it at first use).
 * Anvil itself is NOT embedded: `sequencer devnet` looks for it in node_modules, on PATH or at
 * SEQ_ANVIL_BIN. test/binary/binary.test.ts proves the copied-alone binary uses the native
 * addon (SEQ_SIG_BACKEND=native + a signed op answered 200, and the addon mapped in the process).
 *
 * Flags: `--sourcemap` is on (embedded: stack traces point at src/… even when the binary is
 * copied alone; costs ~1.5 MB; the sidecar .map files are deleted). No minification:
 * the binary is ~100 MB of Bun runtime, minifying our few MB of JS would save little and would
 * mangle class/function names that show up in logs.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--quiet]
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const DEFAULT_OUTFILE = join(ROOT, "dist", "sequencer");
export const WALLET_WASM = join(ROOT, "app-wasm", "build", "wallet.wasm");
export const ENTRYPOINTS = [
  "src/cli/main.ts",
  "src/ingress/sigpool-worker.ts",
  "src/storage/storage-worker.ts",
  "src/inspect/inspect-worker.ts",
  // Not a worker: the metering pass, imported on demand by path (app/metering.ts), so that
  // binaryen stays out of the main bundle that every start parses.
  "src/app/metering-pass.ts",
] as const;

/** The exact `bun build` argument list (after the bun executable). */
export function buildArgs(outfile: string): string[] {
  return ["build", "--compile", "--sourcemap", ...ENTRYPOINTS, "--outfile", outfile];
}

function run(cmd: string[], what: string): void {
  const p = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "inherit", stderr: "inherit", stdin: "ignore" });
  if (p.exitCode !== 0) throw new Error(`${what} failed (exit ${p.exitCode}): ${cmd.join(" ")}`);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export async function build(opts: { outfile?: string; quiet?: boolean } = {}): Promise<{ outfile: string; bytes: number }> {
  const outfile = resolve(opts.outfile ?? DEFAULT_OUTFILE);
  const say = (s: string) => {
    if (!opts.quiet) process.stdout.write(s + "\n");
  };
  // The running bun (npm run build → node_modules/.bin/bun), so no global install is needed.
  const bun = process.execPath;

  if (!existsSync(WALLET_WASM)) {
    say(`app-wasm/build/wallet.wasm is missing; building it first`);
    run([bun, join(ROOT, "scripts", "build-wasm.ts")], "building the wallet app");
  }

  mkdirSync(dirname(outfile), { recursive: true });
  const args = buildArgs(outfile);
  say(`$ bun ${args.map((a) => (a === outfile ? relative(ROOT, a) : a)).join(" ")}`);
  const started = performance.now();
  run([bun, ...args], "bun build --compile");
  // --sourcemap embeds the maps in the binary (stack traces show src/… when copied alone);
  // the sidecar .map files bun also writes are not needed, so dist/ holds just the binary.
  for (const f of [`${basename(outfile)}.map`, ...ENTRYPOINTS.slice(1).map((e) => `${basename(e, ".ts")}.js.map`)]) {
    rmSync(join(dirname(outfile), f), { force: true });
  }

  // Smoke check: the binary starts and carries the version it was built from.
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version: string };
  const v = Bun.spawnSync([outfile, "--version"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const printed = v.stdout.toString().trim();
  if (v.exitCode !== 0 || printed !== pkg.version) {
    throw new Error(
      `built binary failed its smoke check: \`${outfile} --version\` exited ${v.exitCode} printing ` +
        `${JSON.stringify(printed)} (expected ${pkg.version}); stderr: ${v.stderr.toString().trim()}`,
    );
  }
  const bytes = statSync(outfile).size;
  say(`built ${relative(process.cwd(), outfile) || outfile}: ${mib(bytes)} (${bytes} bytes), version ${printed}, ${Math.round(performance.now() - started)} ms`);
  return { outfile, bytes };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--outfile");
  try {
    await build({
      ...(at >= 0 && argv[at + 1] ? { outfile: argv[at + 1] } : {}),
      quiet: argv.includes("--quiet"),
    });
  } catch (e) {
    process.stderr.write(`build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
