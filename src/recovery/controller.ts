/**
 * Liveness recovery (SPEC §6), in process: watch for danger, go offline, flush the wallet's
 * L1 slots, re-sync, cascade-invalidate the doomed suffix, tell the feed, come back online.
 * Every step is idempotent and its progress is durable (`recovery_state`), so a crash at any
 * point resumes the same procedure at the next start, before anything is confirmed.
 */
import type { PrivateKeyAccount, PublicClient } from "viem";
import type { AppHost } from "../app/host.ts";
import { SequencerError } from "../core/errors.ts";
import { recommendedFee } from "../core/fees.ts";
import { shouldOpenNewFrame } from "../core/scheduler-rules.ts";
import type { FeedHub } from "../egress/feed.ts";
import type { InclusionLane } from "../ingress/lane.ts";
import type { InputReader } from "../l1/reader.ts";
import type { BatchSubmitter } from "../l1/submitter.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { Database } from "bun:sqlite";
import { loadBatchPolicy } from "../storage/policy-store.ts";
import type { HistoryQueries } from "../storage/queries.ts";
import type { ReaderStore } from "../storage/reader-store.ts";
import { RecoveryStore, type CascadeResult } from "../storage/recovery-store.ts";
import type { SubmitterStore } from "../storage/submitter-store.ts";
import { assessDanger, dangerHeadroom, type DangerParams, type DangerVerdict, type DangerView } from "./danger.ts";
import { flushWallet, FlushRefusedError } from "./flush.ts";
import { rebuildApp } from "../restore/rebuild.ts";
import type { SnapshotSource } from "../snapshots/source.ts";

export interface RecoveryOptions {
  db: Database;
  lane: InclusionLane;
  submitter: BatchSubmitter;
  reader: InputReader;
  readerStore: ReaderStore;
  submitterStore: SubmitterStore;
  feed: FeedHub;
  app: AppHost;
  /** A fresh instance's dump: the state every rebuild starts from. */
  emptyAppState: Uint8Array;
  history: HistoryQueries;
  snapshots: SnapshotSource;
  client: PublicClient;
  account: PrivateKeyAccount;
  chainId: number;
  params: DangerParams;
  log: Logger;
  checkIntervalMs?: number;
  now?: () => number;
  /** The process must stop (exit 70) and resume the recovery at its next start. */
  onFatal?: (e: RecoveryFatalError) => void;
}

export class RecoveryFatalError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RECOVERY_FATAL", message, options);
  }
}

export interface RecoveryReport {
  reason: string;
  offlineMs: number;
  flush: { replaced: number; rounds: number; safeBlock: number } | null;
  cascade: CascadeResult | null;
}

export class RecoveryController {
  private readonly o: RecoveryOptions;
  private readonly store: RecoveryStore;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<RecoveryReport> | null = null;
  private offlineReason: string | null = null;
  private stopped = false;
  /** A recovery that needs a human stays stopped: no automatic retry loop. */
  private halted = false;
  private readonly abort = new AbortController();
  /** Reports of completed recoveries, newest last (for logs, metrics and tests). */
  readonly history: RecoveryReport[] = [];

  constructor(o: RecoveryOptions) {
    this.o = o;
    this.store = new RecoveryStore(o.db);
  }

  /** Null when confirming is allowed, else why not ("recovering: ..."). */
  get unavailableReason(): string | null {
    return this.offlineReason;
  }

  get generation(): number {
    return this.store.generation();
  }

