import type { PrivateKeyAccount, PublicClient } from "viem";
import { keccak256 } from "../core/keccak.ts";
import { bytesToHex as toHex, hexToBytes } from "../core/bytes.ts";
import { encodeBatch } from "../core/ssz.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { HistoryQueries } from "../storage/queries.ts";
import type { SubmitterStore, UnacceptedBatch } from "../storage/submitter-store.ts";
import { encodeAddInput } from "./contracts.ts";
import { ALREADY_HELD, isBenignBroadcastAnswer, NONCE_USED, nodeMessage } from "./node-answers.ts";
import { PollLoop } from "./poll-loop.ts";
import { isL1TransportError } from "./provider.ts";

export interface SubmitterOptions {
  client: PublicClient;
  account: PrivateKeyAccount;
  chainId: number;
  inputBox: `0x${string}`;
  app: `0x${string}`;
  store: SubmitterStore;
  history: HistoryQueries;
  /** Blocks a receipt must be buried under before its batch counts as landed. */
  confirmationDepth: number;
  idlePollMs: number;
  /** Batches broadcast ahead of the first unlanded one (consecutive wallet nonces). */
  maxInFlight?: number;
  log: Logger;
  now?: () => number;
}

/** How long a broadcast transaction is trusted to be held before it is sent again. */
const REBROADCAST_MS = 5_000;

export interface TickReport {
  unaccepted: number;
  landed: number;
  broadcast: number;
  /** Wallet nonce count at the view block (latest minus confirmation depth). */
  minedCount: number | null;
  maxFeePerGas: bigint | null;
}


/**
 * Posts sealed batches to the InputBox in nonce order. It keeps no state of its own between
 * ticks: each tick derives, from SQLite (sealed and accepted batches, past broadcasts) and L1
 * (wallet nonce count and receipts as of one view block), which batches still need a
 * transaction, and signs them at consecutive wallet nonces with freshly estimated fees.
 * Re-signing an unchanged transaction yields the same hash ("already known"); higher fees
 * replace it. Before a broadcast at a wallet nonce never used before, the durable watermark
 * is raised, so recovery knows every slot that may hold a transaction of ours.
 */
export class BatchSubmitter {
  private readonly o: SubmitterOptions;
  private readonly loop: PollLoop;
  private failing = false;
  /** Encoded calldata and gas of sealed batches still being posted. */
  private readonly prepared = new Map<number, { data: `0x${string}`; bytes: number; gas: bigint }>();
  /** What we last broadcast at each wallet nonce, to avoid re-signing it every tick. */
  private readonly lastBroadcast = new Map<number, { batchId: number; maxFeePerGas: bigint; atMs: number }>();

