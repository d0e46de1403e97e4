/**
 * The two file formats of air-gapped replay verification (docs/replay.md):
 *
 * - the L1 inputs file written by `export-l1`: JSON lines
 *   `{"input_index","sender","block_number","block_timestamp","transaction_hash","payload"}`;
 * - a feed recording: JSON lines of `/ws/subscribe` messages exactly as the feed sends them
 *   (core/l2tx.ts), `rollback` messages included.
 *
 * Parsing is strict and every error names the file and the 1-based line, because these
 * files travel between machines and a truncated or hand-edited file must never be folded
 * silently.
 */
import { bytesToHex, hexToBytes, normalizeAddress, type Address, type Hex } from "../core/bytes.ts";
import { SequencerError } from "../core/errors.ts";
import { FAILURE_CLASSES, type FailureClass } from "../core/execution-limits.ts";
import { OUTPUT_KINDS, type Output, type OutputKind, type SequencedTx } from "../core/l2tx.ts";

/** An input file that cannot be read or does not parse; `line` is 1-based (0: whole file). */
export class ReplayInputError extends SequencerError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string, options?: { cause?: unknown }) {
    super("REPLAY_INPUT_ERROR", line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`, options);
    this.file = file;
    this.line = line;
  }
}

// ---- L1 inputs -------------------------------------------------------------------------------

export interface L1InputRecord {
  inputIndex: number;
  /** msgSender of the input, lowercase. */
  sender: Address;
  blockNumber: number;
  blockTimestamp: number;
  transactionHash: Hex;
  payload: Uint8Array;
}

/** One line of the L1 inputs file (no newline); field order is fixed. */
export function formatL1InputLine(r: L1InputRecord): string {
  return (
    `{"input_index":${r.inputIndex},"sender":"${r.sender.toLowerCase()}","block_number":${r.blockNumber},` +
    `"block_timestamp":${r.blockTimestamp},"transaction_hash":"${r.transactionHash.toLowerCase()}",` +
    `"payload":"${bytesToHex(r.payload)}"}`
  );
}

/**
 * The deployment's consensus parameters, written by `export-l1` as the first line of the
 * export (issue 14), so that `verify` needs only the file and the module. A parameter the
 * exporter could not learn is null; `verify` then needs it as a flag.
 */
export interface DeploymentHeader {
  chainId: bigint;
  app: Address;
  inputBox: Address;
  batchSubmitter: Address | null;
  etherPortal: Address | null;
  erc20Portal: Address | null;
  erc20Token: Address | null;
  /** sha256 (hex, no 0x) of the app module the sequencer runs. */
  appModuleSha256: string | null;
  /** core/execution-limits.ts limitsJson() as the sequencer reported it. */
  executionLimits: Record<string, unknown> | null;
  /** The app's own init config (SEQ_APP_CONFIG) as 0x-hex; null: unknown (an older export). */
  appConfig: `0x${string}` | null;
  fromBlock: number;
  toBlock: number;
  /** Where the parameters beyond chain, app and InputBox came from (e.g. the sequencer's /info URL). */
  source: string | null;
}

export const EXPORT_FORMAT = 1;

/** The header line (no newline); field order is fixed. */
export function formatDeploymentHeader(h: DeploymentHeader): string {
  return JSON.stringify({
    kind: "deployment",
    format: EXPORT_FORMAT,
    chain_id: Number(h.chainId),
    app: h.app.toLowerCase(),
    input_box: h.inputBox.toLowerCase(),
    batch_submitter: h.batchSubmitter?.toLowerCase() ?? null,
    ether_portal: h.etherPortal?.toLowerCase() ?? null,
    erc20_portal: h.erc20Portal?.toLowerCase() ?? null,
    erc20_token: h.erc20Token?.toLowerCase() ?? null,
    app_module_sha256: h.appModuleSha256,
    execution_limits: h.executionLimits,
    app_config: h.appConfig,
    from_block: h.fromBlock,
    to_block: h.toBlock,
    source: h.source,
  });
}

export interface L1Export {
  /** Null for an export written before the header existed. */
  header: DeploymentHeader | null;
  inputs: L1InputRecord[];
}

/**
 * Parses an export: an optional deployment header line, then the inputs. Input indices must
 * be contiguous and block numbers non-decreasing (L1 order); blank lines are ignored.
 * @throws ReplayInputError naming the line.
 */
export function parseL1Export(text: string, file: string): L1Export {
  let header: DeploymentHeader | null = null;
  let first = true;
  const inputs = parseInputLines(text, file, (o, n) => {
    const isHeader = o.kind === "deployment";
    if (isHeader && !first) throw new ReplayInputError(file, n, "a deployment header may only be the first line");
    first = false;
    if (isHeader) header = parseHeader(o, file, n);
    return isHeader;
  });
  return { header, inputs };
}

/** The inputs of an export (its header, if any, skipped). */
export function parseL1Inputs(text: string, file: string): L1InputRecord[] {
  return parseL1Export(text, file).inputs;
}

function parseHeader(o: Record<string, unknown>, file: string, n: number): DeploymentHeader {
  const f = fields(o, file, n);
  const format = f.uint("format");
  if (format !== EXPORT_FORMAT) throw new ReplayInputError(file, n, `export format ${format} is not supported (this verify reads ${EXPORT_FORMAT})`);
  const opt = (k: string): Address | null => (o[k] === null ? null : f.address(k));
  const sha = o.app_module_sha256;
  if (sha !== null && (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha))) {
    throw new ReplayInputError(file, n, `"app_module_sha256" must be null or 64 lowercase hex digits`);
  }
  const limits = o.execution_limits;
  if (limits !== null && (typeof limits !== "object" || Array.isArray(limits))) {
    throw new ReplayInputError(file, n, `"execution_limits" must be null or an object`);
  }
  const source = o.source;
  if (source !== null && typeof source !== "string") throw new ReplayInputError(file, n, `"source" must be null or a string`);
  // absent in exports written before app configs existed
  const appConfig = o.app_config ?? null;
  if (appConfig !== null && (typeof appConfig !== "string" || !/^0x([0-9a-f]{2})*$/.test(appConfig))) {
    throw new ReplayInputError(file, n, `"app_config" must be null or 0x-prefixed lowercase hex`);
  }
  const h: DeploymentHeader = {
    chainId: BigInt(f.uint("chain_id")),
    app: f.address("app"),
    inputBox: f.address("input_box"),
    batchSubmitter: opt("batch_submitter"),
    etherPortal: opt("ether_portal"),
    erc20Portal: opt("erc20_portal"),
    erc20Token: opt("erc20_token"),
    appModuleSha256: sha as string | null,
    executionLimits: limits as Record<string, unknown> | null,
    appConfig: appConfig as `0x${string}` | null,
    fromBlock: f.uint("from_block"),
    toBlock: f.uint("to_block"),
    source: source as string | null,
  };
  f.noOthers(["kind", "format", "chain_id", "app", "input_box", "batch_submitter", "ether_portal", "erc20_portal", "erc20_token", "app_module_sha256", "execution_limits", "app_config", "from_block", "to_block", "source"]);
  return h;
}

function parseInputLines(
  text: string,
  file: string,
  other: (o: Record<string, unknown>, lineNumber: number) => boolean,
): L1InputRecord[] {
  const out: L1InputRecord[] = [];
  forEachLine(text, (line, n) => {
    const o = parseObject(line, file, n);
    if (other(o, n)) return;
    const f = fields(o, file, n);
    const r: L1InputRecord = {
      inputIndex: f.uint("input_index"),
      sender: f.address("sender"),
      blockNumber: f.uint("block_number"),
      blockTimestamp: f.uint("block_timestamp"),
      transactionHash: bytesToHex(f.hex("transaction_hash", 32)),
      payload: f.hex("payload"),
    };
    f.noOthers(["input_index", "sender", "block_number", "block_timestamp", "transaction_hash", "payload"]);
    const prev = out[out.length - 1];
    if (prev !== undefined) {
      if (r.inputIndex !== prev.inputIndex + 1) {
        throw new ReplayInputError(file, n, `input_index ${r.inputIndex} does not follow ${prev.inputIndex} (inputs must be contiguous)`);
      }
      if (r.blockNumber < prev.blockNumber) {
        throw new ReplayInputError(file, n, `block_number ${r.blockNumber} is below the previous input's ${prev.blockNumber}`);
      }
    }
    out.push(r);
  });
  return out;
}

