/**
 * A pool of Bun Workers that recovers EIP-712 signers off the main thread.
 *
 * Requests made in the same event-loop turn are packed into one message per worker (digests
 * and signatures in two transferable buffers), because postMessage overhead rivals the cost
 * of a native ecrecover. Each flush goes to the least-loaded workers.
 *
 * In a `bun build --compile` binary the worker must be listed as an extra entrypoint:
 *   bun build --compile src/cli/main.ts src/ingress/recover-worker.ts --outfile dist/sequencer
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Address } from "../core/bytes.ts";
import { SequencerError, SignatureError } from "../core/errors.ts";
import { SIGNATURE_LENGTH } from "../core/signature.ts";
import type { RecoverOutcome, RecoverRequestMessage, RecoverResponseMessage } from "./recover-worker.ts";

const DIGEST_BYTES = 32;

/**
 * Where the worker entrypoint lives. From source it sits beside this file. In a compiled
 * binary everything is bundled into the main entry (so import.meta points at the binary's
 * virtual root) and each extra entrypoint is stored as .js under its path relative to the
 * entrypoints' common directory: "ingress/" when built from src/cli/main.ts, "src/ingress/"
 * with --root ., and so on. Resolved once, eagerly, so a bad build fails at startup.
 */
function workerSpecifier(): string {
  if (!Bun.isStandaloneExecutable) return new URL("./recover-worker.ts", import.meta.url).href;
  const candidates = ["ingress/recover-worker.js", "src/ingress/recover-worker.js", "recover-worker.js"];
  for (const rel of candidates) {
    const path = join(import.meta.dir, rel);
    if (existsSync(path)) return path;
  }
  throw new SequencerError(
    "RECOVER_WORKER_MISSING",
    "signature worker is not embedded in this binary; build with " +
      "`bun build --compile src/cli/main.ts src/ingress/recover-worker.ts --outfile dist/sequencer`",
  );
}

let cachedWorkerSpecifier: string | undefined;
/** Flush early once this many requests are queued, bounding message size and latency. */
const MAX_BATCH = 512;

interface Pending {
  resolve: (v: Address | SignatureError) => void;
  reject: (e: unknown) => void;
}

interface Queued extends Pending {
  digest: Uint8Array;
  sig: Uint8Array;
}

interface Slot {
  worker: Worker;
  /** Requests sent to this worker and not yet answered (the load metric). */
  inflight: number;
  batches: Map<number, Pending[]>;
  closed: Promise<void>;
}

export class RecoverPool {
  private readonly slots: Slot[];
  /** Test hook: terminates one worker as if it had crashed. */
  crashWorkerForTesting(index: number): void {
    this.slots[index]?.worker.terminate();
  }
  private queue: Queued[] = [];
  private flushScheduled = false;
  private nextBatchId = 1;
  private closing = false;

  private constructor(
    size: number,
    private readonly workerUrl: string,
  ) {
    this.slots = Array.from({ length: size }, () => this.spawn());
  }

  /** @param size number of workers; defaults to the number of CPUs (at least 1). */
  static create(size?: number): RecoverPool {
    const n = size ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new SequencerError("INVALID_POOL_SIZE", `RecoverPool size must be a positive integer, got ${n}`);
    cachedWorkerSpecifier ??= workerSpecifier();
    return new RecoverPool(n, cachedWorkerSpecifier);
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
      this.queue.push({ digest, sig, resolve, reject });
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
    this.queue = [];
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
    worker.addEventListener("message", (ev: MessageEvent<RecoverResponseMessage>) => this.onReply(slot, ev.data));
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

  private onReply(slot: Slot, msg: RecoverResponseMessage): void {
    const pending = slot.batches.get(msg.id);
    if (pending === undefined) return;
    slot.batches.delete(msg.id);
    slot.inflight -= pending.length;
    for (let i = 0; i < pending.length; i++) settle(pending[i]!, msg.outcomes[i]);
  }

  private failSlot(slot: Slot, err: SequencerError): void {
    for (const batch of slot.batches.values()) for (const p of batch) p.reject(err);
    slot.batches.clear();
    slot.inflight = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    if (queue.length === 0 || this.closing) return;
    this.queue = [];
    // Spread the burst evenly, least-loaded workers first; a lone request goes to one worker.
    const order = [...this.slots].sort((a, b) => a.inflight - b.inflight);
    const per = Math.ceil(queue.length / order.length);
    for (let w = 0, start = 0; start < queue.length; w++, start += per) {
      this.send(order[w]!, queue.slice(start, start + per));
    }
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

function settle(p: Pending, outcome: RecoverOutcome | undefined): void {
  if (typeof outcome === "string") p.resolve(outcome as Address);
  else if (outcome !== undefined && "bad" in outcome) p.resolve(new SignatureError(outcome.bad));
  else {
    const why = outcome === undefined ? "missing reply" : outcome.internal;
    p.reject(new SequencerError("RECOVER_WORKER_FAILED", `signature worker error: ${why}`));
  }
}
