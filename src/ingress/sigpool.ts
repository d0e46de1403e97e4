/**
 * A pool of Bun Workers that recovers EIP-712 signers off the main thread. The hot path uses
 * `recoverOp`: the worker also computes the op's EIP-712 digest and its tx_hash, so the main
 * thread only parses the request and runs the lane.
 *
 * Requests made in the same event-loop turn are packed into one message per worker (digests
 * and signatures in two transferable buffers), because postMessage overhead rivals the cost
 * of a native ecrecover. Each flush goes to the least-loaded workers.
 *
 * In a `bun build --compile` binary the worker must be listed as an extra entrypoint:
 *   bun build --compile src/cli/main.ts src/ingress/sigpool-worker.ts --outfile dist/sequencer
 */
import { availableParallelism } from "node:os";
import type { Address } from "../core/bytes.ts";
import { SequencerError, SignatureError } from "../core/errors.ts";
import { SIGNATURE_LENGTH } from "../core/signature.ts";
import { workerEntry } from "../runtime/worker-entry.ts";
import type {
  OpsRequestMessage,
  OpsResponseMessage,
  RecoverOutcome,
  RecoverRequestMessage,
  RecoverResponseMessage,
} from "./sigpool-worker.ts";
import { recoverOne } from "./sigpool-worker.ts";

/** A user op as it arrives: the worker computes its digest, signer and tx_hash. */
export interface UserOpToRecover {
  nonce: number;
  maxFee: number;
  data: Uint8Array;
  signature: Uint8Array;
}

export interface RecoveredOp {
  signer: Address;
  txHash: Uint8Array;
}

const OP_HEADER_BYTES = 10;

const DIGEST_BYTES = 32;

let cachedWorkerSpecifier: string | undefined;
/** Flush early once this many requests are queued, bounding message size and latency. */
const MAX_BATCH = 512;

interface Pending {
  // Settled with an Address (digest requests) or a RecoveredOp (op requests).
  resolve: (v: never) => void;
  reject: (e: unknown) => void;
}

interface Queued extends Pending {
  digest: Uint8Array;
  sig: Uint8Array;
}

interface QueuedOp extends Pending {
  op: UserOpToRecover;
}

interface Slot {
  worker: Worker;
  /** Requests sent to this worker and not yet answered (the load metric). */
  inflight: number;
  batches: Map<number, Pending[]>;
  closed: Promise<void>;
}

export class SignaturePool {
  private readonly slots: Slot[];
  /** Test hook: terminates one worker as if it had crashed. */
  crashWorkerForTesting(index: number): void {
    this.slots[index]?.worker.terminate();
  }
  /** Ops computed on the caller's thread because they were alone (`recoverOp`'s `inline`). */
  inlineOps = 0;
  private queue: Queued[] = [];
  private opQueue: QueuedOp[] = [];
  private flushScheduled = false;
  private nextBatchId = 1;
  private closing = false;

  private constructor(
    size: number,
    private readonly workerUrl: string,
    private readonly domainSeparator: Uint8Array | undefined,
  ) {
    this.slots = Array.from({ length: size }, () => this.spawn());
  }

  /**
   * @param size number of workers; defaults to the number of CPUs (at least 1).
   * @param domainSeparator the EIP-712 domain separator `recoverOp` digests under.
   */
  static create(size?: number, domainSeparator?: Uint8Array): SignaturePool {
    const n = size ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new SequencerError("INVALID_POOL_SIZE", `SignaturePool size must be a positive integer, got ${n}`);
    if (domainSeparator !== undefined && domainSeparator.length !== 32) {
      throw new SequencerError("INVALID_DOMAIN_SEPARATOR", "the EIP-712 domain separator must be 32 bytes");
    }
    cachedWorkerSpecifier ??= workerEntry("ingress/sigpool-worker");
    return new SignaturePool(n, cachedWorkerSpecifier, domainSeparator);
  }

