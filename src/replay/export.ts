/**
 * `sequencer export-l1`: writes the app's raw InputBox inputs to a JSON-lines file
 * (files.ts formatL1InputLine), the input of the offline `sequencer verify`, after a header
 * line with the deployment's consensus parameters (files.ts formatDeploymentHeader).
 *
 * The file is written to FILE.tmp, fsynced and renamed, so FILE is either absent or
 * complete. Completeness is checked, not assumed: indices must be contiguous, and when the
 * node can answer, `InputBox.getNumberOfInputs(app)` at the last block must agree with what
 * the logs gave us (a node that silently drops logs is caught here, not by the auditor).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { PublicClient } from "viem";
import { bytesToHex, type Address, type Hex } from "../core/bytes.ts";
import { DecodeError, SequencerError } from "../core/errors.ts";
import { inputBoxAbi } from "../l1/contracts.ts";
import { getInputAddedLogsSplitting } from "../l1/input-logs.ts";
import type { Logger } from "../observability/log.ts";
import { formatDeploymentHeader, formatL1InputLine, type DeploymentHeader, type L1InputRecord } from "./files.ts";

/** The consensus parameters an export records beyond chain, app and InputBox (null: unknown). */
export type ExportParameters = Pick<
  DeploymentHeader,
  "batchSubmitter" | "etherPortal" | "erc20Portal" | "erc20Token" | "appModuleSha256" | "executionLimits" | "appConfig" | "source"
>;

export const UNKNOWN_PARAMETERS: ExportParameters = {
  batchSubmitter: null,
  etherPortal: null,
  erc20Portal: null,
  erc20Token: null,
  appModuleSha256: null,
  executionLimits: null,
  appConfig: null,
  source: null,
};

export const DEFAULT_LONG_RANGE_ERROR_CODES: readonly number[] = [-32005, -32600, -32602, -32616];
export const DEFAULT_MAX_LOG_RANGE = 10_000n;

export class ExportError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EXPORT_L1_ERROR", message, options);
  }
}

export interface ExportOptions {
  client: PublicClient;
  inputBox: Address;
  app: Address;
  /** Default: the InputBox's deployment block (0 if it cannot tell). */
  fromBlock?: bigint;
  /** Default: the L1 `safe` block. */
  toBlock?: bigint;
  out: string;
  log: Logger;
  longRangeErrorCodes?: readonly number[];
  /** Largest block span asked of eth_getLogs at once (halved on "range too large"). */
  maxLogRange?: bigint;
  /** Written into the header line (default: all unknown). */
  parameters?: ExportParameters;
}

export interface ExportResult {
  file: string;
  inputs: number;
  fromBlock: bigint;
  toBlock: bigint;
  firstInputIndex: number | null;
  lastInputIndex: number | null;
  chainId: number;
}

