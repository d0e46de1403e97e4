/**
 * The canonical scheduler (SPEC §2.4): what the rollup executes on-chain, given the app's
 * InputBox inputs in L1 order. Pure and incremental: no I/O, no clock, no randomness; feed it
 * one input at a time with `processInput` and observe what it executed through `onExecuted`
 * (entries shaped exactly like the live feed's, see core/l2tx.ts) and what it decided about
 * each batch through `onBatchVerdict` / the return value.
 *
 * The batch gates (rules 3–7) are `judgeBatch` (core/batch-acceptance.ts) and the block
 * arithmetic is core/scheduler-rules.ts; this module only sequences them. Nothing here is
 * re-implemented elsewhere: the replay verifier folds L1 through this class, and the
 * property tests drive it side by side with the live lane.
 *
 * Failure model:
 * - anything an attacker can put on L1 (garbage payloads, bad signatures, ops the app
 *   rejects, batches at wrong nonces) is a verdict or a silent skip, never an exception;
 * - an app *failure* (SPEC 2.8: trap, fuel, depth, memory cap, non-zero result) is not
 *   fatal either: a user op that fails in validate or apply is skipped ("app_failed"), a
 *   direct input that fails is an included no-op. The app restores itself before either;
 * - any other exception from the app (AppFatalError: no successor state exists) surfaces
 *   as SchedulerFatalError and the instance is dead;
 * - inputs fed out of L1 order (a block number going backwards, an input index not
 *   increasing) are a caller bug: SchedulerInputError, state untouched.
 */
import { describeVerdict, judgeBatch, type BatchVerdict } from "./batch-acceptance.ts";
import { hexToBytes, type Address } from "./bytes.ts";
import { userOpDigest } from "./eip712.ts";
import { SequencerError, SignatureError } from "./errors.ts";
import { ExecutionFailedError, type FailureClass } from "./execution-limits.ts";
import type { Output, SequencedDirectInput, SequencedUserOp } from "./l2tx.ts";
import { coversFrameFee, isBatchInput, isDrainableAt, isForcedByBackstop } from "./scheduler-rules.ts";
import { recoverSigner, type Recoverer } from "./signature.ts";
import { txHash, type Batch } from "./ssz.ts";

// ---- the app, as the scheduler needs it (AppHost satisfies this) --------------------------

/** `failure` set: validate failed (SPEC 2.8) rather than rejected. */
export type SchedulerValidation = { ok: true } | { ok: false; reason: string; failure?: FailureClass };

export interface SchedulerApp {
  /** `safeBlock`: the block the op would be applied at (the app's clock in validate, env.clock). */
  validate(sender: Address, nonce: number, fee: number, data: Uint8Array, options: { safeBlock: bigint }): SchedulerValidation;
  /** The op's outputs; throws ExecutionFailedError when the app fails (it has restored itself). */
  applyUserOp(sender: Address, nonce: number, fee: number, data: Uint8Array, safeBlock: bigint): readonly Output[];
  /** Never throws for an app failure: the input is then an included no-op without outputs. */
  applyDirectInput(sender: Address, block: bigint, payload: Uint8Array): { outputs: readonly Output[]; failure: FailureClass | null };
}

// ---- inputs and outputs --------------------------------------------------------------------

/** One InputBox input of the app, as L1 ordered it. */
export interface SchedulerInput {
  /** `msgSender` of the input (any case; compared case-insensitively). */
  sender: Address;
  inclusionBlock: bigint;
  payload: Uint8Array;
  /** The InputBox index of this input for the app. */
  inputIndex: number;
}

export interface QueuedDirect {
  sender: Address;
  blockNumber: bigint;
  inputIndex: number;
  payload: Uint8Array;
}

/** An executed user op: the feed entry plus where it came from on L1. */
export type ExecutedUserOp = SequencedUserOp & {
  batchNonce: bigint;
  /** InputBox index of the batch that carried it. */
  batchInputIndex: number;
  frameIndex: number;
  /** Position of the op in its frame's wire list (skipped ops included). */
  opIndex: number;
};

/** An executed direct input: the feed entry plus why it ran now. */
export type ExecutedDirectInput = SequencedDirectInput & {
  /** "drained" by a frame (rule 8) or "forced" by the backstop (rule 1). */
  cause: "drained" | "forced";
  /** Set when the app failed on it: an included no-op (SPEC 2.8). */
  failure: FailureClass | null;
};

/**
 * One entry of the executed sequence. Structurally a `SequencedTx`, so `feedMessage(entry)`
 * renders exactly what the live feed sends for the same entry.
 */
