import type { AppHost } from "../app/host.ts";
import { addressFromBytes, bytesToHex } from "../core/bytes.ts";
import { keccak256 } from "../core/keccak.ts";
import { SequencerError } from "../core/errors.ts";
import { ExecutionFailedError, FUEL_PER_CALL } from "../core/execution-limits.ts";
import { batchSizeTargetBytes, maxBatchBytes, recommendedFee, type BatchPolicy } from "../core/fees.ts";
import type { Output, SequencedTx } from "../core/l2tx.ts";
import { coversFrameFee, isDrainableAt, shouldOpenNewFrame } from "../core/scheduler-rules.ts";
import { BATCH_OVERHEAD, encodeBatch, FRAME_OVERHEAD, WIRE_USER_OP_OVERHEAD } from "../core/ssz.ts";
import type { Logger } from "../observability/log.ts";
import type { LaneStore, PendingDirect } from "../storage/lane-store.ts";
import type { HistoryQueries } from "../storage/queries.ts";

/** A user op whose signature has been checked and whose sender is recovered. */
export interface SignedOp {
  sender: `0x${string}`;
  senderBytes: Uint8Array;
  nonce: number;
  maxFee: number;
  data: Uint8Array;
  signature: Uint8Array;
  txHash: Uint8Array;
}

/**
 * The lane admits an op only if validate and apply each used at most 90 % of the fuel
 * budget (not consensus: the scheduler runs every call with the full budget). An op close to
 * the budget could otherwise fail on a replay whose app memory is laid out differently (a
 * restart rebuilds from a dump, docs/decisions.md): the margin keeps every confirmed op far
 * from that edge.
 */
export const ADMISSION_FUEL = (FUEL_PER_CALL * 9n) / 10n;

export type LaneResult =
  | { ok: true; offset: number }
  | { ok: false; code: "EXECUTION_REJECTED" | "UNAVAILABLE" | "INTERNAL_ERROR"; message: string };

export class LaneFatalError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("LANE_FATAL", message, options);
  }
}

export interface LaneOptions {
  store: LaneStore;
  history: HistoryQueries;
  app: AppHost;
  /** Batch submitter address (20 bytes): its inputs are batches, never direct inputs. */
  submitter: Uint8Array;
  policy: () => BatchPolicy;
  maxBatchOpenMs: number;
  /** Ops admitted (reserved) but not yet answered; beyond this, callers get 429. */
  queueCapacity: number;
  /** Upper bound of ops per group commit. */
  maxChunk: number;
  now: () => number;
  log: Logger;
  /** Called after each commit with the new history entries, in order. */
  onCommitted: (entries: SequencedTx[]) => void;
  /**
   * Called after each committed chunk with how long its transaction held the lane (execution
   * plus COMMIT, which includes the fsync) and how many ops it answered.
   */
  onCommitTimed?: (seconds: number, ops: number) => void;
  /** Called once if the lane can no longer guarantee consistency; the process must stop. */
  onFatal: (e: LaneFatalError) => void;
  /**
   * Asked once per chunk that holds ops, before any is confirmed: a reason not to confirm
   * now (liveness recovery's synchronous danger check), or null.
   */
  guard?: () => string | null;
  /**
   * Called inside the transaction that seals batch `batchId`, with the app state covering
   * exactly the first `l2TxIndex` history entries (the snapshot hook, src/snapshots). A throw
   * rolls the seal back and fails the lane. What it returns runs after that transaction has
   * committed, and never if it rolls back.
   */
  onSeal?: (batchId: number, l2TxIndex: number, nowMs: number) => (() => void) | void;
}

interface Pending {
  op: SignedOp;
  resolve: (r: LaneResult) => void;
}

interface OpenBatch {
  batchId: number;
  nonce: number;
  openedAtMs: number;
  frameCount: number;
  userOpCount: number;
  /** Direct inputs drained into this batch's frames. */
  directCount: number;
  projectedBytes: number;
}

interface OpenFrame {
  frameId: number;
  frameIndex: number;
  safeBlock: number;
  fee: number;
  /** Ops plus drained directs: an empty frame has been published nowhere yet. */
  entries: number;
}

export interface LaneSnapshot {
  batchNonce: number;
  frameSafeBlock: number;
  frameFee: number;
  nextOffset: number;
  queueDepth: number;
}

