/**
 * `sequencer export-l1` (online) and `sequencer verify` (offline). See docs/replay.md.
 *
 * The export module (and with it viem's transports) is imported lazily, only for
 * `export-l1`: the `verify` code path never loads network code of its own.
 *
 * Exit codes — export-l1: 0 written, 1 L1 or file failure (no FILE written), 2 usage.
 * verify: 0 match (every recorded entry compared), 1 divergence (or the app died, or the
 * export's module or limits are not these), 2 usage or unreadable/malformed input,
 * 3 incomplete (no divergence, but recorded entries lie beyond what L1 covers).
 */
import { readFileSync } from "node:fs";
import { embeddedModuleBySha256, loadAppBytes } from "../app/default-app.ts";
import { isSupportedMeteringVersion } from "../core/execution-limits.ts";
import { AppLoadError } from "../app/errors.ts";
import { prepareAppRuntime } from "../app/host.ts";
import { hexToBytes, type Address } from "../core/bytes.ts";
import { createLogger } from "../observability/log.ts";
import type { ExportParameters } from "../replay/export.ts";
import { parseFeed, parseL1Export, ReplayInputError, type ParsedFeed } from "../replay/files.ts";
import { resolveParameters, type ParameterFlags } from "../replay/parameters.ts";
import { reportLine, verify, VerifyInputError } from "../replay/verify.ts";

/** verify: nothing contradicts the recording, but part of it is not on L1 yet. */
const VERIFY_INCOMPLETE = 3;
import { DEFAULT_ERC20_PORTAL, DEFAULT_ETHER_PORTAL, ZERO_ADDRESS, parseAppConfig, type Env } from "./config.ts";
import { EXIT } from "./lifecycle.ts";

export const REPLAY_HELP = `  sequencer export-l1  --rpc-url URL --input-box ADDR --app ADDR [--sequencer URL] [--from-block N] [--to-block M] --out FILE
                       Write the app's raw InputBox inputs (JSON lines) up to the L1 safe block, after a
                       header with the deployment's parameters (from the sequencer's /info with --sequencer)
  sequencer verify     --l1-inputs FILE [--app-wasm PATH] [--app-config HEX|FILE] [--feed FILE] [--state FILE [--state-l2-tx-index N]]
                       [--chain-id N] [--app ADDR] [--batch-submitter ADDR] [--ether-portal ADDR] [--erc20-portal ADDR] [--erc20-token ADDR]
                       Offline: fold the inputs through the canonical scheduler and compare. Parameters come
                       from the export's header; a flag overrides one and the report says so
                       (exit 0 match, 1 divergence, 2 usage/input error, 3 incomplete; see docs/replay.md)`;

class UsageError extends Error {}
/** A file named on the command line is unreadable or malformed (also exit 2, no help hint). */
class InputError extends UsageError {}

type Spec = Record<string, { required?: boolean }>;

function parseArgs(argv: string[], spec: Spec): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (!(name in spec)) throw new UsageError(`unknown option --${name}`);
    if (out.has(name)) throw new UsageError(`--${name} given twice`);
    out.set(name, value);
  }
  for (const [name, s] of Object.entries(spec)) {
    if (s.required && !out.has(name)) throw new UsageError(`--${name} is required`);
  }
  return out;
}

function address(flag: string, v: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new UsageError(`--${flag} must be a 0x-prefixed 20-byte hex address, got "${v}"`);
  return v.toLowerCase() as Address;
}

function uint(flag: string, v: string): bigint {
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${flag} must be a non-negative integer, got "${v}"`);
  return BigInt(v);
}

function usage(cmd: string, e: UsageError): number {
  const hint = e instanceof InputError ? "" : " (see 'sequencer --help')";
  process.stderr.write(`${cmd}: ${e.message}${hint}\n`);
  return EXIT.USAGE;
}

export async function runReplayCommand(cmd: "export-l1" | "verify", argv: string[], env: Env): Promise<number> {
  try {
    return cmd === "export-l1" ? await exportCommand(argv, env) : await verifyCommand(argv);
  } catch (e) {
    if (e instanceof UsageError) return usage(cmd, e);
    process.stderr.write(`${cmd}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.FAILURE;
  }
}

// ---- export-l1 -------------------------------------------------------------------------------

