/**
 * A follower instance of the app: it applies sequenced entries in offset order, as the lane
 * committed them, and answers inspect queries on the state they reached (SPEC §4, issue #15).
 *
 * It consumes feed entries, not the lane's internals: an entry is what the WebSocket feed says
 * about one offset (plus the frame's safe block for a user op), and a rollback is the feed's
 * rollback message. So the same class can later follow a remote sequencer's feed (a read
 * replica); today it is fed from the local database (local-source.ts).
 *
 * Execution is bounded exactly as in the lane: the entries are the ones the lane included, so
 * they run with the full budget (the lane admitted them under its 90 % margin). An entry that
 * fails here although the lane included it means this replica diverged: `apply` throws
 * FollowerDivergedError and the owner rebuilds.
 */
import { ExecutionFailedError } from "../core/execution-limits.ts";
import { bytesToHex } from "../core/bytes.ts";
import { SequencerError } from "../core/errors.ts";
import type { AppHost, AppPosition, InspectResult } from "../app/host.ts";

export type FollowerEntry =
  | { offset: number; kind: "user_op"; sender: Uint8Array; nonce: number; fee: number; data: Uint8Array; safeBlock: bigint }
  | { offset: number; kind: "direct_input"; sender: Uint8Array; block: bigint; payload: Uint8Array };

/** The feed's rollback: history was cut at `offset` (recovery generation `generation`). */
export interface FollowerRollback {
  offset: number;
  generation: number;
}

/** The answer to one query: Cartesi's statuses, and the last entry the state reflects. */
export interface InspectAnswer {
  status: InspectResult["status"];
  reports: readonly Uint8Array[];
  /** The last sequenced offset applied; null before the first entry. */
  offset: number | null;
  failure?: string;
  error?: string;
}

/**
 * The HTTP body of an answer, `{status, reports: [{payload}], offset}` (plus `exception` and
 * `failure` for an exception). Built where the answer is made (the worker), so that the main
 * thread only writes the text out.
 */
export function inspectAnswerJson(a: InspectAnswer): string {
  const body: Record<string, unknown> = {
    status: a.status,
    reports: a.reports.map((r) => ({ payload: bytesToHex(r) })),
    offset: a.offset,
  };
  if (a.status === "exception") {
    body.exception = a.error ?? "the app failed";
    if (a.failure) body.failure = a.failure;
  }
  return JSON.stringify(body);
}

export class FollowerDivergedError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("FOLLOWER_DIVERGED", message, options);
  }
}

/** Where a follower starts: a dump at `offset` entries, or genesis (no dump, offset 0). */
export interface StartingPoint {
  offset: number;
  dump: Uint8Array | null;
  position: AppPosition;
}

export class AppFollower {
  #head: number;

  /** `app` is a fresh instance of the sequencer's module and config. */
  constructor(
    private readonly app: AppHost,
    start: StartingPoint,
  ) {
    if (start.dump) app.load(start.dump, start.position);
    this.#head = start.offset;
  }

  /** Entries applied: the next offset expected. */
  get head(): number {
    return this.#head;
  }

  /**
   * Applies the next entry. Entries must come in offset order without gaps.
   * @throws FollowerDivergedError when the entry is out of order or fails here.
   */
  apply(e: FollowerEntry): void {
    if (e.offset !== this.#head) throw new FollowerDivergedError(`expected entry ${this.#head}, got ${e.offset}`);
    if (e.kind === "user_op") {
      try {
        this.app.applyUserOp(e.sender, e.nonce, e.fee, e.data, e.safeBlock);
      } catch (err) {
        if (err instanceof ExecutionFailedError) {
          throw new FollowerDivergedError(`entry ${e.offset} (a user op the lane included) failed here: ${err.message}`, { cause: err });
        }
        throw err;
      }
    } else {
      // a direct input that fails is an included no-op, here as in the lane
      this.app.applyDirectInput(e.sender, e.block, e.payload);
    }
    this.#head++;
  }

  /** True when the rollback cuts history this follower already applied (it must rebuild). */
  mustRebuild(r: FollowerRollback): boolean {
    return r.offset < this.#head;
  }

  inspect(payload: Uint8Array): InspectAnswer {
    const r = this.app.inspect(payload);
    const answer: InspectAnswer = { status: r.status, reports: r.reports, offset: this.#head > 0 ? this.#head - 1 : null };
    if (r.failure) answer.failure = r.failure;
    if (r.error) answer.error = r.error;
    return answer;
  }
}
