import type { PublicClient } from "viem";
import { hexToBytes } from "../core/bytes.ts";
import { SequencerError } from "../core/errors.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { DivergenceRow, ReaderStore, SafeInputRow } from "../storage/reader-store.ts";
import { trackAcceptance } from "./acceptance.ts";
import { getInputAddedLogsSplitting } from "./input-logs.ts";
import { PollLoop } from "./poll-loop.ts";
import { isL1TransportError } from "./provider.ts";


export interface InputReaderOptions {
  client: PublicClient;
  inputBox: `0x${string}`;
  app: `0x${string}`;
  /** First block that can hold inputs of the app (InputBox or app deployment block). */
  fromBlock: bigint;
  store: ReaderStore;
  pollIntervalMs: number;
  log: Logger;
  /** JSON-RPC error codes meaning "block range too large": the range is halved and retried. */
  longRangeErrorCodes: readonly number[];
  /** Largest block span asked of `eth_getLogs` at once. */
  maxLogRange?: bigint;
  /**
   * Payload bytes stored per transaction before the reader lets the event loop run (default
   * 256 KiB). A range is stored in slices cut at block boundaries, so the inclusion lane,
   * which shares this thread, is never held for a whole burst of landed batches.
   */
  maxSliceBytes?: number;
  /**
   * Payload bytes one `eth_getLogs` answer should carry (default 4 MiB). After a larger
   * answer the reader asks for half as many blocks next time, after a much smaller one for
   * twice as many (up to `maxLogRange`), so a burst of landed batches arrives in answers the
   * thread can parse without a long stall.
   */
  targetFetchBytes?: number;
  /** Called, on the same thread, after a sync moved the safe head forward. */
  onSafeHead: (safeBlock: number) => void;
  /** The batch submitter's address (20 bytes): its inputs are judged as batches. */
  submitter: Uint8Array;
  /** Called once when a canonical divergence is first recorded. */
  onDivergence?: (d: DivergenceRow) => void;
  now?: () => number;
}

const MAX_BACKOFF_MS = 30_000;
const DEFAULT_SLICE_BYTES = 256 * 1024;

/**
 * Cuts a range's inputs (in L1 order) into slices of about `maxBytes` of payload, only
 * between blocks: a slice may claim its last block as safe only if it holds every input of
 * that block. A single block larger than `maxBytes` stays whole.
 */
