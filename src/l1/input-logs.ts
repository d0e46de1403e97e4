/**
 * The app's `InputAdded` logs, fetched with one raw `eth_getLogs` and decoded by hand.
 *
 * Shared by the input reader and `export-l1`. Why not viem's `getLogs` + `decodeFunctionData`:
 * a batch input is ~32 KB, and viem's generic decoders walk it as hex strings several times
 * (isHex, slice, hexToBytes, bytesToHex) — tens of milliseconds per poll on the thread the
 * inclusion lane shares. Here the hex is turned into bytes once, natively, and the fixed
 * `EvmAdvance` layout is read by offset. `input-logs.test.ts` checks the result against
 * viem's decoder on the same logs, and every malformed shape against a clear error.
 */
import { encodeEventTopics, type Address, type Hex, type PublicClient } from "viem";
import { hexToBytes } from "../core/bytes.ts";
import { DecodeError } from "../core/errors.ts";
import { decodeEvmAdvanceCall, inputAddedEvent, inputBoxAbi, readAbiBytes, type EvmAdvanceFields } from "./contracts.ts";

/** One decoded `InputAdded` log: the log's own facts and its `EvmAdvance` fields. */
export interface InputAddedLog extends EvmAdvanceFields {
  /** From the log (indexed topic), checked against the EvmAdvance's own index. */
  index: bigint;
  logBlockNumber: bigint;
  transactionHash: Hex;
}

export interface InputLogQuery {
  inputBox: Address;
  app: Address;
  fromBlock: bigint;
  toBlock: bigint;
}

interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string | null;
  transactionHash: string | null;
  removed?: boolean;
}

const INPUT_ADDED_TOPIC = (encodeEventTopics({ abi: inputBoxAbi, eventName: inputAddedEvent.name }) as Hex[])[0]!;

/**
 * The app's inputs with block numbers in [fromBlock, toBlock], in log order. One request; the
 * caller splits ranges the node refuses. Throws DecodeError when a log is not a well-formed
 * InputAdded of this app (wrong topics, bad ABI layout, index mismatch, pending or removed).
 */
export async function getInputAddedLogs(client: PublicClient, q: InputLogQuery): Promise<InputAddedLog[]> {
  const appTopic = `0x${"0".repeat(24)}${q.app.slice(2).toLowerCase()}` as Hex;
  const logs = (await client.request({
    method: "eth_getLogs",
    params: [
      {
        address: q.inputBox,
        topics: [INPUT_ADDED_TOPIC, appTopic],
        fromBlock: `0x${q.fromBlock.toString(16)}`,
        toBlock: `0x${q.toBlock.toString(16)}`,
      },
    ],
  })) as RawLog[];
  return logs.map((log) => decodeInputAddedLog(log, q.app.toLowerCase() as Address));
}

export function decodeInputAddedLog(log: RawLog, app: Address): InputAddedLog {
  if (log.removed) throw new DecodeError("InputAdded log was removed (reorg) in the node's answer");
  const [topic0, topicApp, topicIndex] = log.topics;
  if (log.topics.length !== 3 || topic0?.toLowerCase() !== INPUT_ADDED_TOPIC) {
    throw new DecodeError(`not an InputAdded log: topics ${JSON.stringify(log.topics)}`);
  }
  if (topicApp!.toLowerCase() !== `0x${"0".repeat(24)}${app.slice(2)}`) {
    throw new DecodeError(`InputAdded log of another app: ${topicApp}`);
  }
  if (log.blockNumber === null || log.transactionHash === null) {
    throw new DecodeError("InputAdded log without block number or transaction hash (pending block?)");
  }
  const index = BigInt(topicIndex!);
  const adv = decodeEvmAdvanceData(log.data);
  if (adv.appContract !== app || adv.index !== index) {
    throw new DecodeError(`InputAdded ${index} does not match its EvmAdvance (app ${adv.appContract}, index ${adv.index})`);
  }
  return { ...adv, logBlockNumber: BigInt(log.blockNumber), transactionHash: log.transactionHash as Hex };
}

/** Decodes the log data `abi.encode(bytes input)` where `input` is an EvmAdvance call. */
export function decodeEvmAdvanceData(data: string): EvmAdvanceFields {
  return decodeEvmAdvanceCall(readAbiBytes(hexBytes(data), 0, "InputAdded data"));
}

function hexBytes(data: string): Uint8Array {
  if (typeof data !== "string" || !data.startsWith("0x") || data.length % 2 !== 0) {
    throw new DecodeError("log data is not 0x-prefixed hex with whole bytes");
  }
  try {
    return hexToBytes(data);
  } catch (e) {
    throw new DecodeError(`log data contains non-hex characters: ${(e as Error).message}`, { cause: e });
  }
}

/** Whether `e` (or a cause) carries one of the node's "range too long" JSON-RPC codes. */
export function isLongRangeError(e: unknown, codes: readonly number[]): boolean {
  for (let cur: unknown = e; cur && typeof cur === "object"; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "number" && codes.includes(code)) return true;
  }
  return false;
}

/**
 * `getInputAddedLogs` over [fromBlock, toBlock], halving the range whenever the node answers
 * with one of `longRangeCodes` (providers cap eth_getLogs by blocks or results).
 */
export async function getInputAddedLogsSplitting(
  client: PublicClient,
  q: InputLogQuery,
  longRangeCodes: readonly number[],
): Promise<InputAddedLog[]> {
  try {
    return await getInputAddedLogs(client, q);
  } catch (e) {
    if (q.toBlock > q.fromBlock && isLongRangeError(e, longRangeCodes)) {
      const mid = q.fromBlock + (q.toBlock - q.fromBlock) / 2n;
      return [
        ...(await getInputAddedLogsSplitting(client, { ...q, toBlock: mid }, longRangeCodes)),
        ...(await getInputAddedLogsSplitting(client, { ...q, fromBlock: mid + 1n }, longRangeCodes)),
      ];
    }
    throw e;
  }
}
