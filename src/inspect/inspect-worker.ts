/**
 * Worker side of InspectService: a follower instance of the app (follower.ts) fed from the
 * database's committed history, answering inspect queries. Nothing here runs on the lane's
 * thread, and it never writes sequencer.db (its connection is read-only).
 *
 * Catch-up runs on a timer (many entries per turn, so following costs the machine little
 * while nobody asks) and before answering when the last look is over 10 ms old (so an answer
 * reflects what was committed at most 10 ms before it was asked). Nothing is sent per
 * commit: on a 2-core machine a wake-up of this thread per commit cost the lane's ack
 * latency. A turn applies at most CATCH_UP_SLICE entries, so queries waiting in the message
 * queue are answered between slices even while a long history is replayed.
 *
 * Queries come from the main thread by message (the public port), and, with
 * SEQ_INSPECT_HTTP_ADDR, over this thread's own HTTP listener (inspect-listener.ts), bound
 * first thing at init so that a bad address fails startup before any replay.
 */
import { meteredCacheDirOf } from "../app/metering.ts";
import type { CorsPolicy } from "../http/cors.ts";
import type { AppConfig, AppHost } from "../app/host.ts";
import { openDatabase } from "../storage/db.ts";
import { AppFollower, FollowerDivergedError, inspectAnswerJson } from "./follower.ts";
import { LocalEntrySource } from "./local-source.ts";
import { startInspectListener, type InspectListener } from "./inspect-listener.ts";
import { lowerThreadPriority } from "../runtime/thread-priority.ts";
import { installNativeCrypto } from "../runtime/native-addons.ts";

// The host is imported when init arrives, not statically: binaryen (under app/metering-pass.ts)
// has a top-level await, and a Bun worker whose static import graph holds one closes
// silently at start.
let createHost: ((...a: Parameters<typeof AppHost.create>) => AppHost) | null = null;

export interface InspectWorkerInit {
  type: "init";
  dataDir: string;
  wasm: Uint8Array;
  hostConfig: AppConfig;
  appConfig: Uint8Array;
  pollMs: number;
  /** Forward the app's debug lines (SEQ_LOG_LEVEL=debug). */
  debug: boolean;
  /** Serve the inspect routes from this thread on an address of their own (inspect-listener.ts). */
  listener?: { host: string; port: number; cors: CorsPolicy; maxInFlight: number };
}

/** Queries travel in batches: one message per turn of the main thread's event loop. */
export type ToInspectWorker =
  | InspectWorkerInit
  | { type: "inspect"; ids: number[]; payloads: Uint8Array[] }
  | { type: "stop" };

export type FromInspectWorker =
  | { type: "ready"; head: number; ms: number; fromSnapshot: boolean; nice: number; niceRefused?: string }
  /** The inspect listener is bound (`port`), or could not be (`error`). */
  | { type: "listening"; port: number }
  | { type: "listen_failed"; error: string }
  /** Each answer as its HTTP body (inspectAnswerJson); `offset` is the head they reflect. */
  | { type: "answers"; ids: number[]; answers: string[]; offset: number | null }
  | { type: "rebuilt"; head: number; reason: string; ms: number }
  /** Every STATS_MS while something changed: the follower's head and the listener's counters. */
  | { type: "stats"; head: number; listenerQueries: number; listenerOverloaded: number }
  | { type: "log"; line: string }
  | { type: "error"; message: string }
  | { type: "stopped" };

const CATCH_UP_SLICE = 512;
/**
 * This thread's nice value: reads yield the CPU to the lane (runtime/thread-priority.ts). On
 * 2 cores the follower at normal priority measurably delayed /tx acknowledgements.
 */
const FOLLOWER_NICE = 19;
/** How stale a query's state may be (ms) before the worker looks for new rows first. */
const FRESH_MS = 10;
/** How often the follower's head and the listener's counters are reported (for /metrics). */
const STATS_MS = 1_000;
let lastCatchUp = 0;

// A worker is its own entry point: it gets the native addons like the main thread does.
installNativeCrypto();

declare const self: Worker;

let init: InspectWorkerInit | null = null;
let source: LocalEntrySource | null = null;
let follower: AppFollower | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let statsTimer: ReturnType<typeof setInterval> | null = null;
let reported = "";
let busy = false;
let listener: InspectListener | null = null;
/** Null once caught up with the history at start, until `stop`. */
let unavailable: string | null = "the inspect follower is starting";

function post(m: FromInspectWorker): void {
  self.postMessage(m);
}

function build(): { ms: number; fromSnapshot: boolean } {
  const t0 = performance.now();
  const i = init!;
  const app = createHost!(i.wasm, i.hostConfig, {
    appConfig: i.appConfig,
    ...(i.debug ? { onLog: (line: string) => post({ type: "log", line }) } : {}),
  });
  const start = source!.startingPoint();
  follower = new AppFollower(app, start);
  return { ms: performance.now() - t0, fromSnapshot: start.dump !== null };
}

