/**
 * The mempool flush (SPEC §6, issue 6 item 3): make sure no transaction of the batch submitter
 * that is still floating around (our node's mempool, another node's, a private builder's) can
 * land on L1 after recovery has decided what the scheduler accepted.
 *
 * Every wallet nonce from the latest count up to max(pending count, watermark) gets a 0-value
 * self-transfer priced to replace whatever may sit there, and the flush returns only once the
 * wallet's nonce count at the L1 `safe` block covers the watermark and the pending count: every
 * slot we may ever have broadcast at is then consumed in a safe block, by a self-transfer or by
 * the original transaction, so nothing of ours can land later (barring a reorg below `safe`).
 *
 * Preconditions (the caller's, i.e. the recovery controller's): the batch submitter is stopped
 * — nothing else broadcasts from this key while the flush runs or after it returns, until the
 * cascade has run. The flush keeps no state across calls other than the durable watermark, so
 * calling it again after a crash at any point converges the same way (see docs/recovery.md).
 */
import { ALREADY_HELD, NONCE_USED, nodeMessage, UNDERPRICED } from "../l1/node-answers.ts";
import { keccak256, type PrivateKeyAccount, type PublicClient } from "viem";
import { SequencerError } from "../core/errors.ts";
import { isL1TransportError } from "../l1/provider.ts";
import type { Logger } from "../observability/log.ts";
import type { SubmitterStore } from "../storage/submitter-store.ts";

