/**
 * The `sequencer` executable's commands. Subcommands: `run` (production, configured by SEQ_*
 * variables) and `devnet` (anvil with the Cartesi contracts plus the sequencer). Exit codes
 * are a contract with process supervisors; see docs/operations.md. The entry point is
 * main.ts, which sizes the JavaScript heap before this module is loaded.
 */
import { createLogger } from "../observability/log.ts";
import { loadConfig, type Env } from "./config.ts";
import { runDevnet } from "./devnet-command.ts";
import { EXIT, reportFatal, stopSignal, untilStopped } from "./lifecycle.ts";
import { REPLAY_HELP, runReplayCommand } from "./replay-commands.ts";
import { startSequencer } from "./run.ts";
import { VERSION } from "./version.ts";

const HELP = `sequencer ${VERSION} — Cartesi app-rollup sequencer

Usage:
  sequencer run        Run the sequencer, configured by SEQ_* environment variables
  sequencer devnet     Start a local anvil with the Cartesi contracts plus the sequencer
${REPLAY_HELP}
  sequencer --help     Show this help
  sequencer --version  Print the version

Required for 'run':
  SEQ_ETH_RPC_URL, SEQ_CHAIN_ID, SEQ_APP_ADDRESS,
  SEQ_BATCH_SUBMITTER_PRIVATE_KEY or SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE
Optional: SEQ_HTTP_ADDR (127.0.0.1:3000), SEQ_INTERNAL_HTTP_ADDR (127.0.0.1:3001),
  SEQ_INSPECT_HTTP_ADDR (none; inspect served from the follower's own thread),
  SEQ_DATA_DIR (sequencer-data), SEQ_INPUT_BOX_ADDRESS, SEQ_INPUT_BOX_DEPLOYMENT_BLOCK,
  SEQ_ETHER_PORTAL_ADDRESS, SEQ_ERC20_PORTAL_ADDRESS, SEQ_ERC20_TOKEN_ADDRESS, SEQ_APP_WASM,
  SEQ_MAX_BATCH_OPEN_SECONDS (7200), SEQ_PREEMPTIVE_MARGIN_BLOCKS (300),
  SEQ_SECONDS_PER_BLOCK (12), SEQ_LONG_BLOCK_RANGE_ERROR_CODES,
  SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS, SEQ_BATCH_SUBMITTER_CONFIRMATION_DEPTH,
  SEQ_INPUT_READER_POLL_INTERVAL_MS (1000), SEQ_LOG_LEVEL (info),
  SEQ_JS_HEAP_RAM_MB (160; the RAM JavaScriptCore sizes its heap for, 0 = the machine's)
'devnet' also reads SEQ_DEVNET_ANVIL_PORT (8545); every SEQ_* value above overrides its devnet default.

Exit codes: 0 ok, 1 internal error, 2 usage, 70 inclusion lane fatal, 78 configuration error.
See docs/operations.md.`;

export async function main(argv: string[], env: Env): Promise<number> {
  const cmd = argv[0];
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP + "\n");
    return EXIT.OK;
  }
  if (cmd === "--version" || cmd === "-v") {
    process.stdout.write(VERSION + "\n");
    return EXIT.OK;
  }
  if (cmd === "export-l1" || cmd === "verify") return runReplayCommand(cmd, argv.slice(1), env);
  if (cmd !== "run" && cmd !== "devnet") {
    process.stderr.write(
      (cmd === undefined ? "missing command" : `unknown command: ${cmd}`) + "\n\n" + HELP + "\n",
    );
    return EXIT.USAGE;
  }
  if (argv.length > 1) {
    process.stderr.write(`'${cmd}' takes no arguments (configure it with SEQ_* variables)\n`);
    return EXIT.USAGE;
  }
  const signal = stopSignal();
  const level = env.SEQ_LOG_LEVEL;
  const log = createLogger({
    level: level === "debug" || level === "warn" || level === "error" ? level : "info",
  });
  try {
    if (cmd === "devnet") return await runDevnet(env, log, signal);
    const config = loadConfig(env);
    const seq = await startSequencer(config, log);
    return await untilStopped(seq, log, signal);
  } catch (e) {
    return reportFatal(e, log);
  }
}