export type ExecutedEntry = ExecutedUserOp | ExecutedDirectInput;

export type BatchVerdictKind = BatchVerdict["kind"];

export interface BatchVerdictRecord {
  inputIndex: number;
  inclusionBlock: bigint;
  verdict: BatchVerdictKind;
  /** The batch's nonce; null when the payload did not decode. */
  nonce: bigint | null;
  /** Why it was not accepted; null when accepted. */
  detail: string | null;
}

export type SkipReason = "bad_signature" | "fee_below_frame" | "app_rejected" | "app_failed";

export interface SkippedOp {
  /** The offset the op would have had: entries executed before it. */
  offset: number;
  frameIndex: number;
  opIndex: number;
  reason: SkipReason;
  detail: string;
  /** The recovered signer; absent when the signature itself was bad. */
  sender?: Address;
}

export type InputOutcome =
  | { kind: "direct"; inputIndex: number; forced: number }
  | {
      kind: "batch";
      inputIndex: number;
      /** Directs executed by the backstop before this input (rule 1). */
      forced: number;
      verdict: BatchVerdictRecord;
      /** Only non-zero when accepted. */
      drained: number;
      executedUserOps: number;
      skipped: SkippedOp[];
    };

export interface SchedulerOptions {
  app: SchedulerApp;
  /** Inputs from this address are batches; every other input is a direct input. */
  batchSubmitter: Address;
  /** EIP-712 domain separator of (chain id, app address): core/eip712.ts domainSeparator. */
  domainSeparator: Uint8Array;
  /** Called after each execution, in order, with the app already advanced past the entry. */
  onExecuted?: (e: ExecutedEntry) => void;
  /** Called once per batch input with its verdict. */
  onBatchVerdict?: (v: BatchVerdictRecord) => void;
  /** Signature recovery; defaults to core/signature.ts recoverSigner. */
  recover?: Recoverer;
}

export interface SchedulerCounters {
  inputs: number;
  directInputs: number;
  batches: Record<BatchVerdictKind, number>;
  executedUserOps: number;
  executedDirectInputs: number;
  forcedDirectInputs: number;
  /** Direct inputs the app failed on (included no-ops, SPEC 2.8). */
  failedDirectInputs: number;
  skippedOps: Record<SkipReason, number>;
}

// ---- errors ----------------------------------------------------------------------------------

/** The app failed (not rejected) while executing: no successor state exists. */
export class SchedulerFatalError extends SequencerError {
  readonly inputIndex: number;
  constructor(inputIndex: number, message: string, options?: { cause?: unknown }) {
    super("SCHEDULER_APP_FATAL", message, options);
    this.inputIndex = inputIndex;
  }
}

/** The caller broke the API contract (inputs out of L1 order, use after a fatal error). */
export class SchedulerInputError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SCHEDULER_INPUT_ERROR", message, options);
  }
}

// ---- the scheduler -----------------------------------------------------------------------------

export class Scheduler {
  readonly #app: SchedulerApp;
  readonly #submitterBytes: Uint8Array;
  readonly #domainSep: Uint8Array;
  readonly #recover: Recoverer;
  readonly #onExecuted: ((e: ExecutedEntry) => void) | undefined;
  readonly #onBatchVerdict: ((v: BatchVerdictRecord) => void) | undefined;