/** The two EIP-1559 fee fields of a transaction, in wei. */
export interface FeePair {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/**
 * The highest fees (each field separately) we know were used by a batch transaction at this
 * wallet nonce, or null when none is recorded. Production wiring: `SubmitterStore.knownFees`.
 */
export type KnownFees = (walletNonce: number) => FeePair | null;

export interface FlushOptions {
  client: PublicClient;
  /** The batch submitter's key: the wallet being flushed. */
  account: PrivateKeyAccount;
  chainId: number;
  /** Source of the watermark; raised durably (never lowered) before any broadcast. */
  store: SubmitterStore;
  /**
   * Fees of the batch transactions recorded at a wallet nonce. Required on purpose: a flush
   * that forgets them still converges (it escalates on "underpriced"), but more slowly.
   */
  knownFees: KnownFees;
  log: Logger;
  /**
   * Refuse (FlushRefusedError) to broadcast at more than this many slots above the latest
   * count in one view (default 256). The submitter keeps at most a few dozen in flight; a gap
   * far larger means a corrupt watermark, and paying 21000 gas x3 the market per slot for it
   * is a human's call.
   */
  maxSlots?: number;
  /** Pause between rounds (default 1000 ms). */
  pollMs?: number;
  /** Stop waiting: the flush rejects with `FlushAbortedError` at the next check. */
  signal?: AbortSignal;
  now?: () => number;
}

export interface FlushResult {
  /** The L1 safe block at which every slot below the watermark was observed settled. */
  safeBlock: bigint;
  /** The wallet's nonce count at `safeBlock` (>= watermark, >= the pending count). */
  settledThroughNonce: number;
  /** Distinct self-transfers the node accepted during this call. */
  replaced: number;
  rounds: number;
  elapsedMs: number;
}

/** The flush was told to stop (its `signal` aborted) before the wallet was settled. */
export class FlushAbortedError extends SequencerError {
  constructor(options?: { cause?: unknown }) {
    super("FLUSH_ABORTED", "mempool flush aborted before the wallet was settled at the safe block", options);
  }
}

/** The flush will not act on this view without a human (see `FlushOptions.maxSlots`). */
export class FlushRefusedError extends SequencerError {
  constructor(message: string) {
    super("FLUSH_REFUSED", message);
  }
}

export const SELF_TRANSFER_GAS = 21_000n;
/** The fresh estimate is multiplied by this: the flush must win, and quickly. */
export const FRESH_FEE_MULTIPLIER = 3n;

/**
 * A replacement bump: +12.5%, rounded up, and at least 1 wei. Nodes demand a bump over the
 * transaction they hold (geth: +10% on both fields, computed as old * 110 / 100 with integer
 * division; other clients round differently); 12.5% leaves room for any rounding.
 */
export function bumpFee(x: bigint): bigint {
  const step = (x + 7n) / 8n;
  return x + (step > 0n ? step : 1n);
}

/**
 * The fees of a self-transfer at a slot: the fresh estimate x3, and a bump over every fee
 * pair known to have been used there (recorded batch transactions; our own earlier attempt in
 * this call) — on both fields. maxFeePerGas is never below the tip.
 */
export function replacementFees(fresh: FeePair, over: readonly (FeePair | null | undefined)[]): FeePair {
  let maxFeePerGas = fresh.maxFeePerGas * FRESH_FEE_MULTIPLIER;
  let maxPriorityFeePerGas = fresh.maxPriorityFeePerGas * FRESH_FEE_MULTIPLIER;
  for (const f of over) {
    if (!f) continue;
    maxFeePerGas = max(maxFeePerGas, bumpFee(f.maxFeePerGas));
    maxPriorityFeePerGas = max(maxPriorityFeePerGas, bumpFee(f.maxPriorityFeePerGas));
  }
  return { maxFeePerGas: max(maxFeePerGas, maxPriorityFeePerGas), maxPriorityFeePerGas };
}



/** Our latest self-transfer at a slot, in this call. */
interface Attempt extends FeePair {
  raw: `0x${string}`;
  hash: `0x${string}`;
  /** The node holds it, or may (accepted, "already known", or a send lost in transport). */
  live: boolean;
}

export interface View {
  safeBlock: bigint;
  /** Nonce count at the safe block. */
  safe: number;
  latest: number;
  pending: number;
  /** One past the highest wallet nonce we may have broadcast at. */
  watermark: number;
}

/**
 * Flushes the submitter wallet; resolves once every wallet nonce below max(watermark, pending
 * count) is consumed in a safe block. Node and transport errors never end it: it logs them
 * (once per streak) and looks again next round. It rejects only with `FlushAbortedError`,
 * `FlushRefusedError` (absurd slot count), or when the database (watermark, known fees) fails.
 */
export async function flushWallet(opts: FlushOptions): Promise<FlushResult> {
  const { client, account, store, log, signal } = opts;
  if (typeof opts.knownFees !== "function") {
    // Bun does not type-check: fail loudly rather than price blind.
    throw new SequencerError("FLUSH_MISCONFIGURED", "flushWallet: opts.knownFees is required (use SubmitterStore.knownFees)");
  }
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;
  const started = now();
  const sender = new SlotSender(client, account, opts.chainId, log);
  const streak = new FailureStreak(log);
  let rounds = 0;
  let lastView = "";

  for (;;) {
    checkAborted(signal);
    rounds++;

    // 1. Observe.
    let view: View;
    try {
      view = await observe(client, account.address, store);
    } catch (e) {
      streak.failed("observe", e);
      await pause(pollMs, signal);
      continue;
    }
    const shown = `${view.safe}/${view.latest}/${view.pending}/${view.watermark}`;
    if (shown !== lastView) {
      log.info("flush: wallet view", {
        safe_block: view.safeBlock,
        safe_count: view.safe,
        latest_count: view.latest,
        pending_count: view.pending,
        watermark: view.watermark,
        round: rounds,
      });
      lastView = shown;
    }

    // 2. Plan.
    const plan = planFlush(view, opts.maxSlots ?? 256);
    if (plan.kind === "settled") {
      const result: FlushResult = {
        safeBlock: view.safeBlock,
        settledThroughNonce: view.safe,
        replaced: sender.replaced,
        rounds,
        elapsedMs: now() - started,
      };
      log.info("flush: wallet settled at the safe block", {
        safe_block: result.safeBlock,
        settled_through_nonce: result.settledThroughNonce,
        replaced: result.replaced,
        rounds,
        elapsed_ms: result.elapsedMs,
      });
      return result;
    }
    // Durable before any broadcast: a crash after this point finds every slot we may touch
    // below the watermark, and the next flush waits for all of them.
    if (plan.raiseWatermarkTo !== null) store.raiseWatermark(plan.raiseWatermarkTo);

    // 3. Send.
    if (plan.slots.length > 0) {
      // Local reads, outside the try: a database failure must not pass for an L1 hiccup.
      const known = new Map<number, FeePair | null>();
      for (const n of plan.slots) known.set(n, opts.knownFees(n));
      try {
        const est = await client.estimateFeesPerGas();
        const fresh = { maxFeePerGas: est.maxFeePerGas, maxPriorityFeePerGas: est.maxPriorityFeePerGas };
        for (const n of plan.slots) {
          checkAborted(signal);
          await sender.send(n, fresh, known.get(n) ?? null);
        }
        streak.healthy();
      } catch (e) {
        if (e instanceof FlushAbortedError) throw e;
        streak.failed("broadcast", e);
      }
    } else {
      streak.healthy();
    }
    await pause(pollMs, signal);
  }
}

/** What one round does, decided from the view alone. */
export type FlushPlan =
  | { kind: "settled" }
  | {
      kind: "flush";
      /** Raise the durable watermark to this first (null: it is high enough). */
      raiseWatermarkTo: number | null;
      /** Wallet nonces to (re)broadcast a self-transfer at, in order; empty: wait. */
      slots: number[];
    };

/**
 * Settled when nothing is pending beyond the safe count and the safe count reached the
 * watermark. Otherwise every slot from the latest count up to max(pending, watermark) gets a
 * self-transfer.
 * @throws FlushRefusedError when that is more than `maxSlots` slots (a sign of a bug or a
 * hostile node, not of a real backlog).
 */
export function planFlush(view: View, maxSlots: number): FlushPlan {
  if (view.pending <= view.safe && view.safe >= view.watermark) return { kind: "settled" };
  const upper = Math.max(view.pending, view.watermark);
  if (upper - view.latest > maxSlots) {
    throw new FlushRefusedError(
      `${upper - view.latest} wallet slots to flush (latest count ${view.latest}, pending ${view.pending}, ` +
        `watermark ${view.watermark}) exceed the limit of ${maxSlots}`,
    );
  }
  const slots: number[] = [];
  for (let n = view.latest; n < upper; n++) slots.push(n);
  return { kind: "flush", raiseWatermarkTo: upper > view.watermark ? upper : null, slots };
}

/** Logs node and transport failures once per streak, and when they end. */
class FailureStreak {
  private failing: string | null = null;