async function exportCommand(argv: string[], env: Env): Promise<number> {
  const a = parseArgs(argv, {
    "rpc-url": { required: true },
    "input-box": { required: true },
    app: { required: true },
    "from-block": {},
    "to-block": {},
    out: { required: true },
    sequencer: {},
  });
  const rpcUrl = a.get("rpc-url")!;
  if (!/^(https?|wss?):\/\//.test(rpcUrl)) throw new UsageError(`--rpc-url must be an http(s) or ws(s) URL, got "${rpcUrl}"`);
  const inputBox = address("input-box", a.get("input-box")!);
  const app = address("app", a.get("app")!);
  const fromBlock = a.has("from-block") ? uint("from-block", a.get("from-block")!) : undefined;
  const toBlock = a.has("to-block") ? uint("to-block", a.get("to-block")!) : undefined;
  if (fromBlock !== undefined && toBlock !== undefined && toBlock < fromBlock) {
    throw new UsageError(`--to-block ${toBlock} is below --from-block ${fromBlock}`);
  }
  const out = a.get("out")!;
  if (out === "") throw new UsageError("--out must name a file");
  let codes: number[] | undefined;
  const rawCodes = env.SEQ_LONG_BLOCK_RANGE_ERROR_CODES?.trim();
  if (rawCodes) {
    codes = rawCodes.split(",").map((s) => {
      if (!/^-?[0-9]+$/.test(s.trim())) throw new UsageError(`SEQ_LONG_BLOCK_RANGE_ERROR_CODES must be a list of integers, got "${rawCodes}"`);
      return Number(s.trim());
    });
  }
  const level = env.SEQ_LOG_LEVEL;
  const log = createLogger({ level: level === "debug" || level === "warn" || level === "error" ? level : "info" }).child({
    component: "export-l1",
  });
  // Lazy: only this command loads viem's transports.
  const { exportL1Inputs } = await import("../replay/export.ts");
  let parameters: ExportParameters | undefined;
  if (a.has("sequencer")) {
    try {
      parameters = await parametersFromInfo(a.get("sequencer")!, app, inputBox);
    } catch (e) {
      process.stderr.write(`export-l1: failed, ${out} not written: ${(e as Error).message}\n`);
      return EXIT.FAILURE;
    }
  }
  const { makePublicClient } = await import("../l1/setup.ts");
  try {
    const r = await exportL1Inputs({
      client: makePublicClient(rpcUrl, log),
      inputBox,
      app,
      ...(fromBlock !== undefined ? { fromBlock } : {}),
      ...(toBlock !== undefined ? { toBlock } : {}),
      out,
      log,
      ...(codes ? { longRangeErrorCodes: codes } : {}),
      ...(parameters ? { parameters } : {}),
    });
    log.info("export-l1 done", {
      file: r.file,
      inputs: r.inputs,
      from_block: r.fromBlock,
      to_block: r.toBlock,
      first_input_index: r.firstInputIndex,
      last_input_index: r.lastInputIndex,
      chain_id: r.chainId,
    });
    return EXIT.OK;
  } catch (e) {
    process.stderr.write(`export-l1: failed, ${out} not written: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`);
    return EXIT.FAILURE;
  }
}

/**
 * The deployment's consensus parameters as the sequencer states them (`GET /info`). They
 * must describe the app and InputBox being exported; the auditor then checks them all.
 */
async function parametersFromInfo(url: string, app: Address, inputBox: Address): Promise<ExportParameters> {
  const infoUrl = `${url.replace(/\/+$/, "")}/info`;
  let info: Record<string, unknown>;
  try {
    const res = await fetch(infoUrl);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    info = (await res.json()) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`--sequencer: cannot read ${infoUrl}: ${(e as Error).message}`);
  }
  const addr = (k: string): Address => {
    const v = info[k];
    if (typeof v !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v)) throw new Error(`--sequencer: ${infoUrl} has no valid ${k}`);
    return v.toLowerCase() as Address;
  };
  if (addr("app_address") !== app) throw new Error(`--sequencer: ${infoUrl} serves app ${addr("app_address")}, not --app ${app}`);
  if (addr("input_box_address") !== inputBox) {
    throw new Error(`--sequencer: ${infoUrl} reads InputBox ${addr("input_box_address")}, not --input-box ${inputBox}`);
  }
  const sha = info.app_module_sha256;
  const limits = info.execution_limits;
  return {
    batchSubmitter: addr("batch_submitter_address"),
    etherPortal: addr("ether_portal_address"),
    erc20Portal: addr("erc20_portal_address"),
    erc20Token: addr("erc20_token_address"),
    appModuleSha256: typeof sha === "string" && /^[0-9a-f]{64}$/.test(sha) ? sha : null,
    executionLimits: limits !== null && typeof limits === "object" ? (limits as Record<string, unknown>) : null,
    appConfig: typeof info.app_config === "string" && /^0x([0-9a-f]{2})*$/.test(info.app_config) ? (info.app_config as `0x${string}`) : null,
    source: infoUrl,
  };
}

// ---- verify ----------------------------------------------------------------------------------

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`--${flag} ${path}: cannot read: ${(e as Error).message}`);
  }
}

