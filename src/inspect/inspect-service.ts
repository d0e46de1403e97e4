/**
 * Main-thread side of inspect: owns the follower worker (inspect-worker.ts), bounds the
 * queries in flight, and restarts the worker if it dies. The main thread only parses HTTP
 * and passes bytes; the app runs in the worker, never on the lane's thread.
 */
import { SequencerError } from "../core/errors.ts";
import { errorReply, type HttpReply } from "../http/reply.ts";
import type { AppConfig } from "../app/host.ts";
import type { CorsPolicy } from "../http/cors.ts";
import type { Logger } from "../observability/log.ts";
import type { InspectCounters } from "../observability/sequencer-metrics.ts";
import { workerEntry } from "../runtime/worker-entry.ts";
import type { FromInspectWorker, InspectWorkerInit, ToInspectWorker } from "./inspect-worker.ts";

export interface InspectServiceOptions {
  dataDir: string;
  wasm: Uint8Array;
  hostConfig: AppConfig;
  appConfig: Uint8Array;
  log: Logger;
  /** Queries in flight at most; one more is refused (429 OVERLOADED). Default 64. */
  maxPending?: number;
  /** A query not answered in this time fails (503). Default 10 s. */
  timeoutMs?: number;
  /** The worker's catch-up timer. Default 100 ms (queries also catch up first). */
  pollMs?: number;
  debug?: boolean;
  /**
   * Also serve the inspect routes from the worker on this address (SEQ_INSPECT_HTTP_ADDR,
   * inspect-listener.ts), with this CORS policy (the public port's). Port 0 picks one; a
   * restarted worker binds the port the first one got.
   */
  listen?: { host: string; port: number; cors: CorsPolicy };
}

/** The inspect listener could not bind its address. */
export class InspectListenError extends SequencerError {
  constructor(message: string) {
    super("INSPECT_LISTEN_FAILED", message);
  }
}

export class InspectOverloadedError extends SequencerError {
  constructor(pending: number) {
    super("OVERLOADED", `queue full: ${pending} inspect queries in flight`);
  }
}

export class InspectUnavailableError extends SequencerError {
  constructor(message: string) {
    super("UNAVAILABLE", message);
  }
}

/** The service's counters, which /metrics reads (observability/sequencer-metrics.ts). */
export type InspectStats = InspectCounters;

let cachedEntry: string | undefined;


export class InspectService {
  readonly stats: InspectStats = { queries: 0, overloaded: 0, listenerQueries: 0, listenerOverloaded: 0, rebuilds: 0, restarts: 0, head: 0 };
  /** The listener's counters of the workers before this one (a restart starts them at 0). */
  #listenerBase = { queries: 0, overloaded: 0 };
  #listenerLast = { queries: 0, overloaded: 0 };
  readonly #o: Required<Omit<InspectServiceOptions, "debug" | "listen">> & Pick<InspectServiceOptions, "listen"> & { debug: boolean };
  #worker: Worker | null = null;
  #ready = false;
  #stopping = false;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (json: string) => void; reject: (e: Error) => void; deadline: number }>();
  // one sweep a second fails overdue queries: a timer per query cost the main thread more
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #readyWaiters: (() => void)[] = [];
  // queries of this turn of the event loop, sent to the worker together (setImmediate)
  #outIds: number[] = [];
  #outPayloads: Uint8Array[] = [];
  #flushScheduled = false;
  /** The inspect listener's port once bound, kept for a restarted worker. */
  #listenPort: number | null = null;
  #listening: Promise<number> | null = null;
  #onListening: { resolve: (port: number) => void; reject: (e: Error) => void } | null = null;

  constructor(o: InspectServiceOptions) {
    this.#o = { maxPending: 64, timeoutMs: 10_000, pollMs: 100, debug: false, ...o };
    cachedEntry ??= workerEntry("inspect/inspect-worker");
    if (o.listen) {
      this.#listening = new Promise<number>((resolve, reject) => (this.#onListening = { resolve, reject }));
      // settled whether or not anyone waits for it
      this.#listening.catch(() => {});
    }
  }

