import type { FeedEntry, Rollback } from "./types.ts";

export interface SubscribeOptions {
  /** The first offset to deliver; default 0. */
  fromOffset?: number;
  /**
   * The recovery generation the caller's view of history belongs to (what it stored with its
   * offset). Default: the sequencer's current one (GET /info), read before the first connect.
   */
  generation?: number;
  /** Called once per entry, in offset order; the next waits for a returned promise. */
  onEntry(entry: FeedEntry): void | Promise<void>;
  /**
   * History from `offset` on was cut by a liveness recovery: forget what was delivered at or
   * after it. The entries that follow are the new history, from `offset`.
   */
  onRollback?(rollback: Rollback): void | Promise<void>;
  /** Connection changes, for display; errors here are the reasons for a reconnect. */
  onStatus?(status: SubscriptionStatus): void;
  /** Reconnect backoff bounds; defaults 250 ms and 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export type SubscriptionStatus =
  | { state: "open"; fromOffset: number; generation: number }
  | { state: "reconnecting"; inMs: number; reason: string }
  | { state: "closed"; reason: string };

export interface Subscription {
  /** The next offset this subscription will deliver. */
  readonly nextOffset: number;
  /** The generation of the history delivered so far. */
  readonly generation: number;
  /** Settles when the subscription ends: by close(), or by an error it cannot get past. */
  readonly done: Promise<void>;
  close(): void;
}

/** The server refuses to replay this far back (close 1008); reconnecting cannot help. */
export class CatchUpWindowError extends Error {
  override name = "CatchUpWindowError";
}

interface Internal extends SubscribeOptions {
  url: string;
  WebSocket: typeof WebSocket;
  currentGeneration(): Promise<number>;
}

const CLOSE_POLICY = 1008;

/**
 * The feed, followed: one WebSocket at a time, reconnected with backoff, resuming from the
 * next offset not yet delivered and passing the generation, so that a recovery that happened
 * while disconnected is announced (rollback) before the new entries. An entry already
 * delivered is never delivered again unless a rollback voided it first; an entry is never
 * skipped: a gap closes the socket and resumes from the first missing offset.
 */
export function subscribe(o: Internal): Subscription {
  let next = o.fromOffset ?? 0;
  let generation = o.generation ?? -1;
  let ws: WebSocket | null = null;
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const minMs = o.minBackoffMs ?? 250;
  const maxMs = o.maxBackoffMs ?? 10_000;

  const stop = (error?: Error) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    ws?.close(1000, "client closed");
    ws = null;
    o.onStatus?.({ state: "closed", reason: error?.message ?? "closed by the client" });
    if (error) fail(error);
    else finish();
  };

  const reconnect = (reason: string) => {
    if (stopped) return;
    ws = null;
    const inMs = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 16));
    attempt++;
    o.onStatus?.({ state: "reconnecting", inMs, reason });
    timer = setTimeout(() => void connect(), inMs);
  };

  const handle = async (socket: WebSocket, text: string): Promise<void> => {
    if (socket !== ws) return; // a message of a socket already given up
    let m: FeedEntry | Rollback;
    try {
      m = JSON.parse(text) as FeedEntry | Rollback;
    } catch {
      socket.close(4000, "unparseable message");
      return;
    }
    if (m.kind === "rollback") {
      generation = m.generation;
      if (m.offset < next) {
        next = m.offset;
        await o.onRollback?.(m);
      }
      return;
    }
    if (m.offset < next) return; // already delivered on an earlier connection
    if (m.offset > next) {
      // Never skip: resume from the first offset not delivered.
      socket.close(4001, `gap: expected offset ${next}, got ${m.offset}`);
      return;
    }
    await o.onEntry(m);
    next = m.offset + 1;
    attempt = 0;
  };

  const connect = async () => {
    if (stopped) return;
    if (generation < 0) {
      try {
        generation = await o.currentGeneration();
      } catch (e) {
        return reconnect(`cannot read the current generation: ${(e as Error).message}`);
      }
      if (stopped) return;
    }
    const url = `${o.url.replace(/^http/, "ws")}/ws/subscribe?from_offset=${next}&generation=${generation}`;
    let socket: WebSocket;
    try {
      socket = new o.WebSocket(url);
    } catch (e) {
      return reconnect((e as Error).message);
    }
    ws = socket;
    socket.onopen = () => o.onStatus?.({ state: "open", fromOffset: next, generation });
    socket.onmessage = (ev) => {
      const text = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      // One message at a time, in arrival order, even when the callbacks are async.
      chain = chain.then(() => handle(socket, text)).catch((e) => stop(e instanceof Error ? e : new Error(String(e))));
    };
    socket.onclose = (ev) => {
      void chain.then(() => {
        if (socket !== ws) return;
        if (ev.code === CLOSE_POLICY && /catch-up window/.test(ev.reason)) {
          return stop(new CatchUpWindowError(`offset ${next} is too far behind the head to replay (${ev.reason}); start from a snapshot`));
        }
        reconnect(`closed ${ev.code}${ev.reason ? ` ${ev.reason}` : ""}`);
      });
    };
    socket.onerror = () => {
      // onclose follows and decides.
    };
  };

  void connect();
  return {
    get nextOffset() {
      return next;
    },
    get generation() {
      return generation;
    },
    done,
    close: () => stop(),
  };
}