  constructor(private readonly log: Logger) {}

  failed(stage: string, e: unknown): void {
    const transport = isL1TransportError(e);
    // Keyed by kind, not by text: node messages often carry block numbers that change each round.
    const key = transport ? "transport" : `${stage}:${errorKind(e)}`;
    if (key === this.failing) return;
    this.failing = key;
    const fields = { stage, error: nodeMessage(e).slice(0, 200) };
    if (transport) this.log.warn("flush: L1 unreachable; retrying every round", fields);
    // A node refusing our self-transfer for another reason (e.g. insufficient funds for gas)
    // stalls the flush until a human acts.
    else if (stage === "broadcast") this.log.error("flush: self-transfer refused; retrying every round", fields);
    else this.log.warn("flush: L1 request failed; retrying every round", fields);
  }

  healthy(): void {
    if (this.failing !== null) this.log.info("flush: L1 requests succeed again");
    this.failing = null;
  }
}

/** Our self-transfers, one live attempt per slot, across the rounds of one flush. */
class SlotSender {
  private readonly attempts = new Map<number, Attempt>();
  private readonly accepted = new Set<string>();

  constructor(
    private readonly client: PublicClient,
    private readonly account: FlushOptions["account"],
    private readonly chainId: number,
    private readonly log: Logger,
  ) {}

  /** Distinct self-transfers the node accepted. */
  get replaced(): number {
    return this.accepted.size;
  }