  /** Null when queries are served; else why not (starting, restarting, stopping). */
  get unavailableReason(): string | null {
    if (this.#stopping) return "shutting down";
    return this.#ready ? null : "the inspect follower is starting";
  }

  start(): void {
    if (this.#worker || this.#stopping) return;
    this.#sweeper ??= setInterval(() => this.#sweep(), 1_000);
    const w = new Worker(cachedEntry!);
    this.#worker = w;
    this.#ready = false;
    w.onmessage = (ev: MessageEvent<FromInspectWorker>) => this.#onMessage(ev.data);
    w.onerror = (ev) => this.#crashed(w, ev.message ?? "worker error");
    w.addEventListener("close", () => this.#crashed(w, "worker exited"));
    const init: InspectWorkerInit = {
      type: "init",
      dataDir: this.#o.dataDir,
      wasm: this.#o.wasm,
      hostConfig: this.#o.hostConfig,
      appConfig: this.#o.appConfig,
      pollMs: this.#o.pollMs,
      debug: this.#o.debug,
    };
    const l = this.#o.listen;
    if (l) init.listener = { host: l.host, port: this.#listenPort ?? l.port, cors: l.cors, maxInFlight: this.#o.maxPending };
    this.#send(init);
  }

  /**
   * The inspect listener's port once the first worker has bound it.
   * @throws InspectListenError when it could not (the address is in use, or not local).
   */
  whenListening(): Promise<number> {
    return this.#listening ?? Promise.reject(new InspectListenError("no inspect listener is configured"));
  }

  /** Resolves once the follower has caught up with the history at start. */
  whenReady(): Promise<void> {
    return this.#ready ? Promise.resolve() : new Promise((r) => this.#readyWaiters.push(r));
  }

  /**
   * Resolves with the answer's JSON text (`{status, reports, offset}`).
   * @throws InspectOverloadedError when `maxPending` queries are in flight,
   *         InspectUnavailableError when the follower is not serving.
   */
  inspect(payload: Uint8Array): Promise<string> {
    const why = this.unavailableReason;
    if (why) return Promise.reject(new InspectUnavailableError(why));
    if (this.#pending.size >= this.#o.maxPending) {
      this.stats.overloaded++;
      return Promise.reject(new InspectOverloadedError(this.#pending.size));
    }
    const id = this.#nextId++;
    this.stats.queries++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: performance.now() + this.#o.timeoutMs });
      this.#outIds.push(id);
      this.#outPayloads.push(payload);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** The HTTP answer to a query: 200 with the answer, 429 when full, 503 when not serving. */
  async reply(payload: Uint8Array): Promise<HttpReply> {
    try {
      return { status: 200, body: await this.inspect(payload) };
    } catch (e) {
      if (e instanceof InspectOverloadedError) return errorReply(429, "OVERLOADED", e.message);
      if (e instanceof InspectUnavailableError) return errorReply(503, "UNAVAILABLE", e.message);
      throw e;
    }
  }

  /** One message for every query of this turn: the per-message cost is the main thread's. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outIds.length === 0) return;
    this.#send({ type: "inspect", ids: this.#outIds, payloads: this.#outPayloads });
    this.#outIds = [];
    this.#outPayloads = [];
  }

  async stop(timeoutMs = 2_000): Promise<void> {
    this.#stopping = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#onListening?.reject(new InspectListenError("the inspect service stopped before its listener was bound"));
    this.#onListening = null;
    const w = this.#worker;
    this.#failAll("shutting down");
    if (!w) return;
    this.#send({ type: "stop" });
    await Bun.sleep(Math.min(timeoutMs, 50));
    w.terminate();
    this.#worker = null;
  }

  #send(m: ToInspectWorker): void {
    this.#worker?.postMessage(m);
  }

  #onMessage(m: FromInspectWorker): void {
    switch (m.type) {
      case "ready":
        this.#ready = true;
        this.stats.head = m.head;
        this.#o.log.info("inspect follower ready", { head: m.head, build_ms: Math.round(m.ms), from_snapshot: m.fromSnapshot, thread_nice: m.nice, ...(m.niceRefused ? { nice_refused: m.niceRefused } : {}) });
        for (const r of this.#readyWaiters.splice(0)) r();
        return;
      case "listening":
        this.#listenPort = m.port;
        this.#onListening?.resolve(m.port);
        this.#onListening = null;
        return;
      case "listen_failed": {
        const e = new InspectListenError(`cannot listen on ${this.#o.listen?.host}:${this.#listenPort ?? this.#o.listen?.port}: ${m.error}`);
        if (this.#onListening) {
          this.#onListening.reject(e);
          this.#onListening = null;
        } else {
          // a restarted worker: the public port's routes still answer
          this.#o.log.error("inspect listener could not bind again after a restart", { error: e.message });
        }
        return;
      }
      case "answers":
        if (m.offset !== null) this.stats.head = m.offset + 1;
        m.ids.forEach((id, i) => {
          const p = this.#pending.get(id);
          if (!p) return;
          this.#pending.delete(id);
          p.resolve(m.answers[i]!);
        });
        return;
      case "stats":
        this.stats.head = m.head;
        this.#listenerLast = { queries: m.listenerQueries, overloaded: m.listenerOverloaded };
        this.stats.listenerQueries = this.#listenerBase.queries + m.listenerQueries;
        this.stats.listenerOverloaded = this.#listenerBase.overloaded + m.listenerOverloaded;
        return;
      case "rebuilt":
        this.stats.rebuilds++;
        this.#o.log.warn("inspect follower rebuilt", { reason: m.reason, head: m.head, ms: Math.round(m.ms) });
        return;
      case "log":
        this.#o.log.debug("app debug", { line: m.line, instance: "inspect" });
        return;
      case "error":
        this.#o.log.error("inspect follower error", { message: m.message });
        return;
      case "stopped":
        return;
    }
  }

  #sweep(): void {
    const now = performance.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline > now) continue;
      this.#pending.delete(id);
      p.reject(new InspectUnavailableError(`inspect query not answered in ${this.#o.timeoutMs} ms`));
    }
  }

  #failAll(reason: string): void {
    for (const [id, p] of this.#pending) {
      p.reject(new InspectUnavailableError(reason));
      this.#pending.delete(id);
    }
  }

  #crashed(w: Worker, why: string): void {
    if (this.#worker !== w) return;
    this.#worker = null;
    this.#ready = false;
    // the next worker counts from 0: keep the totals monotonic
    this.#listenerBase = { queries: this.#listenerBase.queries + this.#listenerLast.queries, overloaded: this.#listenerBase.overloaded + this.#listenerLast.overloaded };
    this.#listenerLast = { queries: 0, overloaded: 0 };
    this.#failAll(`the inspect follower stopped: ${why}`);
    if (this.#stopping) return;
    this.stats.restarts++;
    this.#o.log.error("inspect follower crashed; restarting", { reason: why });
    setTimeout(() => this.start(), 1_000);
  }
}
