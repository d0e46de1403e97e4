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
import { encodeEventTopics, toFunctionSelector, type Address, type Hex, type PublicClient } from "viem";
import { hexToBytes } from "../core/bytes.ts";
import { DecodeError } from "../core/errors.ts";
import { inputAddedEvent, inputBoxAbi } from "./contracts.ts";

/** One decoded `InputAdded` log: the log's own facts and its `EvmAdvance` fields. */
export interface InputAddedLog {
  /** From the log (indexed topic), checked against the EvmAdvance's own index. */
  index: bigint;
  logBlockNumber: bigint;
  transactionHash: Hex;
  chainId: bigint;
  /** Lowercase. */
  appContract: Address;
  msgSender: Uint8Array;
  blockNumber: bigint;
  blockTimestamp: bigint;
  prevRandao: bigint;
  payload: Uint8Array;
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

const EVM_ADVANCE_SELECTOR = toFunctionSelector(
  "EvmAdvance(uint256,address,address,uint256,uint256,uint256,uint256,bytes)",
).slice(2);
const INPUT_ADDED_TOPIC = (encodeEventTopics({ abi: inputBoxAbi, eventName: inputAddedEvent.name }) as Hex[])[0]!;
/** EvmAdvance's static head: 7 words of values plus the payload's offset. */
const HEAD_WORDS = 8;

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
export function decodeEvmAdvanceData(data: string): Omit<InputAddedLog, "logBlockNumber" | "transactionHash"> {
  const bytes = hexBytes(data);
  const outer = readBytes(bytes, 0, "InputAdded data");
  if (outer.length < 4 || hex(outer.subarray(0, 4)) !== EVM_ADVANCE_SELECTOR) {
    throw new DecodeError("InputAdded input is not an EvmAdvance call (selector)");
  }
  const head = outer.subarray(4);
  if (head.length < HEAD_WORDS * 32) throw new DecodeError(`EvmAdvance is ${head.length} bytes, shorter than its head`);
  return {
    chainId: word(head, 0),
    appContract: `0x${hex(address(head, 1))}` as Address,
    msgSender: address(head, 2).slice(),
    blockNumber: word(head, 3),
    blockTimestamp: word(head, 4),
    prevRandao: word(head, 5),
    index: word(head, 6),
    payload: readBytes(head, 7, "EvmAdvance payload").slice(),
  };
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

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}

function word(b: Uint8Array, i: number): bigint {
  return BigInt(`0x${hex(b.subarray(i * 32, i * 32 + 32))}`);
}

/** A word that must hold a small offset or length. */
function smallWord(b: Uint8Array, at: number, what: string): number {
  if (at + 32 > b.length) throw new DecodeError(`${what}: out of bounds`);
  for (let i = at; i < at + 28; i++) if (b[i] !== 0) throw new DecodeError(`${what}: offset or length too large`);
  return ((b[at + 28]! << 24) >>> 0) + (b[at + 29]! << 16) + (b[at + 30]! << 8) + b[at + 31]!;
}

function address(b: Uint8Array, i: number): Uint8Array {
  const w = b.subarray(i * 32, i * 32 + 32);
  for (let k = 0; k < 12; k++) if (w[k] !== 0) throw new DecodeError("EvmAdvance address word has dirty upper bytes");
  return w.subarray(12);
}

/** The dynamic `bytes` whose offset is in word `i` of `b`. */
function readBytes(b: Uint8Array, i: number, what: string): Uint8Array {
  const offset = smallWord(b, i * 32, what);
  const len = smallWord(b, offset, what);
  const start = offset + 32;
  if (start + len > b.length) throw new DecodeError(`${what}: ${len} bytes claimed, ${b.length - start} present`);
  return b.subarray(start, start + len);
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