  /**
   * Runs the startup decision (a recovery left half done resumes; a long downtime may have
   * put a batch in danger), then checks periodically. Returns once the startup decision is
   * taken; a recovery it started goes on in the background with the service offline.
   */
  start(): void {
    const pending = this.store.phase();
    if (pending) {
      this.o.log.warn("resuming an interrupted recovery", { phase: pending.phase, reason: pending.reason });
      void this.recover(pending.reason);
    } else {
      this.check();
    }
    this.timer = setInterval(() => this.check(), this.o.checkIntervalMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  /** One danger assessment; starts a recovery when needed. */
  check(): DangerVerdict {
    const verdict = this.assess();
    if (verdict.state !== "ok" && this.running === null && !this.stopped && !this.halted) {
      void this.recover(describe(verdict));
    }
    return verdict;
  }

  /** Waits for the recovery in progress, if any. */
  async settled(): Promise<RecoveryReport | null> {
    return this.running ? this.running : null;
  }

  /**
   * The lane asks this before confirming a chunk of ops, synchronously, so that a late or
   * stuck periodic check can never let it confirm into a doomed batch. The open batch
   * counts even when empty: the chunk is about to put ops into it (an empty first frame is
   * re-stamped only once the safe head has moved 5 blocks, so it may be old).
   */
  guard(): string | null {
    if (this.offlineReason !== null) return this.offlineReason;
    const verdict = this.assess(true);
    if (verdict.state === "ok") return null;
    if (this.running === null && !this.stopped && !this.halted) void this.recover(describe(verdict));
    return this.offlineReason ?? `recovering: ${describe(verdict)}`;
  }

  /** The danger gauge: blocks left before the batch most at risk reaches the threshold. */
  headroom(): ReturnType<typeof dangerHeadroom> {
    const v = this.dangerView(false);
    return v ? dangerHeadroom(v, this.o.params) : null;
  }

  private assess(openEvenIfEmpty = false): DangerVerdict {
    const v = this.dangerView(openEvenIfEmpty);
    return v ? assessDanger(v, this.o.params) : { state: "ok" };
  }

  /** What the detector judges: the batches at risk, the heads, the clock. Null before any head. */
  private dangerView(openEvenIfEmpty: boolean): DangerView | null {
    const heads = this.o.readerStore.heads();
    if (!heads) return null;
    const view = this.store.dangerView(openEvenIfEmpty);
    // An empty open batch's first frame is re-stamped with the safe head before the first op
    // goes in once the head has moved on (the lane's rotation rule): judge it as it will be.
    if (view.open && !view.open.hasContent && shouldOpenNewFrame(BigInt(view.open.firstSafeBlock), BigInt(heads.safeBlock))) {
      view.open = { ...view.open, firstSafeBlock: heads.safeBlock };
    }
    return {
      safeHead: heads.safeBlock,
      safeAdvancedAtMs: heads.safeAdvancedAtMs,
      nowMs: this.now(),
      unaccepted: view.unaccepted,
      open: view.open,
    };
  }

  private recover(reason: string): Promise<RecoveryReport> {
    if (this.running) return this.running;
    this.running = this.runRecovery(reason).finally(() => {
      this.running = null;
    });
    // Failures are logged where they happen; keep an unobserved rejection from escaping.
    this.running.catch(() => {});
    return this.running;
  }

  private async runRecovery(reason: string): Promise<RecoveryReport> {
    const { lane, submitter, log } = this.o;
    const started = this.now();
    this.offlineReason = `recovering: ${reason}`;
    log.warn("going offline for liveness recovery", { reason });
    lane.pause(this.offlineReason);
    await submitter.stop();
    let phase = this.store.begin(reason, started);
    let flush: RecoveryReport["flush"] = null;
    let failures = 0;
    for (;;) {
      if (this.stopped) throw new Error("recovery interrupted by shutdown");
      try {
        if (phase.phase === "flushing") {
          const r = await flushWallet({
            client: this.o.client,
            account: this.o.account,
            chainId: this.o.chainId,
            store: this.o.submitterStore,
            knownFees: (n) => this.o.submitterStore.knownFees(n),
            log: log.child({ step: "flush" }),
            signal: this.abort.signal,
            pollMs: 300,
          });
          flush = { replaced: r.replaced, rounds: r.rounds, safeBlock: Number(r.safeBlock) };
          this.store.flushed(Number(r.safeBlock));
          phase = this.store.phase()!;
          log.info("wallet flushed", { safe_block: Number(r.safeBlock), replaced: r.replaced, rounds: r.rounds });
        }
        // The cascade must see L1 at least as of the block where every slot was settled.
        const target = phase.flushSafeBlock ?? 0;
        while ((this.o.readerStore.heads()?.safeBlock ?? -1) < target) {
          await this.o.reader.syncOnce();
          if ((this.o.readerStore.heads()?.safeBlock ?? -1) < target) await Bun.sleep(200);
        }
        // A view that is still stale (L1 answers but its safe head does not move) is no
        // ground for confirming again: stay offline until L1 moves or a batch is doomed.
        while (this.assess().state === "stale_view") {
          if (this.stopped) throw new Error("recovery interrupted by shutdown");
          await Bun.sleep(1000);
          await this.o.reader.syncOnce().catch(() => {});
        }
        break;
      } catch (e) {
        if (this.stopped) throw e;
        if (e instanceof FlushRefusedError) {
          // A watermark far above the chain means corrupt state or a foreign key user; paying
          // for hundreds of replacement slots is a decision for a human, not a retry loop.
          this.offlineReason = `recovery needs an operator: ${e.message}`;
          this.halted = true;
          log.error("recovery refused to flush; staying offline until an operator acts", errorFields(e));
          throw e;
        }
        if (failures++ === 0) log.warn("recovery step failed; retrying", errorFields(e));
        await Bun.sleep(Math.min(10_000, 200 * 2 ** Math.min(failures, 6)));
      }
    }
    let cascade: CascadeResult | null;
    try {
      cascade = this.cascadeIfDoomed(reason);
      this.store.end();
    } catch (e) {
      // The cascade's transaction rolled back, or the app or feed failed after it committed.
      // Either way the in-memory state cannot be trusted: stop the process, and the next
      // start resumes from `recovery_state` with the state rebuilt from SQLite.
      this.offlineReason = "recovery failed after the flush; restarting";
      this.halted = true;
      log.error("recovery failed after the flush", errorFields(e));
      this.o.onFatal?.(new RecoveryFatalError(`liveness recovery failed after the flush: ${(e as Error).message}`, { cause: e }));
      throw e;
    }
    const safe = this.o.readerStore.heads()?.safeBlock ?? 0;
    lane.resume(safe);
    submitter.start();
    this.offlineReason = null;
    const report: RecoveryReport = { reason, offlineMs: this.now() - started, flush, cascade };
    this.history.push(report);
    log.warn("back online after liveness recovery", {
      offline_ms: report.offlineMs,
      generation: cascade?.generation ?? this.store.generation(),
      invalidated_batches: cascade?.invalidatedBatches ?? 0,
      invalidated_ops: cascade?.invalidatedOps ?? 0,
      redrained_inputs: cascade?.redrainedInputs ?? 0,
      truncated_at_offset: cascade?.truncatedAtOffset ?? null,
    });
    return report;
  }

  /**
   * With every wallet slot settled and the reader at least at the flush's safe block, the
   * scheduler's next nonce N is final for our purposes: nothing of ours can land any more.
   * If the first live batch from N on is still young enough to land, the submitter simply
   * posts it again; otherwise the whole suffix from N is invalidated and the history cut.
   */
  private cascadeIfDoomed(reason: string): CascadeResult | null {
    const verdict = this.assess();
    const doomed = verdict.state === "danger";
    if (!doomed) {
      this.o.log.info("no batch is doomed after the flush; resuming without invalidation", { verdict: verdict.state });
      return null;
    }
    const heads = this.o.readerStore.heads()!;
    const result = this.store.cascade({
      nextBatchNonce: this.o.readerStore.nextBatchNonce(),
      safeHead: heads.safeBlock,
      fee: recommendedFee(loadBatchPolicy(this.o.db)),
      reason,
      nowMs: this.now(),
    });
    if (!result) return null;
    // The app goes back to the truncated history: newest live snapshot, then replay.
    this.o.app.load(this.o.emptyAppState, { executedInputCount: 0n, clock: 0n });
    rebuildApp(this.o.app, this.o.history, this.o.snapshots, this.o.log);
    this.o.feed.rollback(result.truncatedAtOffset, result.generation);
    this.o.log.warn("cascade invalidated the doomed batches", {
      generation: result.generation,
      first_invalid_nonce: result.firstInvalidNonce,
      truncated_at_offset: result.truncatedAtOffset,
      invalidated_batches: result.invalidatedBatches,
      invalidated_ops: result.invalidatedOps,
      redrained_inputs: result.redrainedInputs,
    });
    return result;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

function describe(v: DangerVerdict): string {
  if (v.state === "danger") {
    return `batch ${v.batchNonce} (${v.which}) is ${v.ageBlocks} blocks old, threshold ${v.thresholdBlocks}`;
  }
  if (v.state === "stale_view") return `L1 view stale for ${Math.round(v.viewAgeMs / 1000)} s (bound ${Math.round(v.boundMs / 1000)} s)`;
  return "ok";
}