  /**
   * Digest, signer and tx_hash of a whole op, all computed in a worker: the main thread
   * only parses the request. Resolves with a SignatureError (not a rejection) for a bad
   * signature, like `recover`.
   *
   * `inline`: the caller judged this op alone (ingress/inline-policy.ts). If the pool is
   * idle too, the op is computed here, on the caller's thread, by the same `recoverOne` the
   * workers run: alone, an op would otherwise wait for two thread wake-ups that cost more
   * than its ≈ 0.1 ms of work.
   */
  recoverOp(op: UserOpToRecover, opts: { inline?: boolean } = {}): Promise<RecoveredOp | SignatureError> {
    if (this.closing) return Promise.reject(new SequencerError("RECOVER_POOL_CLOSED", "signature pool is closed"));
    if (this.domainSeparator === undefined) {
      return Promise.reject(new SequencerError("INVALID_DOMAIN_SEPARATOR", "this pool was created without a domain separator"));
    }
    if (op.signature.length !== SIGNATURE_LENGTH) {
      return Promise.resolve(new SignatureError(`signature must be ${SIGNATURE_LENGTH} bytes, got ${op.signature.length}`));
    }
    if (opts.inline && this.opQueue.length === 0 && this.slots.every((s) => s.inflight === 0)) {
      this.inlineOps++;
      try {
        const r = recoverOne(this.domainSeparator, op);
        return Promise.resolve({ signer: r.signer as Address, txHash: r.txHash });
      } catch (e) {
        return e instanceof SignatureError ? Promise.resolve(e) : Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => {
      this.opQueue.push({ op, resolve: resolve as (v: never) => void, reject });
      if (this.opQueue.length >= MAX_BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Resolves with the lowercase signer, or with (not rejects with) a SignatureError for a bad
   * signature, so the hot path handles both without exception machinery. Rejects only when
   * the pool is closed or a worker dies.
   */
  recover(digest: Uint8Array, sig: Uint8Array): Promise<Address | SignatureError> {
    if (this.closing) return Promise.reject(new SequencerError("RECOVER_POOL_CLOSED", "signature pool is closed"));
    // Shape errors are answered here: they would not fit the fixed-width packing anyway.
    if (sig.length !== SIGNATURE_LENGTH) {
      return Promise.resolve(new SignatureError(`signature must be ${SIGNATURE_LENGTH} bytes, got ${sig.length}`));
    }
    if (digest.length !== DIGEST_BYTES) return Promise.resolve(new SignatureError("digest must be 32 bytes"));
    return new Promise((resolve, reject) => {
      this.queue.push({ digest, sig, resolve: resolve as (v: never) => void, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Terminates every worker; requests still in flight reject with RECOVER_POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const err = new SequencerError("RECOVER_POOL_CLOSED", "signature pool is closed");
    for (const q of this.queue) q.reject(err);
    for (const q of this.opQueue) q.reject(err);
    this.queue = [];
    this.opQueue = [];
    for (const slot of this.slots) {
      this.failSlot(slot, err);
      slot.worker.terminate();
    }
    await Promise.all(this.slots.map((s) => s.closed));
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl);
    let onClose!: () => void;
    const slot: Slot = { worker, inflight: 0, batches: new Map(), closed: new Promise((r) => (onClose = r)) };
    worker.addEventListener("message", (ev: MessageEvent<RecoverResponseMessage | OpsResponseMessage>) =>
      this.onReply(slot, ev.data),
    );
    worker.addEventListener("error", (ev: ErrorEvent) => {
      this.failSlot(slot, new SequencerError("RECOVER_WORKER_FAILED", `signature worker failed: ${ev.message}`));
    });
    worker.addEventListener("close", () => {
      this.failSlot(slot, new SequencerError("RECOVER_WORKER_FAILED", "signature worker exited"));
      onClose();
      // A worker that died on its own is replaced, or later batches would go nowhere.
      const at = this.slots.indexOf(slot);
      if (!this.closing && at >= 0) this.slots[at] = this.spawn();
    });
    return slot;
  }

  private onReply(slot: Slot, msg: RecoverResponseMessage | OpsResponseMessage): void {
    const pending = slot.batches.get(msg.id);
    if (pending === undefined) return;
    slot.batches.delete(msg.id);
    slot.inflight -= pending.length;
    const hashes = "txHashes" in msg ? new Uint8Array(msg.txHashes) : null;
    for (let i = 0; i < pending.length; i++) {
      settle(pending[i]!, msg.outcomes[i], hashes ? hashes.subarray(i * 32, (i + 1) * 32) : null);
    }
  }

  private failSlot(slot: Slot, err: SequencerError): void {
    for (const batch of slot.batches.values()) for (const p of batch) p.reject(err);
    slot.batches.clear();
    slot.inflight = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closing) return;
    const queue = this.queue;
    const ops = this.opQueue;
    this.queue = [];
    this.opQueue = [];
    // Spread the burst evenly, least-loaded workers first; a lone request goes to one worker.
    if (queue.length > 0) {
      const order = [...this.slots].sort((a, b) => a.inflight - b.inflight);
      const per = Math.ceil(queue.length / order.length);
      for (let w = 0, start = 0; start < queue.length; w++, start += per) {
        this.send(order[w]!, queue.slice(start, start + per));
      }
    }
    if (ops.length > 0) {
      const order = [...this.slots].sort((a, b) => a.inflight - b.inflight);
      const per = Math.ceil(ops.length / order.length);
      for (let w = 0, start = 0; start < ops.length; w++, start += per) {
        this.sendOps(order[w]!, ops.slice(start, start + per));
      }
    }
  }

  private sendOps(slot: Slot, items: QueuedOp[]): void {
    let size = 0;
    for (const q of items) size += OP_HEADER_BYTES + q.op.data.length + SIGNATURE_LENGTH;
    const packed = new Uint8Array(size);
    const view = new DataView(packed.buffer);
    let at = 0;
    for (const { op } of items) {
      view.setUint32(at, op.nonce, true);
      view.setUint16(at + 4, op.maxFee, true);
      view.setUint32(at + 6, op.data.length, true);
      packed.set(op.data, at + OP_HEADER_BYTES);
      packed.set(op.signature, at + OP_HEADER_BYTES + op.data.length);
      at += OP_HEADER_BYTES + op.data.length + SIGNATURE_LENGTH;
    }
    const id = this.nextBatchId++;
    slot.batches.set(id, items);
    slot.inflight += items.length;
    const sep = this.domainSeparator!.slice().buffer;
    const msg: OpsRequestMessage = { kind: "ops", id, count: items.length, domainSeparator: sep, packed: packed.buffer };
    slot.worker.postMessage(msg, [packed.buffer, sep]);
  }

  private send(slot: Slot, items: Queued[]): void {
    const n = items.length;
    const digests = new Uint8Array(n * DIGEST_BYTES);
    const sigs = new Uint8Array(n * SIGNATURE_LENGTH);
    for (let i = 0; i < n; i++) {
      digests.set(items[i]!.digest, i * DIGEST_BYTES);
      sigs.set(items[i]!.sig, i * SIGNATURE_LENGTH);
    }
    const id = this.nextBatchId++;
    slot.batches.set(id, items);
    slot.inflight += n;
    const msg: RecoverRequestMessage = { id, count: n, digests: digests.buffer, sigs: sigs.buffer };
    slot.worker.postMessage(msg, [digests.buffer, sigs.buffer]);
  }
}

function settle(p: Pending, outcome: RecoverOutcome | undefined, hash: Uint8Array | null): void {
  const resolve = p.resolve as (v: unknown) => void;
  if (typeof outcome === "string") resolve(hash ? { signer: outcome as Address, txHash: hash.slice() } : (outcome as Address));
  else if (outcome !== undefined && "bad" in outcome) resolve(new SignatureError(outcome.bad));
  else {
    const why = outcome === undefined ? "missing reply" : outcome.internal;
    p.reject(new SequencerError("RECOVER_WORKER_FAILED", `signature worker error: ${why}`));
  }
}
