import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { hexToBytes } from "../core/bytes.ts";
import { ConfigError } from "../core/errors.ts";
import { MAX_APP_CONFIG_BYTES } from "../core/execution-limits.ts";
import { MAX_WAIT_BLOCKS } from "../core/scheduler-rules.ts";
import { dangerThreshold } from "../recovery/danger.ts";
import { parseIntRange } from "../runtime/env-values.ts";
import { CorsOriginsError, parseCorsOrigins, type CorsPolicy } from "../http/cors.ts";
import { ZERO_ADDRESS } from "../core/bytes.ts";

/**
 * Runtime configuration, read once from the environment (SPEC §9). Every value is validated
 * here so that a bad deployment fails at startup with the variable's name, never later.
 */
export interface Config {
  ethRpcUrl: string;
  chainId: bigint;
  appAddress: `0x${string}`;
  /** Never logged: `describeConfig` omits it. */
  batchSubmitterPrivateKey: `0x${string}`;
  http: ListenAddr;
  internalHttp: ListenAddr;
  dataDir: string;
  /** Undefined: discovered from the application contract's data-availability config. */
  inputBoxAddress: `0x${string}` | undefined;
  /** Undefined: discovered from the application contract's deployment block. */
  inputBoxDeploymentBlock: bigint | undefined;
  etherPortalAddress: `0x${string}`;
  erc20PortalAddress: `0x${string}`;
  erc20TokenAddress: `0x${string}`;
  appWasmPath: string | undefined;
  /** The app's own init config (SEQ_APP_CONFIG: 0x-hex, or the path of a file of raw bytes). */
  appConfig: Uint8Array;
  preemptiveMarginBlocks: number;
  secondsPerBlock: number;
  longBlockRangeErrorCodes: number[];
  batchSubmitterIdlePollIntervalMs: number;
  batchSubmitterConfirmationDepth: number;
  maxBatchOpenSeconds: number;
  inputReaderPollIntervalMs: number;
  /** Ops admitted but not yet answered; beyond it `POST /tx` answers 429. */
  laneQueueCapacity: number;
  /** Inspect queries in flight; beyond it `/inspect` answers 429. */
  inspectQueueCapacity: number;
  /** Whether this process serves inspect (a follower worker); off: the routes answer 503. */
  inspectEnabled: boolean;
  /**
   * The inspect listener (SEQ_INSPECT_HTTP_ADDR; none by default): the follower worker serves
   * the inspect routes there itself, so queries cost the lane's thread nothing.
   */
  inspectHttp: ListenAddr | undefined;
  /** Signature-recovery workers; default: one per core beyond the lane's own. */
  signatureWorkers: number;
  logLevel: LogLevel;
  /** Browser origins allowed to call the public API (SEQ_CORS_ORIGINS; none by default). */
  corsOrigins: CorsPolicy;
}