  constructor(opts: SubmitterOptions) {
    this.o = opts;
    this.loop = new PollLoop(
      () => this.tick(),
      (outcome) => this.afterTick(outcome),
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  get isRunning(): boolean {
    return this.loop.isRunning;
  }

  async tick(): Promise<TickReport> {
    const { client, store } = this.o;
    const batches = store.unacceptedBatches();
    const live = new Set(batches.map((b) => b.batchId));
    for (const id of this.prepared.keys()) if (!live.has(id)) this.prepared.delete(id);
    const report: TickReport = { unaccepted: batches.length, landed: 0, broadcast: 0, minedCount: null, maxFeePerGas: null };
    if (batches.length === 0) return report;

    // One consistent view: the wallet nonce count and receipts as of the same block.
    const latest = await client.getBlockNumber({ cacheTime: 0 });
    const depth = BigInt(this.o.confirmationDepth);
    const view = latest > depth ? latest - depth : 0n;
    const minedCount = await client.getTransactionCount({ address: this.o.account.address, blockNumber: view });
    report.minedCount = minedCount;
    for (const n of this.lastBroadcast.keys()) if (n < minedCount) this.lastBroadcast.delete(n);

    const unlanded: UnacceptedBatch[] = [];
    for (const b of batches) {
      if (await this.landedBy(b, view)) report.landed++;
      else unlanded.push(b);
    }
    const toSend = unlanded.slice(0, this.o.maxInFlight ?? 16);
    if (toSend.length === 0) return report;

    const fees = await client.estimateFeesPerGas();
    report.maxFeePerGas = fees.maxFeePerGas;
    for (let i = 0; i < toSend.length; i++) {
      const sent = await this.broadcast(toSend[i]!, minedCount + i, fees.maxFeePerGas, fees.maxPriorityFeePerGas);
      if (sent === "stop") break;
      if (sent === "sent") report.broadcast++;
    }
    return report;
  }

  /** True when one of our transactions for this batch is mined at or below the view block. */
  private async landedBy(b: UnacceptedBatch, view: bigint): Promise<boolean> {
    for (const s of this.o.store.submissions(b.batchId)) {
      if (s.minedBlock !== null) {
        if (BigInt(s.minedBlock) <= view) return true;
        continue;
      }
      const receipt = await this.o.client
        .getTransactionReceipt({ hash: toHex(s.l1TxHash) })
        .catch((e: unknown) => {
          if ((e as Error).name === "TransactionReceiptNotFoundError") return null;
          throw e;
        });
      if (!receipt) continue;
      if (receipt.status !== "success") {
        this.o.log.warn("batch transaction reverted", { batch_nonce: b.nonce, l1_tx_hash: toHex(s.l1TxHash) });
        continue;
      }
      this.o.store.markMined(s.l1TxHash, Number(receipt.blockNumber));
      if (receipt.blockNumber <= view) return true;
    }
    return false;
  }

  private async broadcast(
    b: UnacceptedBatch,
    walletNonce: number,
    maxFeePerGas: bigint,
    maxPriorityFeePerGas: bigint,
  ): Promise<"sent" | "benign" | "stop"> {
    const { client, store, account } = this.o;
    // The same transaction was broadcast moments ago: the node has it, or the next look
    // (after REBROADCAST_MS) sends it again. Re-signing it every tick only burns CPU that
    // the inclusion lane shares.
    const last = this.lastBroadcast.get(walletNonce);
    const now = this.now();
    if (last && last.batchId === b.batchId && last.maxFeePerGas >= maxFeePerGas && now - last.atMs < REBROADCAST_MS) {
      return "benign";
    }
    // A sealed batch never changes: encode it and estimate its gas once.
    let prepared = this.prepared.get(b.batchId);
    if (!prepared) {
      const payload = encodeBatch(this.o.history.batchContents(b.batchId, b.nonce));
      const data = encodeAddInput(this.o.app, payload);
      // A raw eth_estimateGas: viem's estimateGas first prepares a whole transaction request
      // (block, nonce and fee lookups) that the estimate does not use.
      const estimate = BigInt(
        await client.request({ method: "eth_estimateGas", params: [{ from: account.address, to: this.o.inputBox, data }] }),
      );
      prepared = { data, bytes: payload.length, gas: (estimate * 12n) / 10n };
      this.prepared.set(b.batchId, prepared);
    }
    const { data, gas } = prepared;
    if (walletNonce + 1 > store.watermark()) store.raiseWatermark(walletNonce + 1);
    const serialized = await account.signTransaction({
      type: "eip1559",
      chainId: this.o.chainId,
      nonce: walletNonce,
      to: this.o.inputBox,
      data,
      gas,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    const hash = keccak256(hexToBytes(serialized));
    try {
      await client.request({ method: "eth_sendRawTransaction", params: [serialized] });
    } catch (e) {
      const text = nodeMessage(e);
      if (!isBenignBroadcastAnswer(text)) throw e;
      this.o.log.debug("broadcast not needed", { batch_nonce: b.nonce, wallet_nonce: walletNonce, answer: text.slice(0, 120) });
      if (ALREADY_HELD.test(text)) {
        store.recordSubmission(row(b, walletNonce, hash, maxFeePerGas, maxPriorityFeePerGas, this.now()));
        return "benign";
      }
      // A nonce race: the chain moved under this tick. Re-derive everything next tick.
      return NONCE_USED.test(text) ? "stop" : "benign";
    }
    store.recordSubmission(row(b, walletNonce, hash, maxFeePerGas, maxPriorityFeePerGas, this.now()));
    this.lastBroadcast.set(walletNonce, { batchId: b.batchId, maxFeePerGas, atMs: now });
    this.o.log.info("batch broadcast", {
      batch_nonce: b.nonce,
      wallet_nonce: walletNonce,
      bytes: prepared.bytes,
      l1_tx_hash: toHex(hash),
      max_fee_per_gas: maxFeePerGas,
    });
    return "sent";
  }

  private afterTick(outcome: { ok: true } | { ok: false; error: unknown }): number {
    if (outcome.ok) {
      if (this.failing) this.o.log.info("batch submitter resumed");
      this.failing = false;
    } else {
      // Logged once per failure streak; L1 outages are the provider's to log.
      if (!this.failing && !isL1TransportError(outcome.error)) {
        this.o.log.warn("batch submitter tick failed; retrying", errorFields(outcome.error));
      }
      this.failing = true;
    }
    return this.o.idlePollMs;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

function row(b: UnacceptedBatch, walletNonce: number, hash: Uint8Array, maxFee: bigint, tip: bigint, now: number) {
  return { batchId: b.batchId, walletNonce, l1TxHash: hash, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip, sentAtMs: now };
}