/**
 * The inclusion lane: the single writer of the L2 order. It executes ops against the app,
 * groups them into one SQLite transaction per chunk, and answers every op of the chunk only
 * after that transaction has committed. Frame and batch rotation happen inside the same
 * transactions, so the stored order is always one the scheduler can reproduce.
 */
export class InclusionLane {
  private readonly o: LaneOptions;
  private queue: Pending[] = [];
  private reserved = 0;
  private scheduled = false;
  /** Group-commit statistics: transactions committed and ops answered by them. */
  commits = 0;
  committedOps = 0;
  private failed: LaneFatalError | null = null;
  private stopped = false;
  /** Set while liveness recovery runs: no op is taken and no batch closes. */
  private pausedReason: string | null = null;
  private batch!: OpenBatch;
  private frame!: OpenFrame;
  private nextOffset = 0;
  private lastDrainedInput = -1;
  private safeHead: number;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** onSeal continuations of the transaction under way. */
  private afterCommit: (() => void)[] = [];
  /**
   * The open frame may have directs at or below its safe block not drained yet: only the
   * genesis frame, stamped with a safe head whose inputs were read before the lane existed.
   */
  private drainPending = false;
  /** Sampled from storage when a frame opens; operators change it with SQL. */
  private policy!: BatchPolicy;

  /**
   * Restores the lane's tips from storage. When no batch exists yet, the root batch (nonce 0)
   * opens with its first frame at `safeHead`, which the reader must have established.
   */
  constructor(opts: LaneOptions, safeHead: number) {
    this.o = opts;
    this.safeHead = safeHead;
    this.policy = opts.policy();
    this.restore();
  }

  /** Starts the timer that closes batches that have been open too long. */
  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  /**
   * Checks, soon, whether the open batch must close on time or directs must be drained; the
   * timer calls this every second. Callers with their own clock (simulations) call it after
   * moving the clock.
   */
  tick(): void {
    this.schedule();
  }

  /** Stops accepting work; queued ops are answered UNAVAILABLE. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const queued = this.queue.splice(0);
    this.reserved -= queued.length;
    for (const p of queued) {
      p.resolve({ ok: false, code: "UNAVAILABLE", message: "shutting down" });
    }
  }

  /**
   * Stops confirming: queued ops are answered UNAVAILABLE with `reason`, new ones too, and no
   * batch closes or frame opens until `resume`. Reads of the app keep working.
   */
  pause(reason: string): void {
    this.pausedReason = reason;
    const queued = this.queue.splice(0);
    this.reserved -= queued.length;
    for (const p of queued) p.resolve({ ok: false, code: "UNAVAILABLE", message: reason });
  }

  /**
   * Re-reads the lane's tips from storage after recovery rewrote them (a cascade reopens the
   * batch at the first invalidated nonce) and starts taking ops again. The caller has already
   * rebuilt the app to the truncated history.
   */
  resume(safeHead: number): void {
    this.safeHead = Math.max(this.safeHead, safeHead);
    this.policy = this.o.policy();
    this.restore();
    this.pausedReason = null;
    this.schedule();
  }

  get paused(): string | null {
    return this.pausedReason;
  }

  /** Claims a queue slot before the expensive signature recovery; false means 429. */
  tryReserve(): boolean {
    if (this.reserved >= this.o.queueCapacity) return false;
    this.reserved++;
    return true;
  }

  /** Gives back a slot whose op never reached `submit` (e.g. a bad signature). */
  release(): void {
    this.reserved--;
  }

  /** Queues an op that holds a reservation. The promise settles after the commit. */
  submit(op: SignedOp): Promise<LaneResult> {
    if (this.failed || this.stopped || this.pausedReason !== null) {
      this.reserved--;
      return Promise.resolve({
        ok: false,
        code: "UNAVAILABLE",
        message: this.stopped ? "shutting down" : (this.pausedReason ?? "inclusion lane failed"),
      });
    }
    return new Promise((resolve) => {
      this.queue.push({ op, resolve });
      this.schedule();
    });
  }

  /** The reader established a new safe head; directs may now be drained. */
  observeSafeHead(safeBlock: number): void {
    if (safeBlock > this.safeHead) {
      this.safeHead = safeBlock;
      this.schedule();
    }
  }

  get queueDepth(): number {
    return this.reserved;
  }

  get headOffset(): number {
    return this.nextOffset;
  }

  get isHealthy(): boolean {
    return this.failed === null && !this.stopped;
  }