export interface ListenAddr {
  host: string;
  port: number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Env = Record<string, string | undefined>;

/**
 * Cartesi rollups v2 deterministic portal deployments. They are only defaults: startup checks
 * that the configured portal is a contract bound to the same InputBox, so a wrong default is a
 * startup error naming the variable, never silently uncredited deposits.
 */
export const DEFAULT_ETHER_PORTAL = "0xc70076a466789b595b50959cdc261227f0d70051";
export const DEFAULT_ERC20_PORTAL = "0xc700d6add016eecd59d989c028214eaa0fcc0051";
export { ZERO_ADDRESS };

export function loadConfig(env: Env, defaults: Partial<Env> = {}): Config {
  const get = (name: string): string | undefined => {
    const v = env[name] ?? defaults[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new ConfigError(name, "is required but not set");
    return v;
  };

  const config: Config = {
    ethRpcUrl: parseUrl("SEQ_ETH_RPC_URL", required("SEQ_ETH_RPC_URL")),
    chainId: parseBigUint("SEQ_CHAIN_ID", required("SEQ_CHAIN_ID"), 1n),
    appAddress: parseAddress("SEQ_APP_ADDRESS", required("SEQ_APP_ADDRESS")),
    batchSubmitterPrivateKey: readPrivateKey(get),
    http: parseListenAddr("SEQ_HTTP_ADDR", get("SEQ_HTTP_ADDR") ?? "127.0.0.1:3000"),
    internalHttp: parseListenAddr(
      "SEQ_INTERNAL_HTTP_ADDR",
      get("SEQ_INTERNAL_HTTP_ADDR") ?? "127.0.0.1:3001",
    ),
    dataDir: get("SEQ_DATA_DIR") ?? "sequencer-data",
    inputBoxAddress: optional(get("SEQ_INPUT_BOX_ADDRESS"), (v) =>
      parseAddress("SEQ_INPUT_BOX_ADDRESS", v),
    ),
    inputBoxDeploymentBlock: optional(get("SEQ_INPUT_BOX_DEPLOYMENT_BLOCK"), (v) =>
      parseBigUint("SEQ_INPUT_BOX_DEPLOYMENT_BLOCK", v, 0n),
    ),
    etherPortalAddress: parseAddress(
      "SEQ_ETHER_PORTAL_ADDRESS",
      get("SEQ_ETHER_PORTAL_ADDRESS") ?? DEFAULT_ETHER_PORTAL,
    ),
    erc20PortalAddress: parseAddress(
      "SEQ_ERC20_PORTAL_ADDRESS",
      get("SEQ_ERC20_PORTAL_ADDRESS") ?? DEFAULT_ERC20_PORTAL,
    ),
    erc20TokenAddress: parseAddress(
      "SEQ_ERC20_TOKEN_ADDRESS",
      get("SEQ_ERC20_TOKEN_ADDRESS") ?? ZERO_ADDRESS,
    ),
    appWasmPath: get("SEQ_APP_WASM"),
    appConfig: parseAppConfig(get("SEQ_APP_CONFIG")),
    preemptiveMarginBlocks: parseIntRange(
      "SEQ_PREEMPTIVE_MARGIN_BLOCKS",
      get("SEQ_PREEMPTIVE_MARGIN_BLOCKS") ?? "300",
      1,
      Number(MAX_WAIT_BLOCKS) - 1,
    ),
    secondsPerBlock: parseIntRange(
      "SEQ_SECONDS_PER_BLOCK",
      get("SEQ_SECONDS_PER_BLOCK") ?? "12",
      1,
      3600,
    ),
    longBlockRangeErrorCodes: parseIntList(
      "SEQ_LONG_BLOCK_RANGE_ERROR_CODES",
      get("SEQ_LONG_BLOCK_RANGE_ERROR_CODES") ?? "-32005,-32600,-32602,-32616",
    ),
    batchSubmitterIdlePollIntervalMs: parseIntRange(
      "SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS",
      get("SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS") ?? "1000",
      10,
      3_600_000,
    ),
    batchSubmitterConfirmationDepth: parseIntRange(
      "SEQ_BATCH_SUBMITTER_CONFIRMATION_DEPTH",
      get("SEQ_BATCH_SUBMITTER_CONFIRMATION_DEPTH") ?? "0",
      0,
      1000,
    ),
    maxBatchOpenSeconds: parseIntRange(
      "SEQ_MAX_BATCH_OPEN_SECONDS",
      get("SEQ_MAX_BATCH_OPEN_SECONDS") ?? "7200",
      1,
      30 * 86_400,
    ),
    inputReaderPollIntervalMs: parseIntRange(
      "SEQ_INPUT_READER_POLL_INTERVAL_MS",
      get("SEQ_INPUT_READER_POLL_INTERVAL_MS") ?? "1000",
      10,
      3_600_000,
    ),
    laneQueueCapacity: parseIntRange(
      "SEQ_LANE_QUEUE_CAPACITY",
      get("SEQ_LANE_QUEUE_CAPACITY") ?? "8192",
      1,
      1_000_000,
    ),
    inspectEnabled: parseBool("SEQ_INSPECT_ENABLED", get("SEQ_INSPECT_ENABLED") ?? "true"),
    inspectHttp: optional(nonEmpty(get("SEQ_INSPECT_HTTP_ADDR")), (v) => parseListenAddr("SEQ_INSPECT_HTTP_ADDR", v)),
    inspectQueueCapacity: parseIntRange(
      "SEQ_INSPECT_QUEUE_CAPACITY",
      get("SEQ_INSPECT_QUEUE_CAPACITY") ?? "64",
      1,
      100_000,
    ),
    signatureWorkers: parseIntRange(
      "SEQ_SIGNATURE_WORKERS",
      get("SEQ_SIGNATURE_WORKERS") ?? String(Math.max(1, availableParallelism() - 1)),
      1,
      256,
    ),
    logLevel: parseLogLevel(get("SEQ_LOG_LEVEL") ?? "info"),
    corsOrigins: parseCors(get("SEQ_CORS_ORIGINS")),
  };
  checkBatchAgeBound(config);
  checkInspectListener(config);
  return config;
}

/**
 * A batch that holds ops must close (and be posted) well before its first frame ages into
 * the danger zone, or every quiet period ends in a liveness recovery that invalidates it.
 * With MAX_WAIT_BLOCKS and the margin (recovery/danger.ts), the time-close bound must be shorter than
 * the danger threshold at the configured block time; three quarters of it leaves room to
 * post and land (the defaults: 7200 s of 12 s blocks = 600 blocks, threshold 900).
 */
function checkBatchAgeBound(c: Config): void {
  const thresholdBlocks = dangerThreshold({ marginBlocks: c.preemptiveMarginBlocks, secondsPerBlock: c.secondsPerBlock });
  const openBlocks = c.maxBatchOpenSeconds / c.secondsPerBlock;
  if (openBlocks * 4 > thresholdBlocks * 3) {
    throw new ConfigError(
      "SEQ_MAX_BATCH_OPEN_SECONDS",
      `${c.maxBatchOpenSeconds} s is ${Math.floor(openBlocks)} blocks of ${c.secondsPerBlock} s; ` +
        `it must be at most 3/4 of the danger threshold (${thresholdBlocks} blocks = 1200 - SEQ_PREEMPTIVE_MARGIN_BLOCKS), ` +
        `i.e. <= ${Math.floor(((thresholdBlocks * 3) / 4) * c.secondsPerBlock)} s`,
    );
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** The inspect listener needs the follower, and an address of its own. */
function checkInspectListener(c: Config): void {
  const l = c.inspectHttp;
  if (!l) return;
  if (!c.inspectEnabled) {
    throw new ConfigError("SEQ_INSPECT_HTTP_ADDR", "is set, but SEQ_INSPECT_ENABLED=false runs no inspect follower to serve it");
  }
  for (const [name, other] of [["SEQ_HTTP_ADDR", c.http], ["SEQ_INTERNAL_HTTP_ADDR", c.internalHttp]] as const) {
    if (l.port !== 0 && l.port === other.port && (l.host === other.host || isWildcard(l.host) || isWildcard(other.host))) {
      throw new ConfigError("SEQ_INSPECT_HTTP_ADDR", `${l.host}:${l.port} is also ${name}; the inspect listener needs a port of its own`);
    }
  }
}

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::";

function parseCors(v: string | undefined): CorsPolicy {
  try {
    return parseCorsOrigins(v);
  } catch (e) {
    if (e instanceof CorsOriginsError) throw new ConfigError("SEQ_CORS_ORIGINS", e.message);
    throw e;
  }
}

/** A loggable view of the configuration: the private key is reduced to a fixed marker. */
export function describeConfig(c: Config): Record<string, unknown> {
  const { batchSubmitterPrivateKey: _secret, ...rest } = c;
  return {
    ...rest,
    chainId: c.chainId.toString(),
    inputBoxDeploymentBlock: c.inputBoxDeploymentBlock?.toString(),
    http: `${c.http.host}:${c.http.port}`,
    internalHttp: `${c.internalHttp.host}:${c.internalHttp.port}`,
    inspectHttp: c.inspectHttp ? `${c.inspectHttp.host}:${c.inspectHttp.port}` : undefined,
    // consensus and public (GET /info shows it): not a secret
    appConfig: `0x${Buffer.from(c.appConfig).toString("hex")}`,
    corsOrigins: c.corsOrigins.kind === "list" ? [...c.corsOrigins.origins].join(",") : c.corsOrigins.kind,
    batchSubmitterPrivateKey: "<redacted>",
  };
}

function optional<T>(v: string | undefined, parse: (v: string) => T): T | undefined {
  return v === undefined ? undefined : parse(v);
}

function readPrivateKey(get: (n: string) => string | undefined): `0x${string}` {
  const inline = get("SEQ_BATCH_SUBMITTER_PRIVATE_KEY");
  const file = get("SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE");
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      "SEQ_BATCH_SUBMITTER_PRIVATE_KEY",
      "set either SEQ_BATCH_SUBMITTER_PRIVATE_KEY or SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE, not both",
    );
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError(
        "SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE",
        `cannot read file (${(e as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    return parsePrivateKey("SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE", text.split(/\r?\n/)[0] ?? "");
  }
  if (inline === undefined) {
    throw new ConfigError(
      "SEQ_BATCH_SUBMITTER_PRIVATE_KEY",
      "is required (or SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE)",
    );
  }
  return parsePrivateKey("SEQ_BATCH_SUBMITTER_PRIVATE_KEY", inline);
}

// The messages below never echo the value: it may be a secret pasted into the wrong variable.
function parsePrivateKey(name: string, raw: string): `0x${string}` {
  const v = raw.trim().toLowerCase();
  const hex = v.startsWith("0x") ? v.slice(2) : v;
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new ConfigError(name, "must be a 32-byte hex private key");
  }
  const k = BigInt("0x" + hex);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  if (k === 0n || k >= n) throw new ConfigError(name, "is not a valid secp256k1 private key");
  return `0x${hex}`;
}

function parseUrl(name: string, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, "must be a URL such as http://127.0.0.1:8545");
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol)) {
    throw new ConfigError(name, `unsupported scheme ${u.protocol} (use http, https, ws or wss)`);
  }
  return v;
}

export function parseAddress(name: string, v: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) {
    throw new ConfigError(name, `must be a 0x-prefixed 20-byte hex address, got "${v}"`);
  }
  return v.toLowerCase() as `0x${string}`;
}

function parseBigUint(name: string, v: string, min: bigint): bigint {
  if (!/^[0-9]+$/.test(v)) throw new ConfigError(name, `must be a non-negative integer, got "${v}"`);
  const n = BigInt(v);
  if (n < min) throw new ConfigError(name, `must be >= ${min}, got ${v}`);
  return n;
}

function parseIntList(name: string, v: string): number[] {
  const parts = v.split(",").map((s) => s.trim());
  return parts.map((p) => {
    if (!/^-?[0-9]+$/.test(p)) {
      throw new ConfigError(name, `must be a comma-separated list of integers, got "${v}"`);
    }
    return Number(p);
  });
}

export function parseListenAddr(name: string, v: string): ListenAddr {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):([0-9]{1,5})$/.exec(v);
  if (!m) throw new ConfigError(name, `must be HOST:PORT, got "${v}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(name, `port out of range in "${v}"`);
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/**
 * SEQ_APP_CONFIG: `0x` followed by hex (the bytes themselves), or the path of a file whose
 * raw bytes are the config. Empty or unset: no app config.
 */
export function parseAppConfig(v: string | undefined): Uint8Array {
  if (v === undefined || v === "") return new Uint8Array(0);
  let bytes: Uint8Array;
  if (v.startsWith("0x") || v.startsWith("0X")) {
    try {
      bytes = hexToBytes(v);
    } catch (e) {
      throw new ConfigError("SEQ_APP_CONFIG", `must be 0x-hex or the path of a file: ${(e as Error).message}`);
    }
  } else {
    try {
      bytes = new Uint8Array(readFileSync(v));
    } catch (e) {
      throw new ConfigError("SEQ_APP_CONFIG", `cannot read the app config file ${v}: ${(e as Error).message}`);
    }
  }
  if (bytes.length > MAX_APP_CONFIG_BYTES) {
    throw new ConfigError("SEQ_APP_CONFIG", `is ${bytes.length} bytes; the limit is ${MAX_APP_CONFIG_BYTES}`);
  }
  return bytes;
}

function parseBool(name: string, v: string): boolean {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ConfigError(name, `must be true or false, got "${v}"`);
}

function parseLogLevel(v: string): LogLevel {
  if (v === "debug" || v === "info" || v === "warn" || v === "error") return v;
  throw new ConfigError("SEQ_LOG_LEVEL", `must be one of debug, info, warn, error; got "${v}"`);
}