// ---- feed recordings -------------------------------------------------------------------------

export interface ParsedFeed {
  /** The history as the recording ends, rollbacks applied; entry i has offset i. */
  entries: SequencedTx[];
  rollbacks: number;
  messages: number;
}

/**
 * Parses a feed recording from offset 0. A `rollback` message truncates the history at its
 * offset (SPEC §4); every other entry must carry exactly the next offset, and its outputs
 * (SPEC 2.8). Fields the feed may add later are ignored (the comparison covers the fields
 * defined in core/l2tx.ts).
 * @throws ReplayInputError naming the line.
 */
export function parseFeed(text: string, file: string): ParsedFeed {
  const entries: SequencedTx[] = [];
  let rollbacks = 0;
  let messages = 0;
  forEachLine(text, (line, n) => {
    messages++;
    const o = parseObject(line, file, n);
    const f = fields(o, file, n);
    const kind = o.kind;
    const offset = f.uint("offset");
    if (kind === "rollback") {
      f.uint("generation");
      if (offset > entries.length) {
        throw new ReplayInputError(file, n, `rollback to offset ${offset} is beyond the ${entries.length} entries recorded`);
      }
      entries.length = offset;
      rollbacks++;
      return;
    }
    if (offset !== entries.length) {
      throw new ReplayInputError(
        file,
        n,
        `offset ${offset} where ${entries.length} was expected (a recording must start at offset 0 and be contiguous)`,
      );
    }
    if (kind === "user_op") {
      const fee = f.uint("fee");
      if (fee > 0xffff) throw new ReplayInputError(file, n, `fee ${fee} is not a uint16`);
      const nonce = f.uint("nonce");
      if (nonce > 0xffff_ffff) throw new ReplayInputError(file, n, `nonce ${nonce} is not a uint32`);
      entries.push({
        kind: "user_op",
        offset,
        sender: f.address("sender"),
        fee,
        data: f.hex("data"),
        nonce,
        txHash: f.hex("tx_hash", 32),
        outputs: f.outputs(),
      });
    } else if (kind === "direct_input") {
      entries.push({
        kind: "direct_input",
        offset,
        sender: f.address("sender"),
        blockNumber: f.uint("block_number"),
        inputIndex: f.uint("input_index"),
        payload: f.hex("payload"),
        outputs: f.outputs(),
        failure: f.failure(),
      });
    } else {
      throw new ReplayInputError(file, n, `unknown message kind ${JSON.stringify(kind)}`);
    }
  });
  return { entries, rollbacks, messages };
}

