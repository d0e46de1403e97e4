#!/usr/bin/env bun
/**
 * The `sequencer` executable's entry point. Before anything else is loaded, `run` and
 * `devnet` re-execute themselves with the JavaScript heap sized for a sequencer rather than
 * for the host's RAM (runtime/heap-sizing.ts); then the commands module takes over.
 */
import { ConfigError } from "../core/errors.ts";
import { createLogger } from "../observability/log.ts";
import { heapSizingReExec } from "../runtime/heap-sizing.ts";
import { installNativeCrypto } from "../runtime/native-addons.ts";
import { EXIT } from "./exit-codes.ts";

function sizeHeapOrExit(): void {
  const cmd = process.argv[2];
  if (cmd !== "run" && cmd !== "devnet") return;
  let exec;
  try {
    exec = heapSizingReExec({
      env: process.env,
      argv: process.argv,
      execArgv: process.execArgv,
      execPath: process.execPath,
      standalone: Bun.isStandaloneExecutable,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`configuration error: ${e.message}\n`);
    process.exit(EXIT.CONFIG);
  }
  if (exec === null) return;
  try {
    if (typeof process.execve !== "function") throw new Error("process.execve is not available in this runtime");
    process.execve(exec.file, exec.args, exec.env);
  } catch (e) {
    // Not fatal: the sequencer works with JSC's own sizing, it only holds more memory.
    createLogger().warn("could not re-execute to size the JavaScript heap; JSC sizes it from the machine's RAM", {
      error: e instanceof Error ? e.message : String(e),
    });
  }
}

/** The native crypto addons and SEQ_SIG_BACKEND, before anything hashes (runtime/native-addons.ts). */
function installCryptoOrExit(): void {
  try {
    installNativeCrypto(process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`configuration error: ${e.message}\n`);
    process.exit(EXIT.CONFIG);
  }
}

if (import.meta.main) {
  sizeHeapOrExit();
  installCryptoOrExit();
  const { main } = await import("./commands.ts");
  process.exit(await main(process.argv.slice(2), process.env));
}