  /** One broadcast at slot n. Throws transport and unexpected node errors; the round then ends. */
  async send(n: number, fresh: FeePair, known: FeePair | null): Promise<void> {
    const own = this.attempts.get(n);
    let attempt: Attempt;
    if (own && own.live && !atRisk(own, fresh, known)) {
      // Ours holds the slot and is still includable at today's prices: re-send the identical
      // bytes in case the node dropped it (the answer is normally "already known"). Re-pricing
      // it on every small rise of the estimate would compound +12.5% per round for nothing.
      attempt = own;
    } else {
      const fees = replacementFees(fresh, [known, own]);
      const raw = await this.account.signTransaction({
        type: "eip1559",
        chainId: this.chainId,
        nonce: n,
        to: this.account.address,
        value: 0n,
        gas: SELF_TRANSFER_GAS,
        ...fees,
      });
      attempt = { ...fees, raw, hash: keccak256(raw), live: true };
    }
    this.attempts.set(n, attempt);

    try {
      await this.client.request({ method: "eth_sendRawTransaction", params: [attempt.raw] });
    } catch (e) {
      if (isL1TransportError(e)) throw e; // may or may not have reached the node: stays "live"
      const text = nodeMessage(e);
      if (ALREADY_HELD.test(text)) return;
      if (UNDERPRICED.test(text)) {
        // Something else holds the slot (a batch transaction priced above anything we know,
        // or our own self-transfer from a flush that crashed). Next round bumps over this one.
        attempt.live = false;
        this.log.info("flush: slot held by a higher-priced transaction; will bump", {
          wallet_nonce: n,
          max_fee_per_gas: attempt.maxFeePerGas,
          max_priority_fee_per_gas: attempt.maxPriorityFeePerGas,
          answer: text.slice(0, 120),
        });
        return;
      }
      if (NONCE_USED.test(text)) {
        attempt.live = false;
        return; // mined under us; the next view knows
      }
      attempt.live = false;
      throw e; // e.g. "insufficient funds": logged once per streak by the caller
    }
    if (!this.accepted.has(attempt.hash)) {
      this.accepted.add(attempt.hash);
      this.log.info("flush: self-transfer broadcast", {
        wallet_nonce: n,
        l1_tx_hash: attempt.hash,
        max_fee_per_gas: attempt.maxFeePerGas,
        max_priority_fee_per_gas: attempt.maxPriorityFeePerGas,
        replacing_known: known !== null,
      });
    }
  }
}

/**
 * One view of the wallet. Order matters: the safe count is read first and the pending count
 * last, so (counts being monotonic) `pending <= safe` read this way implies it held at the
 * moment of the safe read.
 */
async function observe(client: PublicClient, address: `0x${string}`, store: SubmitterStore): Promise<View> {
  const safeBlock = (await client.getBlock({ blockTag: "safe" })).number;
  const safe = await client.getTransactionCount({ address, blockNumber: safeBlock });
  const latest = await client.getTransactionCount({ address, blockTag: "latest" });
  const pending = await client.getTransactionCount({ address, blockTag: "pending" });
  return { safeBlock, safe, latest, pending, watermark: store.watermark() };
}

/**
 * Our own live self-transfer needs a replacement only when it could stall: its fee cap or tip
 * is below the plain (not multiplied) fresh estimate, or below a bump over a known batch fee.
 */
export function atRisk(own: FeePair, fresh: FeePair, known: FeePair | null): boolean {
  if (own.maxFeePerGas < fresh.maxFeePerGas || own.maxPriorityFeePerGas < fresh.maxPriorityFeePerGas) return true;
  if (!known) return false;
  return own.maxFeePerGas < bumpFee(known.maxFeePerGas) || own.maxPriorityFeePerGas < bumpFee(known.maxPriorityFeePerGas);
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FlushAbortedError({ cause: signal.reason });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new FlushAbortedError({ cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(t);
      reject(new FlushAbortedError({ cause: signal?.reason }));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function errorKind(e: unknown): string {
  const o = (e ?? {}) as { name?: unknown; code?: unknown };
  return `${String(o.name)}:${String(o.code)}`;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