// ---- helpers ---------------------------------------------------------------------------------

function forEachLine(text: string, each: (line: string, lineNumber: number) => void): void {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    n++;
    const line = text.slice(start, end).replace(/\r$/, "");
    if (line.trim() !== "") each(line, n);
    start = end + 1;
  }
}

function parseObject(line: string, file: string, n: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ReplayInputError(file, n, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ReplayInputError(file, n, "not a JSON object");
  return v as Record<string, unknown>;
}

function fields(o: Record<string, unknown>, file: string, n: number) {
  const fail = (msg: string, cause?: unknown): never => {
    throw new ReplayInputError(file, n, msg, cause === undefined ? undefined : { cause });
  };
  const get = (k: string): unknown => {
    if (!Object.prototype.hasOwnProperty.call(o, k)) fail(`missing field "${k}"`);
    return o[k];
  };
  return {
    uint(k: string): number {
      const v = get(k);
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
        fail(`"${k}" must be a non-negative integer below 2^53, got ${JSON.stringify(v)}`);
      }
      return v as number;
    },
    hex(k: string, len?: number): Uint8Array {
      const v = get(k);
      if (typeof v !== "string") fail(`"${k}" must be a 0x-hex string`);
      try {
        return hexToBytes(v as string, len);
      } catch (e) {
        return fail(`"${k}": ${(e as Error).message}`, e);
      }
    },
    address(k: string): Address {
      const v = get(k);
      try {
        return normalizeAddress(v as string);
      } catch (e) {
        return fail(`"${k}": ${(e as Error).message}`, e);
      }
    },
    /** `outputs`: required; each `{kind, payload}` with a known kind (SPEC 2.8). */
    outputs(): Output[] {
      const v = get("outputs");
      if (!Array.isArray(v)) return fail(`"outputs" must be an array`);
      return v.map((x, i) => {
        if (x === null || typeof x !== "object" || !OUTPUT_KINDS.includes((x as { kind: OutputKind }).kind)) {
          return fail(`"outputs"[${i}] must be {"kind": ${OUTPUT_KINDS.map((k) => `"${k}"`).join("|")}, "payload": "0x.."}`);
        }
        const payload = (x as { payload: unknown }).payload;
        try {
          return { kind: (x as { kind: OutputKind }).kind, payload: hexToBytes(payload as string) };
        } catch (e) {
          return fail(`"outputs"[${i}].payload: ${(e as Error).message}`, e);
        }
      });
    },
    /** `failure`: required on direct inputs; null or a failure class. */
    failure(): FailureClass | null {
      const v = get("failure");
      if (v === null) return null;
      if (typeof v !== "string" || !FAILURE_CLASSES.includes(v as FailureClass)) {
        return fail(`"failure" must be null or one of ${FAILURE_CLASSES.join(", ")}, got ${JSON.stringify(v)}`);
      }
      return v as FailureClass;
    },
    noOthers(allowed: string[]): void {
      for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`unexpected field "${k}"`);
    },
  };
}