  // FIFO of queued direct inputs: #queue[#head..] (compacted now and then)
  #queue: QueuedDirect[] = [];
  #head = 0;
  #nextBatchNonce = 0n;
  #executed = 0;
  #lastBlock = -1n;
  #lastIndex = -1;
  #dead: SchedulerFatalError | null = null;
  readonly #verdicts: BatchVerdictRecord[] = [];
  readonly #counters: SchedulerCounters = {
    inputs: 0,
    directInputs: 0,
    batches: { accepted: 0, malformed: 0, wrong_nonce: 0, invalid_structure: 0, stale: 0 },
    executedUserOps: 0,
    executedDirectInputs: 0,
    forcedDirectInputs: 0,
    failedDirectInputs: 0,
    skippedOps: { bad_signature: 0, fee_below_frame: 0, app_rejected: 0, app_failed: 0 },
  };

  constructor(o: SchedulerOptions) {
    if (!(o.domainSeparator instanceof Uint8Array) || o.domainSeparator.length !== 32) {
      throw new SchedulerInputError("domainSeparator must be 32 bytes");
    }
    if (!/^0x[0-9a-fA-F]{40}$/.test(o.batchSubmitter)) {
      throw new SchedulerInputError(`batchSubmitter must be a 20-byte hex address, got ${o.batchSubmitter}`);
    }
    this.#app = o.app;
    this.#submitterBytes = hexToBytes(o.batchSubmitter, 20);
    this.#domainSep = o.domainSeparator;
    this.#recover = o.recover ?? recoverSigner;
    this.#onExecuted = o.onExecuted;
    this.#onBatchVerdict = o.onBatchVerdict;
  }

  /** The nonce the next batch must carry to be accepted. */
  get nextBatchNonce(): bigint {
    return this.#nextBatchNonce;
  }

  /** Entries executed so far; also the offset the next entry gets. */
  get executedCount(): number {
    return this.#executed;
  }

  get queuedDirectCount(): number {
    return this.#queue.length - this.#head;
  }

  /** A copy of the queued direct inputs, oldest first. */
  queuedDirects(): QueuedDirect[] {
    return this.#queue.slice(this.#head);
  }

  /** Every batch verdict so far, in L1 order (a copy). */
  verdicts(): BatchVerdictRecord[] {
    return this.#verdicts.slice();
  }

  /** Running totals (a copy). */
  counters(): SchedulerCounters {
    const c = this.#counters;
    return { ...c, batches: { ...c.batches }, skippedOps: { ...c.skippedOps } };
  }

  /** The last block number and input index processed (-1 before the first input). */
  get position(): { inclusionBlock: bigint; inputIndex: number } {
    return { inclusionBlock: this.#lastBlock, inputIndex: this.#lastIndex };
  }

  /** The fatal error that killed this instance, if any. */
  get fatal(): SchedulerFatalError | null {
    return this.#dead;
  }

  /**
   * Applies SPEC §2.4 to one input.
   * @throws SchedulerFatalError when the app fails (the instance is then dead);
   *         SchedulerInputError when inputs arrive out of L1 order or after a fatal error.
   */
  processInput(input: SchedulerInput): InputOutcome {
    if (this.#dead) {
      throw new SchedulerInputError(`scheduler is dead after a fatal app error: ${this.#dead.message}`, {
        cause: this.#dead,
      });
    }
    const block = input.inclusionBlock;
    if (typeof block !== "bigint" || block < 0n) {
      throw new SchedulerInputError(`input ${input.inputIndex}: inclusion block must be a non-negative bigint`);
    }
    if (block < this.#lastBlock) {
      throw new SchedulerInputError(
        `input ${input.inputIndex} at block ${block} comes after block ${this.#lastBlock}: inputs must be in L1 order`,
      );
    }
    if (!Number.isSafeInteger(input.inputIndex) || input.inputIndex <= this.#lastIndex) {
      throw new SchedulerInputError(
        `input index ${input.inputIndex} does not follow ${this.#lastIndex}: inputs must be in L1 order`,
      );
    }
    this.#lastBlock = block;
    this.#lastIndex = input.inputIndex;
    this.#counters.inputs++;

    // Rule 1: the backstop runs first, whatever the input is.
    let forced = 0;
    for (;;) {
      const oldest = this.#queue[this.#head];
      if (oldest === undefined || !isForcedByBackstop(block, oldest.blockNumber)) break;
      this.#dequeue();
      this.#executeDirect(oldest, "forced", input.inputIndex);
      forced++;
    }

    // Rule 2: classification by sender only.
    if (!isBatchInput(hexToBytes(input.sender, 20), this.#submitterBytes)) {
      this.#counters.directInputs++;
      this.#queue.push({
        sender: input.sender.toLowerCase() as Address,
        blockNumber: block,
        inputIndex: input.inputIndex,
        payload: input.payload,
      });
      return { kind: "direct", inputIndex: input.inputIndex, forced };
    }

    // Rules 3–7: the gates, in their canonical order.
    const v = judgeBatch(input.payload, block, this.#nextBatchNonce);
    const record: BatchVerdictRecord = {
      inputIndex: input.inputIndex,
      inclusionBlock: block,
      verdict: v.kind,
      nonce: v.kind === "malformed" ? null : v.nonce,
      detail: describeVerdict(v),
    };
    const outcome: InputOutcome = {
      kind: "batch",
      inputIndex: input.inputIndex,
      forced,
      verdict: record,
      drained: 0,
      executedUserOps: 0,
      skipped: [],
    };
    if (v.kind === "accepted") {
      // Rule 8 (an empty batch, rule 5, executes nothing), then the nonce advances.
      this.#executeBatch(v.batch, input.inputIndex, outcome);
      this.#nextBatchNonce += 1n;
    }
    this.#counters.batches[v.kind]++;
    this.#verdicts.push(record);
    this.#onBatchVerdict?.(record);
    return outcome;
  }

  // ---- rule 8 ------------------------------------------------------------------------------

  #executeBatch(batch: Batch, batchInputIndex: number, out: Extract<InputOutcome, { kind: "batch" }>): void {
    for (let f = 0; f < batch.frames.length; f++) {
      const frame = batch.frames[f]!;
      // drain every queued direct with block <= safe_block, FIFO
      for (;;) {
        const oldest = this.#queue[this.#head];
        if (oldest === undefined || !isDrainableAt(oldest.blockNumber, frame.safeBlock)) break;
        this.#dequeue();
        this.#executeDirect(oldest, "drained", batchInputIndex);
        out.drained++;
      }
      for (let i = 0; i < frame.userOps.length; i++) {
        const op = frame.userOps[i]!;
        let sender: Address;
        try {
          sender = this.#recover(userOpDigest(this.#domainSep, op.nonce, op.maxFee, op.data), op.signature);
        } catch (e) {
          if (!(e instanceof SignatureError)) throw e;
          this.#skip(out, { frameIndex: f, opIndex: i, reason: "bad_signature", detail: e.message });
          continue;
        }
        if (!coversFrameFee(op.maxFee, frame.feePrice)) {
          this.#skip(out, {
            frameIndex: f,
            opIndex: i,
            reason: "fee_below_frame",
            detail: `max_fee ${op.maxFee} is below the frame fee ${frame.feePrice}`,
            sender,
          });
          continue;
        }
        let verdict: SchedulerValidation;
        try {
          verdict = this.#app.validate(sender, op.nonce, frame.feePrice, op.data, { safeBlock: frame.safeBlock });
        } catch (e) {
          throw this.#die(batchInputIndex, "validate", e);
        }
        if (!verdict.ok) {
          const reason = verdict.failure !== undefined ? "app_failed" : "app_rejected";
          this.#skip(out, { frameIndex: f, opIndex: i, reason, detail: verdict.reason, sender });
          continue;
        }
        let outputs: readonly Output[];
        try {
          outputs = this.#app.applyUserOp(sender, op.nonce, frame.feePrice, op.data, frame.safeBlock);
        } catch (e) {
          if (!(e instanceof ExecutionFailedError)) throw this.#die(batchInputIndex, "apply_user_op", e);
          // SPEC 2.8: like a rejection; nonce, fee, count and clock unchanged
          this.#skip(out, { frameIndex: f, opIndex: i, reason: "app_failed", detail: e.message, sender });
          continue;
        }
        out.executedUserOps++;
        this.#counters.executedUserOps++;
        const entry: ExecutedUserOp = {
          kind: "user_op",
          offset: this.#executed++,
          sender,
          fee: frame.feePrice,
          data: op.data,
          nonce: op.nonce,
          txHash: txHash(op),
          outputs,
          batchNonce: batch.nonce,
          batchInputIndex,
          frameIndex: f,
          opIndex: i,
        };
        this.#onExecuted?.(entry);
      }
    }
  }

  #executeDirect(d: QueuedDirect, cause: "drained" | "forced", atInputIndex: number): void {
    let result: { outputs: readonly Output[]; failure: FailureClass | null };
    try {
      result = this.#app.applyDirectInput(d.sender, d.blockNumber, d.payload);
    } catch (e) {
      throw this.#die(atInputIndex, `apply_direct_input (input ${d.inputIndex})`, e);
    }
    const failure = result.failure;
    this.#counters.executedDirectInputs++;
    if (failure !== null) this.#counters.failedDirectInputs++;
    if (cause === "forced") this.#counters.forcedDirectInputs++;
    const entry: ExecutedDirectInput = {
      kind: "direct_input",
      offset: this.#executed++,
      sender: d.sender,
      blockNumber: Number(d.blockNumber),
      inputIndex: d.inputIndex,
      payload: d.payload,
      outputs: result.outputs,
      failure,
      cause,
    };
    this.#onExecuted?.(entry);
  }

  #skip(out: Extract<InputOutcome, { kind: "batch" }>, s: Omit<SkippedOp, "offset">): void {
    this.#counters.skippedOps[s.reason]++;
    out.skipped.push({ offset: this.#executed, ...s });
  }

  #dequeue(): void {
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #die(inputIndex: number, what: string, cause: unknown): SchedulerFatalError {
    const message = cause instanceof Error ? cause.message : String(cause);
    const err = new SchedulerFatalError(
      inputIndex,
      `app failed in ${what} while processing input ${inputIndex}: ${message}`,
      { cause },
    );
    this.#dead = err;
    return err;
  }
}