export function sliceAtBlockBoundaries(inputs: readonly SafeInputRow[], maxBytes: number): SafeInputRow[][] {
  const slices: SafeInputRow[][] = [];
  let cur: SafeInputRow[] = [];
  let bytes = 0;
  for (const input of inputs) {
    if (bytes >= maxBytes && cur.length > 0 && cur[cur.length - 1]!.blockNumber !== input.blockNumber) {
      slices.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(input);
    bytes += input.payload.length;
  }
  if (cur.length > 0 || slices.length === 0) slices.push(cur);
  return slices;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const DEFAULT_TARGET_FETCH_BYTES = 4 * 1024 * 1024;

/**
 * The block span of the next `eth_getLogs`, from what the last one brought: halve the span
 * just fetched when its payload exceeded `targetBytes`, double the current span when it was
 * under a quarter of it, otherwise keep it. Always within [1, maxSpan].
 */
export function nextLogSpan(current: bigint, fetchedSpan: bigint, bytes: number, maxSpan: bigint, targetBytes: number): bigint {
  let next = current;
  if (bytes > targetBytes) next = fetchedSpan / 2n;
  else if (bytes < targetBytes / 4) next = current * 2n;
  if (next < 1n) next = 1n;
  return next > maxSpan ? maxSpan : next;
}

/**
 * Follows the app's inputs on L1 up to the `safe` block and stores them, together with the
 * safe head, in one transaction per range, or per slice of a range when it carries more
 * than `maxSliceBytes` of payload. The ranges asked of `eth_getLogs` narrow and widen with
 * the payload their answers carry (`targetFetchBytes`). Only safe blocks are read, so a
 * reorg above safe never reaches storage.
 */
export class InputReader {
  private readonly o: InputReaderOptions;
  private readonly loop: PollLoop;
  private failures = 0;
  private failureLogged = false;
  private syncing: Promise<number> | null = null;
  /** Blocks asked per eth_getLogs; adapts to the payload bytes the answers carry. */
  private span: bigint | null = null;
  /** L1's latest block as last read (for operators only: nothing is decided on it). */
  latestBlock: number | null = null;

  constructor(opts: InputReaderOptions) {
    this.o = opts;
    this.loop = new PollLoop(
      () => this.syncOnce(),
      (outcome) => this.afterSync(outcome),
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * One full sync to the current safe head. Throws on L1 errors; the loop retries. Callers
   * arriving while a sync runs (the loop, recovery) share it rather than racing it.
   */
  syncOnce(): Promise<number> {
    this.syncing ??= this.sync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async sync(): Promise<number> {
    // The latest head is shown to operators (dashboard, metrics); its failure is not the sync's.
    void this.o.client.getBlockNumber({ cacheTime: 0 }).then(
      (n) => (this.latestBlock = Number(n)),
      () => {},
    );
    const [safe, finalized] = await Promise.all([
      this.o.client.getBlock({ blockTag: "safe" }),
      this.o.client.getBlock({ blockTag: "finalized" }),
    ]);
    const safeBlock = safe.number;
    const finalizedBlock = finalized.number;
    const heads = this.o.store.heads();
    let from = heads ? BigInt(heads.scannedThroughBlock) + 1n : this.o.fromBlock;
    const maxRange = this.o.maxLogRange ?? 10_000n;
    const total = safeBlock - from + 1n;
    const started = Date.now();
    while (from <= safeBlock) {
      const span = this.span ?? maxRange;
      const to = from + span - 1n < safeBlock ? from + span - 1n : safeBlock;
      const inputs = await this.fetchRange(from, to);
      const bytes = inputs.reduce((n, i) => n + i.payload.length, 0);
      this.span = nextLogSpan(span, to - from + 1n, bytes, maxRange, this.o.targetFetchBytes ?? DEFAULT_TARGET_FETCH_BYTES);
      const slices = sliceAtBlockBoundaries(inputs, this.o.maxSliceBytes ?? DEFAULT_SLICE_BYTES);
      for (let i = 0; i < slices.length; i++) {
        // Between slices the lane gets its turn. Each slice is judged against what the
        // previous ones stored (the next batch nonce moves with every accepted landing).
        if (i > 0) await nextTurn();
        const last = i === slices.length - 1;
        this.storeSlice(slices[i]!, last ? to : BigInt(slices[i]!.at(-1)!.blockNumber), finalizedBlock);
      }
      if (total > maxRange) {
        this.o.log.info("input reader progress", {
          scanned_through: to,
          target: safeBlock,
          percent: Number(((to - (safeBlock - total + 1n) + 1n) * 100n) / total),
          elapsed_ms: Date.now() - started,
        });
      }
      from = to + 1n;
    }
    if (!heads || safeBlock >= BigInt(heads.safeBlock)) {
      this.o.store.append(
        [],
        {
          safeBlock: Number(safeBlock),
          finalizedBlock: Number(finalizedBlock),
          scannedThroughBlock: Number(safeBlock),
        },
        (this.o.now ?? Date.now)(),
      );
    }
    const stored = this.o.store.heads()!;
    this.o.onSafeHead(stored.safeBlock);
    return stored.safeBlock;
  }

  /**
   * Judges and stores one slice with the heads it covers, in one transaction. A partial scan
   * may only claim the blocks it actually covered as safe: `through` is the slice's last
   * block, or the range's end for the last slice.
   */
  private storeSlice(inputs: readonly SafeInputRow[], through: bigint, finalizedBlock: bigint): void {
    const nowMs = (this.o.now ?? Date.now)();
    const store = this.o.store;
    const acceptance = trackAcceptance(inputs, {
      submitter: this.o.submitter,
      nextBatchNonce: store.nextBatchNonce(),
      sealed: (n) => store.sealedBatch(n),
      alreadyDiverged: store.divergence() !== null,
      nowMs,
    });
    store.append(
      inputs,
      {
        safeBlock: Number(through),
        finalizedBlock: Number(finalizedBlock < through ? finalizedBlock : through),
        scannedThroughBlock: Number(through),
      },
      nowMs,
      acceptance.landings,
      acceptance.divergence,
    );
    if (acceptance.divergence) {
      this.o.log.error("canonical divergence", {
        batch_nonce: acceptance.divergence.batchNonce,
        input_index: acceptance.divergence.inputIndex,
        reason: acceptance.divergence.reason,
      });
      this.o.onDivergence?.(acceptance.divergence);
    }
  }

  // Who logs what: L1 outages are logged by the transport (src/l1/provider.ts), once as
  // "L1 unreachable" and once as "L1 reachable again", for every component sharing the
  // client. The reader only backs off on them (debug line), and logs its own failures — a
  // JSON-RPC error it cannot split, a malformed input, storage — once per failure streak,
  // with a matching "input reader resumed".
  private afterSync(outcome: { ok: true } | { ok: false; error: unknown }): number {
    if (outcome.ok) {
      if (this.failureLogged) this.o.log.info("input reader resumed", { after_failures: this.failures });
      this.failures = 0;
      this.failureLogged = false;
      return this.o.pollIntervalMs;
    }
    if (isL1TransportError(outcome.error)) {
      this.o.log.debug("input reader: L1 unavailable; backing off", { failures: this.failures + 1 });
    } else if (!this.failureLogged) {
      this.o.log.warn("input reader sync failed; retrying", errorFields(outcome.error));
      this.failureLogged = true;
    }
    this.failures++;
    const backoff = Math.min(MAX_BACKOFF_MS, this.o.pollIntervalMs * 2 ** Math.min(this.failures, 10));
    return backoff * (0.5 + Math.random() / 2);
  }

  /** Fetches and decodes the app's inputs in [from, to] (src/l1/input-logs.ts). */
  private async fetchRange(from: bigint, to: bigint): Promise<SafeInputRow[]> {
    const q = { inputBox: this.o.inputBox, app: this.o.app, fromBlock: from, toBlock: to };
    const logs = await getInputAddedLogsSplitting(this.o.client, q, this.o.longRangeErrorCodes);
    return logs.map((log) => ({
      inputIndex: Number(log.index),
      sender: log.msgSender,
      blockNumber: Number(log.logBlockNumber),
      blockTimestamp: Number(log.blockTimestamp),
      txHash: hexToBytes(log.transactionHash, 32),
      payload: log.payload,
    }));
  }
}
