import { feedMessage, rollbackMessage, type SequencedTx } from "../core/l2tx.ts";
import type { Logger } from "../observability/log.ts";
import { rowToTx, type HistoryQueries } from "../storage/queries.ts";

/** What the hub needs from a WebSocket; keeps the fan-out logic independent of the server. */
export interface FeedSink {
  send(text: string): number;
  close(code: number, reason: string): void;
  bufferedAmount(): number;
}

export interface FeedOptions {
  history: HistoryQueries;
  log: Logger;
  maxSubscribers?: number;
  catchUpCap?: number;
  /** Bytes queued in a socket beyond which a live subscriber is cut off. */
  maxBufferedBytes?: number;
  pageSize?: number;
  /** How long a catching-up subscriber may sit above the buffer bound before it is cut off. */
  catchUpStallMs?: number;
  /** Recovery generations, for reconnects that pass an older `generation`. */
  generations?: GenerationSource;
}

export interface GenerationSource {
  current(): number;
  /** The lowest truncation offset of every generation after `generation`, or null if none. */
  cutSince(generation: number): number | null;
}

export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CATCH_UP_EXCEEDED = "catch-up window exceeded";
export const TOO_MANY_SUBSCRIBERS = "subscriber limit reached";
export const SLOW_CONSUMER = "slow consumer";

interface Subscriber {
  sink: FeedSink;
  nextOffset: number;
  live: boolean;
  closed: boolean;
  stalledSince: number | null;
}

/**
 * Fans the ordered history out to WebSocket subscribers. Catch-up is read from SQLite in
 * pages; once a subscriber reaches the head it is served from memory on every commit. The
 * lane never waits for a subscriber: one that cannot keep up is closed instead.
 */
export class FeedHub {
  private readonly subs = new Set<Subscriber>();
  private readonly o: Required<FeedOptions>;

  constructor(opts: FeedOptions) {
    this.o = {
      maxSubscribers: 64,
      catchUpCap: 50_000,
      maxBufferedBytes: 8 * 1024 * 1024,
      pageSize: 512,
      catchUpStallMs: 30_000,
      generations: { current: () => 0, cutSince: () => null },
      ...opts,
    };
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  /**
   * Registers an upgraded socket. The socket is closed at once, with the reason, when the
   * subscriber cap is reached or the catch-up window is too large.
   */
  subscribe(sink: FeedSink, fromOffset: number, clientGeneration?: number): Subscriber | null {
    if (this.subs.size >= this.o.maxSubscribers) {
      sink.close(CLOSE_TRY_AGAIN_LATER, TOO_MANY_SUBSCRIBERS);
      return null;
    }
    // A client that saw a generation since cut beyond its position learns of the cut first,
    // and resumes at the cut: invalidation is never silent, even across reconnects.
    const current = this.o.generations.current();
    let rollback: string | null = null;
    if (clientGeneration !== undefined && clientGeneration < current) {
      const cut = this.o.generations.cutSince(clientGeneration);
      if (cut !== null && fromOffset > cut) {
        rollback = rollbackMessage({ kind: "rollback", offset: cut, generation: current });
        fromOffset = cut;
      }
    }
    const head = this.o.history.headOffset();
    if (head - fromOffset > this.o.catchUpCap) {
      sink.close(CLOSE_POLICY, CATCH_UP_EXCEEDED);
      return null;
    }
    const sub: Subscriber = { sink, nextOffset: fromOffset, live: false, closed: false, stalledSince: null };
    this.subs.add(sub);
    if (rollback !== null) sink.send(rollback);
    this.pump(sub);
    return sub;
  }

  unsubscribe(sub: Subscriber | null | undefined): void {
    if (!sub) return;
    sub.closed = true;
    this.subs.delete(sub);
  }

  /** Called by the lane right after a commit, with the entries in offset order. */
  publish(entries: readonly SequencedTx[]): void {
    if (this.subs.size === 0 || entries.length === 0) return;
    // Serialise each entry once, however many subscribers receive it.
    const texts = entries.map(feedMessage);
    for (const sub of this.subs) {
      if (!sub.live) continue;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        if (e.offset < sub.nextOffset) continue;
        sub.sink.send(texts[i]!);
        sub.nextOffset = e.offset + 1;
      }
      if (sub.sink.bufferedAmount() > this.o.maxBufferedBytes) this.cutOff(sub);
    }
  }

  /**
   * Recovery truncated the history at `offset`: every subscriber that has been sent anything
   * at or beyond it gets a rollback message and resumes from `offset` (the entries that follow
   * are the new generation's).
   */
  rollback(offset: number, generation: number): void {
    const text = rollbackMessage({ kind: "rollback", offset, generation });
    for (const sub of this.subs) {
      if (sub.nextOffset <= offset) continue;
      sub.sink.send(text);
      sub.nextOffset = offset;
    }
  }

  /** Closes every subscriber, e.g. at shutdown. */
  closeAll(code: number, reason: string): void {
    for (const sub of [...this.subs]) {
      this.unsubscribe(sub);
      sub.sink.close(code, reason);
    }
  }

  /**
   * Sends stored history page by page, yielding between pages so the lane keeps running.
   * A subscriber becomes live when a page comes back short: everything committed so far has
   * been sent, and everything committed later will reach it through `publish`.
   */
  private pump(sub: Subscriber): void {
    if (sub.closed) return;
    if (sub.sink.bufferedAmount() > this.o.maxBufferedBytes) {
      const now = Date.now();
      sub.stalledSince ??= now;
      if (now - sub.stalledSince > this.o.catchUpStallMs) return this.cutOff(sub);
      setTimeout(() => this.pump(sub), 10);
      return;
    }
    sub.stalledSince = null;
    const rows = this.o.history.page(sub.nextOffset, this.o.pageSize);
    for (const row of rows) {
      sub.sink.send(feedMessage(rowToTx(row)));
      sub.nextOffset = row.offset + 1;
    }
    if (rows.length < this.o.pageSize) {
      sub.live = true;
      return;
    }
    setImmediate(() => this.pump(sub));
  }

  private cutOff(sub: Subscriber): void {
    this.o.log.warn("feed subscriber cut off", { reason: SLOW_CONSUMER, next_offset: sub.nextOffset });
    this.unsubscribe(sub);
    sub.sink.close(CLOSE_POLICY, SLOW_CONSUMER);
  }
}