async function verifyCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    "l1-inputs": { required: true },
    "chain-id": {},
    app: {},
    "batch-submitter": {},
    "app-wasm": {},
    "app-config": {},
    "ether-portal": {},
    "erc20-portal": {},
    "erc20-token": {},
    feed: {},
    state: {},
    "state-l2-tx-index": {},
  });
  // Each of these overrides the export's header (the report lists every override).
  const flags: ParameterFlags = {};
  if (a.has("chain-id")) {
    flags.chainId = uint("chain-id", a.get("chain-id")!);
    if (flags.chainId === 0n) throw new UsageError("--chain-id must be positive");
  }
  if (a.has("app")) flags.app = address("app", a.get("app")!);
  if (a.has("batch-submitter")) flags.batchSubmitter = address("batch-submitter", a.get("batch-submitter")!);
  if (a.has("ether-portal")) flags.etherPortal = address("ether-portal", a.get("ether-portal")!);
  if (a.has("erc20-portal")) flags.erc20Portal = address("erc20-portal", a.get("erc20-portal")!);
  if (a.has("erc20-token")) flags.erc20Token = address("erc20-token", a.get("erc20-token")!);
  let stateL2TxIndex: number | undefined;
  if (a.has("state-l2-tx-index")) {
    if (!a.has("state")) throw new UsageError("--state-l2-tx-index needs --state");
    const n = uint("state-l2-tx-index", a.get("state-l2-tx-index")!);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError("--state-l2-tx-index is too large");
    stateL2TxIndex = Number(n);
  }

  let appWasmFlag: Uint8Array | undefined;
  try {
    if (a.has("app-wasm")) appWasmFlag = loadAppBytes(a.get("app-wasm"));
  } catch (e) {
    if (e instanceof AppLoadError) throw new InputError(`--app-wasm: ${e.message.replace(/^SEQ_APP_WASM=/, "")}`);
    throw e;
  }
  let appConfigFlag: Uint8Array | undefined;
  if (a.has("app-config")) {
    try {
      appConfigFlag = parseAppConfig(a.get("app-config"));
    } catch (e) {
      throw new UsageError(`--app-config: ${(e as Error).message.replace(/^SEQ_APP_CONFIG:? ?/, "")}`);
    }
  }
  let state: Uint8Array | undefined;
  if (a.has("state")) {
    try {
      state = new Uint8Array(readFileSync(a.get("state")!));
    } catch (e) {
      throw new InputError(`--state ${a.get("state")}: cannot read: ${(e as Error).message}`);
    }
  }
  try {
    const inputsFile = a.get("l1-inputs")!;
    const { header, inputs } = parseL1Export(readText("l1-inputs", inputsFile), inputsFile);
    // Without --app-wasm: the module the export names, when this binary embeds it (every
    // wallet it shipped), else the default wallet. The metering version is the export's when
    // this binary still runs it, so an export recorded by an older release folds as it was
    // sequenced.
    const appWasm =
      appWasmFlag ?? (header?.appModuleSha256 ? embeddedModuleBySha256(header.appModuleSha256) : null) ?? loadAppBytes(undefined);
    const recordedVersion = header?.executionLimits?.metering_version;
    const meteringVersion = isSupportedMeteringVersion(recordedVersion) ? recordedVersion : undefined;
    await prepareAppRuntime(appWasm, meteringVersion !== undefined ? { meteringVersion } : {});
    const p = resolveParameters(header, flags, {
      etherPortal: DEFAULT_ETHER_PORTAL,
      erc20Portal: DEFAULT_ERC20_PORTAL,
      erc20Token: ZERO_ADDRESS,
    });
    let feed: ParsedFeed | undefined;
    if (a.has("feed")) feed = parseFeed(readText("feed", a.get("feed")!), a.get("feed")!);
    const started = performance.now();
    const report = verify({
      inputs,
      chainId: p.chainId,
      app: p.app,
      batchSubmitter: p.batchSubmitter,
      appWasm,
      ...(meteringVersion !== undefined ? { meteringVersion } : {}),
      etherPortal: p.etherPortal,
      erc20Portal: p.erc20Portal,
      erc20Token: p.erc20Token,
      // the flag wins; else what the export recorded; else none (the default deployment)
      appConfig: appConfigFlag ?? (header?.appConfig ? hexToBytes(header.appConfig) : new Uint8Array(0)),
      expectedModuleSha256: header?.appModuleSha256 ?? null,
      expectedLimits: header?.executionLimits ?? null,
      provenance: { from: p.from, overrides: p.overrides, defaulted: p.defaulted },
      ...(feed ? { feed } : {}),
      ...(state ? { state } : {}),
      ...(stateL2TxIndex !== undefined ? { stateL2TxIndex } : {}),
    });
    const ms = performance.now() - started;
    process.stdout.write(reportLine(report) + "\n");
    // Timing goes to stderr so that stdout is a deterministic function of the inputs.
    createLogger().info("verify finished", {
      match: report.match,
      verdict: report.verdict,
      l1_inputs: inputs.length,
      fold_ms: Math.round(ms),
      inputs_per_s: ms > 0 ? Math.round((inputs.length * 1000) / ms) : null,
    });
    return report.verdict === "match" ? EXIT.OK : report.verdict === "incomplete" ? VERIFY_INCOMPLETE : EXIT.FAILURE;
  } catch (e) {
    if (e instanceof ReplayInputError || e instanceof VerifyInputError) throw new InputError(e.message);
    if (e instanceof AppLoadError) throw new InputError(`--app-wasm: ${e.message}`);
    throw e;
  }
}