export async function exportL1Inputs(o: ExportOptions): Promise<ExportResult> {
  const client = o.client;
  const app = o.app.toLowerCase() as Address;
  const codes = o.longRangeErrorCodes ?? DEFAULT_LONG_RANGE_ERROR_CODES;
  const maxRange = o.maxLogRange ?? DEFAULT_MAX_LOG_RANGE;
  const chainId = await client.getChainId();

  const boxCode = await client.getCode({ address: o.inputBox });
  if (!boxCode || boxCode === "0x") throw new ExportError(`no contract is deployed at the InputBox address ${o.inputBox}`);

  let fromBlock = o.fromBlock;
  const fromIsDefault = fromBlock === undefined;
  if (fromBlock === undefined) {
    try {
      fromBlock = await client.readContract({ address: o.inputBox, abi: inputBoxAbi, functionName: "getDeploymentBlockNumber" });
    } catch (e) {
      o.log.warn("InputBox.getDeploymentBlockNumber() failed; exporting from block 0", { error: (e as Error).message });
      fromBlock = 0n;
    }
  }
  const latest = await client.getBlockNumber();
  const safe = (await client.getBlock({ blockTag: "safe" })).number;
  let toBlock = o.toBlock;
  if (toBlock === undefined) toBlock = safe;
  else if (toBlock > latest) throw new ExportError(`--to-block ${toBlock} is beyond the chain head ${latest}`);
  else if (toBlock > safe) o.log.warn("exporting beyond the L1 safe block: a reorg may change these inputs", { to_block: toBlock, safe_block: safe });

  const tmp = `${o.out}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  let written = 0;
  let first: number | null = null;
  let last: number | null = null;
  try {
    writeSync(
      fd,
      formatDeploymentHeader({
        chainId: BigInt(chainId),
        app,
        inputBox: o.inputBox,
        ...(o.parameters ?? UNKNOWN_PARAMETERS),
        fromBlock: Number(fromBlock),
        toBlock: Number(toBlock),
      }) + "\n",
    );
    const total = toBlock >= fromBlock ? toBlock - fromBlock + 1n : 0n;
    const started = Date.now();
    let buffered: string[] = [];
    for (let from = fromBlock; from <= toBlock; ) {
      const to = from + maxRange - 1n < toBlock ? from + maxRange - 1n : toBlock;
      const inputs = await fetchRange(client, o.inputBox, app, chainId, from, to, codes);
      for (const r of inputs) {
        if (last === null) {
          if (fromIsDefault && r.inputIndex !== 0) {
            throw new ExportError(`the first input found has index ${r.inputIndex}, not 0: the node is missing logs`);
          }
          first = r.inputIndex;
        } else if (r.inputIndex !== last + 1) {
          throw new ExportError(`input index ${r.inputIndex} follows ${last}: the node returned a gap in the InputBox logs`);
        }
        last = r.inputIndex;
        buffered.push(formatL1InputLine(r) + "\n");
        written++;
      }
      if (buffered.length > 0) {
        writeSync(fd, buffered.join(""));
        buffered = [];
      }
      if (total > maxRange) {
        o.log.info("export-l1 progress", {
          scanned_through: to,
          target: toBlock,
          percent: Number(((to - fromBlock + 1n) * 100n) / total),
          inputs: written,
          elapsed_ms: Date.now() - started,
        });
      }
      from = to + 1n;
    }
    await checkCount(o, client, app, toBlock, last, fromIsDefault);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, o.out);
  return { file: o.out, inputs: written, fromBlock, toBlock, firstInputIndex: first, lastInputIndex: last, chainId };
}

/** The InputBox's own count at `toBlock` must match the logs (skipped if the node cannot answer). */
async function checkCount(
  o: ExportOptions,
  client: PublicClient,
  app: Address,
  toBlock: bigint,
  last: number | null,
  fromIsDefault: boolean,
): Promise<void> {
  let count: bigint;
  try {
    count = await client.readContract({
      address: o.inputBox,
      abi: inputBoxAbi,
      functionName: "getNumberOfInputs",
      args: [app],
      blockNumber: toBlock,
    });
  } catch (e) {
    o.log.warn("could not cross-check the input count with InputBox.getNumberOfInputs", { error: (e as Error).message });
    return;
  }
  if (last !== null) {
    if (count !== BigInt(last) + 1n) {
      throw new ExportError(`InputBox reports ${count} inputs at block ${toBlock} but the logs end at index ${last}`);
    }
  } else if (fromIsDefault && count !== 0n) {
    throw new ExportError(`InputBox reports ${count} inputs at block ${toBlock} but the logs returned none`);
  }
}

/** The app's inputs in [from, to] as file records, with the EvmAdvance cross-checks. */
async function fetchRange(
  client: PublicClient,
  inputBox: Address,
  app: Address,
  chainId: number,
  from: bigint,
  to: bigint,
  codes: readonly number[],
): Promise<L1InputRecord[]> {
  let logs;
  try {
    logs = await getInputAddedLogsSplitting(client, { inputBox, app, fromBlock: from, toBlock: to }, codes);
  } catch (e) {
    if (e instanceof DecodeError) throw new ExportError(e.message, { cause: e });
    throw e;
  }
  return logs.map((log) => {
    if (log.blockNumber !== log.logBlockNumber) {
      throw new ExportError(`input ${log.index}: EvmAdvance block ${log.blockNumber} differs from the log's block ${log.logBlockNumber}`);
    }
    if (log.chainId !== BigInt(chainId)) {
      throw new ExportError(`input ${log.index}: EvmAdvance chain id ${log.chainId} differs from the node's ${chainId}`);
    }
    if (log.index > BigInt(Number.MAX_SAFE_INTEGER) || log.blockTimestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ExportError(`input ${log.index}: index or timestamp does not fit the file format`);
    }
    return {
      inputIndex: Number(log.index),
      sender: bytesToHex(log.msgSender) as Address,
      blockNumber: Number(log.logBlockNumber),
      blockTimestamp: Number(log.blockTimestamp),
      transactionHash: log.transactionHash.toLowerCase() as Hex,
      payload: log.payload,
    };
  });
}