  snapshot(): LaneSnapshot {
    return {
      batchNonce: this.batch.nonce,
      frameSafeBlock: this.frame.safeBlock,
      frameFee: this.frame.fee,
      nextOffset: this.nextOffset,
      queueDepth: this.reserved,
    };
  }

  /** The fee of the open frame: what an op admitted right now would pay. */
  get currentFee(): number {
    return this.frame.fee;
  }

  private schedule(): void {
    if (this.scheduled || this.failed || this.stopped || this.pausedReason !== null) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  /**
   * Group commit without artificial delay: a turn commits every op queued so far (up to
   * maxChunk) in one transaction. Under load the group sizes itself: while a commit's fsync
   * holds this thread, new requests wait in the sockets and finished recoveries in the
   * worker queue, and the next turn takes them all. Holding ops back on purpose (for ops
   * still in recovery, or a linger after a busy commit) was measured to cost throughput and
   * median latency: it makes the signature worker and the lane take turns instead of
   * overlapping (docs/perf-log.md).
   */
  private turn(): void {
    this.scheduled = false;
    this.runChunk();
    if (this.queue.length > 0) this.schedule();
  }

  private runChunk(): void {
    if (this.failed || this.stopped || this.pausedReason !== null) return;
    const chunk = this.queue.splice(0, this.o.maxChunk);
    const now = this.o.now();
    const entries: SequencedTx[] = [];
    const answers: { p: Pending; r: LaneResult }[] = [];
    const wantsRotation = shouldOpenNewFrame(BigInt(this.frame.safeBlock), BigInt(this.safeHead));
    // A batch holding anything (ops or drained directs) must reach L1 well before its first
    // frame goes stale; one holding nothing has nothing to post.
    const wantsTimeClose =
      this.batch.userOpCount + this.batch.directCount > 0 &&
      now - this.batch.openedAtMs >= this.o.maxBatchOpenMs;
    if (
      chunk.length === 0 &&
      !wantsTimeClose &&
      !this.drainPending &&
      !(wantsRotation && this.hasPendingDirects())
    ) {
      return;
    }
    if (chunk.length > 0 && this.o.guard) {
      const refusal = this.o.guard();
      if (refusal !== null) {
        // The guard may have paused the lane already (starting a recovery); either way none
        // of these ops is confirmed.
        this.reserved -= chunk.length;
        for (const p of chunk) p.resolve({ ok: false, code: "UNAVAILABLE", message: refusal });
        return;
      }
    }
    // Tips are copied so that a failed transaction leaves the in-memory view untouched.
    const started = performance.now();
    const saved = { batch: { ...this.batch }, frame: { ...this.frame }, nextOffset: this.nextOffset, lastDrained: this.lastDrainedInput };
    try {
      this.o.store.transaction(() => {
        // The frame's own safe block first (genesis), so no op can overtake those directs.
        if (this.drainPending) this.drainUpTo(this.frame.safeBlock, entries);
        if (wantsTimeClose) this.closeBatch(now);
        if (wantsRotation && (chunk.length > 0 || this.hasPendingDirects())) {
          this.openFrame(now, entries);
        }
        for (const p of chunk) answers.push({ p, r: this.include(p.op, now, entries) });
      });
    } catch (e) {
      this.afterCommit = [];
      this.batch = saved.batch;
      this.frame = saved.frame;
      this.nextOffset = saved.nextOffset;
      this.lastDrainedInput = saved.lastDrained;
      this.fail(e, chunk);
      return;
    }
    this.o.onCommitTimed?.((performance.now() - started) / 1000, chunk.length);
    for (const f of this.afterCommit.splice(0)) f();
    this.reserved -= chunk.length;
    this.commits++;
    this.committedOps += chunk.length;
    for (const { p, r } of answers) p.resolve(r);
    if (entries.length > 0) this.o.onCommitted(entries);
  }

  /** Validates and executes one op inside the chunk's transaction. */
  private include(op: SignedOp, now: number, entries: SequencedTx[]): LaneResult {
    const app = this.o.app;
    if (!coversFrameFee(op.maxFee, this.frame.fee)) {
      return {
        ok: false,
        code: "EXECUTION_REJECTED",
        message: `max_fee ${op.maxFee} is below the current frame fee ${this.frame.fee}`,
      };
    }
    const verdict = app.validate(op.sender, op.nonce, this.frame.fee, op.data, {
      safeBlock: BigInt(this.frame.safeBlock),
      admissionFuel: ADMISSION_FUEL,
    });
    if (!verdict.ok) {
      if (verdict.failure !== undefined) this.logFailure(op, "validate", verdict.failure, verdict.reason);
      return { ok: false, code: "EXECUTION_REJECTED", message: verdict.reason };
    }

    const opBytes = WIRE_USER_OP_OVERHEAD + op.data.length;
    if (
      this.batch.userOpCount > 0 &&
      this.batch.projectedBytes + opBytes > maxBatchBytes(this.policy)
    ) {
      this.closeBatch(now);
    }
    let outputs: readonly Output[];
    try {
      outputs = app.applyUserOp(op.sender, op.nonce, this.frame.fee, op.data, BigInt(this.frame.safeBlock), ADMISSION_FUEL);
    } catch (e) {
      if (!(e instanceof ExecutionFailedError)) throw e;
      // SPEC 2.8: the app is already back to its state before the op; nothing is stored.
      this.logFailure(op, e.call, e.failure, e.message);
      return { ok: false, code: "EXECUTION_REJECTED", message: e.message };
    }
    this.o.store.insertUserOp({
      frameId: this.frame.frameId,
      sender: op.senderBytes,
      nonce: op.nonce,
      maxFee: op.maxFee,
      data: op.data,
      signature: op.signature,
      txHash: op.txHash,
      acceptedAtMs: now,
      outputs,
    });
    const offset = this.nextOffset++;
    entries.push({
      kind: "user_op",
      offset,
      sender: op.sender,
      fee: this.frame.fee,
      data: op.data,
      nonce: op.nonce,
      txHash: op.txHash,
      outputs,
    });
    this.batch.userOpCount++;
    this.frame.entries++;
    this.batch.projectedBytes += opBytes;
    if (this.batch.projectedBytes >= batchSizeTargetBytes(this.policy)) this.closeBatch(now);
    return { ok: true, offset };
  }

  /** One structured line per failing op: who sent it, which op, and how it failed. */
  private logFailure(op: SignedOp, call: string, failure: string, message: string): void {
    this.o.log.warn("op refused: the app failed executing it", {
      sender: op.sender,
      tx_hash: bytesToHex(op.txHash),
      call,
      failure,
      reason: message,
    });
  }

  /**
   * Opens a frame stamped with the safe head and drains every newly safe direct input into
   * it, before any op. An open frame that is still empty is re-stamped instead: nothing has
   * referenced it, and a batch whose first frame kept an old safe block through an idle
   * period would land stale.
   */
  private openFrame(now: number, entries: SequencedTx[]): void {
    this.policy = this.o.policy();
    const fee = recommendedFee(this.policy);
    if (this.frame.entries === 0) {
      this.o.store.restampFrame(this.frame.frameId, this.safeHead, fee);
      this.frame = { ...this.frame, safeBlock: this.safeHead, fee };
    } else {
      const frameIndex = this.frame.frameIndex + 1;
      const frameId = this.o.store.openFrame(this.batch.batchId, frameIndex, this.safeHead, fee, now);
      this.frame = { frameId, frameIndex, safeBlock: this.safeHead, fee, entries: 0 };
      this.batch.frameCount++;
      this.batch.projectedBytes += FRAME_OVERHEAD;
    }
    this.drainUpTo(this.safeHead, entries);
  }

  /** Executes every not yet drained direct input with block <= `safeBlock` into the open frame. */
  private drainUpTo(safeBlock: number, entries: SequencedTx[]): void {
    const frameId = this.frame.frameId;
    for (const d of this.drainable(safeBlock)) {
      const sender = addressFromBytes(d.sender);
      // An app failure makes the input an included no-op (SPEC 2.8); it is still sequenced.
      const { outputs, failure } = this.o.app.applyDirectInput(sender, BigInt(d.blockNumber), d.payload);
      if (failure !== null) {
        this.o.log.warn("direct input included as a no-op: the app failed executing it", {
          input_index: d.inputIndex,
          sender,
          failure,
        });
      }
      const offset = this.nextOffset++;
      this.o.store.insertDirect(offset, d.inputIndex, frameId);
      this.o.store.insertDirectOutputs(offset, outputs, failure);
      this.lastDrainedInput = d.inputIndex;
      this.frame.entries++;
      this.batch.directCount++;
      entries.push({
        kind: "direct_input",
        offset,
        sender,
        blockNumber: d.blockNumber,
        inputIndex: d.inputIndex,
        payload: d.payload,
        outputs,
        failure,
      });
    }
    this.drainPending = false;
  }

  /**
   * Seals the open batch (stamping the hash of its exact L1 payload) and opens its child with
   * a first frame at the same safe block, as SPEC §2.5 requires.
   */
  private closeBatch(now: number): void {
    const contents = this.o.history.batchContents(this.batch.batchId, this.batch.nonce);
    const sealedHash = keccak256(encodeBatch(contents));
    this.o.store.closeBatch(this.batch.batchId, now, sealedHash);
    const then = this.o.onSeal?.(this.batch.batchId, this.nextOffset, now);
    if (then) this.afterCommit.push(then);
    this.o.log.info("batch closed", {
      nonce: this.batch.nonce,
      user_ops: this.batch.userOpCount,
      direct_inputs: this.batch.directCount,
      frames: this.batch.frameCount,
      bytes: this.batch.projectedBytes,
    });
    const parentId = this.batch.batchId;
    const nonce = this.batch.nonce + 1;
    const batchId = this.o.store.openBatch(nonce, parentId, now);
    this.policy = this.o.policy();
    const fee = recommendedFee(this.policy);
    const frameId = this.o.store.openFrame(batchId, 0, this.frame.safeBlock, fee, now);
    this.batch = {
      batchId,
      nonce,
      openedAtMs: now,
      frameCount: 1,
      userOpCount: 0,
      directCount: 0,
      projectedBytes: BATCH_OVERHEAD + FRAME_OVERHEAD,
    };
    this.frame = { frameId, frameIndex: 0, safeBlock: this.frame.safeBlock, fee, entries: 0 };
  }

  private hasPendingDirects(): boolean {
    return this.drainable(this.safeHead).length > 0;
  }

  /**
   * The undrained directs a frame stamped `safeBlock` drains, by the scheduler's own rule.
   * Inputs come in L1 order (block numbers never decrease), so the first one above the
   * frame's safe block ends the run.
   */
  private drainable(safeBlock: number): PendingDirect[] {
    const out: PendingDirect[] = [];
    for (const d of this.o.store.undrainedDirects(this.lastDrainedInput, this.o.submitter)) {
      if (!isDrainableAt(BigInt(d.blockNumber), BigInt(safeBlock))) break;
      out.push(d);
    }
    return out;
  }

  private restore(): void {
    const s = this.o.store;
    this.nextOffset = s.nextOffset();
    this.lastDrainedInput = s.lastDrainedInputIndex();
    let open = s.openBatchRow();
    if (!open) {
      if (s.lastLiveBatch()) {
        throw new LaneFatalError("storage has closed batches but no open batch; refusing to guess");
      }
      const now = this.o.now();
      s.transaction(() => {
        const batchId = s.openBatch(0, null, now);
        s.openFrame(batchId, 0, this.safeHead, recommendedFee(this.policy), now);
      });
      open = s.openBatchRow()!;
    }
    const frame = s.lastFrame(open.batchId);
    if (!frame) throw new LaneFatalError(`open batch ${open.nonce} has no frame`);
    this.drainPending = this.drainable(frame.safeBlock).length > 0;
    const shape = s.batchShape(open.batchId);
    this.batch = {
      batchId: open.batchId,
      nonce: open.nonce,
      openedAtMs: open.openedAtMs,
      frameCount: shape.frameCount,
      userOpCount: shape.userOpCount,
      directCount: shape.directCount,
      projectedBytes:
        BATCH_OVERHEAD +
        FRAME_OVERHEAD * shape.frameCount +
        WIRE_USER_OP_OVERHEAD * shape.userOpCount +
        shape.dataBytes,
    };
    this.frame = {
      frameId: frame.frameId,
      frameIndex: frame.frameIndex,
      safeBlock: frame.safeBlock,
      fee: frame.fee,
      entries: s.frameEntries(frame.frameId),
    };
  }

  private fail(e: unknown, chunk: Pending[]): void {
    const err =
      e instanceof LaneFatalError
        ? e
        : new LaneFatalError(`inclusion lane commit failed: ${(e as Error).message}`, { cause: e });
    this.failed = err;
    this.o.log.error("inclusion lane failed; app state may be ahead of storage", { error: err });
    const all = [...chunk, ...this.queue.splice(0)];
    this.reserved -= all.length;
    for (const p of all) {
      p.resolve({ ok: false, code: "INTERNAL_ERROR", message: "inclusion lane failed" });
    }
    this.o.onFatal(err);
  }
}