/** Applies committed entries until caught up or one slice is done; rebuilds on a rollback. */
function catchUp(): void {
  if (!source || !follower || busy) return;
  busy = true;
  lastCatchUp = performance.now();
  try {
    const rb = source.rollback();
    if (rb && follower.mustRebuild(rb)) {
      const t = build();
      post({ type: "rebuilt", head: follower.head, reason: `rollback to offset ${rb.offset} (generation ${rb.generation})`, ms: t.ms });
    }
    const entries = source.entries(follower.head, CATCH_UP_SLICE);
    for (const e of entries) follower.apply(e);
  } catch (e) {
    if (e instanceof FollowerDivergedError) {
      const t = build();
      post({ type: "rebuilt", head: follower!.head, reason: e.message, ms: t.ms });
    } else {
      post({ type: "error", message: e instanceof Error ? e.message : String(e) });
    }
  } finally {
    busy = false;
  }
}

/** The head and the listener's counters, when they changed since the last report. */
function reportStats(): void {
  if (!follower) return;
  const m = { type: "stats", head: follower.head, listenerQueries: listener?.stats.queries ?? 0, listenerOverloaded: listener?.stats.overloaded ?? 0 } as const;
  const key = `${m.head}/${m.listenerQueries}/${m.listenerOverloaded}`;
  if (key === reported) return;
  reported = key;
  post(m);
}

/** One answer's JSON text, on the state caught up at most FRESH_MS ago. */
function answer(payload: Uint8Array): string {
  if (!follower) return inspectAnswerJson({ status: "exception", reports: [], offset: null, error: "the inspect follower is not ready" });
  try {
    return inspectAnswerJson(follower.inspect(payload));
  } catch (e) {
    return inspectAnswerJson({ status: "exception", reports: [], offset: follower.head > 0 ? follower.head - 1 : null, error: e instanceof Error ? e.message : String(e) });
  }
}

/** First what was committed since the last look, unless that was under FRESH_MS ago. */
function freshen(): void {
  if (performance.now() - lastCatchUp >= FRESH_MS) catchUp();
}

/** Binds the listener first thing, so that a bad address fails startup before any replay. */
function listen(l: NonNullable<InspectWorkerInit["listener"]>): void {
  try {
    listener = startInspectListener({
      ...l,
      answer: (payload) => {
        freshen();
        return answer(payload);
      },
      unavailableReason: () => unavailable,
      onError: (e) => post({ type: "error", message: `inspect listener: ${e instanceof Error ? e.message : String(e)}` }),
    });
    post({ type: "listening", port: listener.port });
  } catch (e) {
    post({ type: "listen_failed", error: e instanceof Error ? e.message : String(e) });
  }
}

self.onmessage = async (ev: MessageEvent<ToInspectWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "init": {
      if (m.listener) listen(m.listener);
      try {
        const prio = await lowerThreadPriority(FOLLOWER_NICE);
        const { AppHost: Host, prepareAppRuntime } = await import("../app/host.ts");
        // The lane's start metered this module into the data dir: the follower reads it.
        await prepareAppRuntime(m.wasm, { meteredCacheDir: meteredCacheDirOf(m.dataDir) });
        createHost = (...a) => Host.create(...a);
        init = m;
        source = new LocalEntrySource(openDatabase(m.dataDir, { readonly: true }), m.dataDir);
        const t = build();
        // catch up fully before saying ready, so the first answers are current; a turn between
        // slices lets the inspect listener answer 503 meanwhile rather than hold its clients
        let before = -1;
        while (follower!.head !== before) {
          before = follower!.head;
          catchUp();
          await new Promise((r) => setImmediate(r));
        }
        unavailable = null;
        post({ type: "ready", head: follower!.head, ms: t.ms, fromSnapshot: t.fromSnapshot, nice: prio.ok ? prio.nice : 0, ...(prio.ok ? {} : { niceRefused: prio.reason }) });
        timer = setInterval(catchUp, m.pollMs);
        statsTimer = setInterval(reportStats, STATS_MS);
      } catch (e) {
        post({ type: "error", message: e instanceof Error ? e.message : String(e) });
      }
      return;
    }
    case "inspect": {
      // at thousands of queries a second, a look for new rows per batch was most of this
      // thread's work: freshen looks at most every FRESH_MS. `offset` says which entry the
      // answers reflect.
      freshen();
      const answers = m.payloads.map(answer);
      post({ type: "answers", ids: m.ids, answers, offset: follower && follower.head > 0 ? follower.head - 1 : null });
      return;
    }
    case "stop":
      unavailable = "shutting down";
      if (timer) clearInterval(timer);
      if (statsTimer) clearInterval(statsTimer);
      reportStats();
      listener?.stop();
      post({ type: "stopped" });
      return;
  }
};
