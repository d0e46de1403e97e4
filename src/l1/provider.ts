/**
 * The resilient L1 JSON-RPC transport (SPEC §5 "Provider").
 *
 * One HTTP JSON-RPC call = up to `maxAttempts` attempts, each bounded by `timeoutMs`:
 *   - retried: transport failures (connection refused/reset, DNS, timeouts, an unreadable or
 *     non-JSON 2xx body), HTTP 5xx, HTTP 429 (honouring Retry-After up to `maxDelayMs`) and
 *     HTTP 408. Delay before attempt n+1: full jitter, `random() * min(maxDelayMs,
 *     baseDelayMs * 2^(n-1))`.
 *   - not retried: any JSON-RPC error the node answered (reverts, invalid params, -32005 "range
 *     too large", "nonce too low", "already known", ...). It is thrown as viem's
 *     `RpcRequestError` (viem's request layer may wrap it in a typed `RpcError`), so its numeric
 *     `code` is on the error or its `cause` chain — the input reader's range splitting and the
 *     submitter's "already known" handling depend on that. Other 4xx are not retried either.
 * A call therefore always settles within maxAttempts * timeoutMs + (maxAttempts - 1) *
 * maxDelayMs; long outages are the business of the caller's own loop (reader, submitter), which
 * simply tries again on its next tick.
 *
 * Retrying `eth_sendRawTransaction` is safe: the transaction is signed, so a duplicate
 * broadcast of a request that did reach the node is answered "already known" (or "nonce too
 * low" once mined), which the submitter treats as "look again".
 *
 * Outage logging lives HERE, not in the callers: each transport instance (and so every client
 * built on it) logs one `warn` "L1 unreachable" at the first failed attempt after a healthy
 * period and one `info` "L1 reachable again" (outage duration, failed attempts) at the first
 * answer after that — never once per retry or per caller. Any answer from the node, including a
 * JSON-RPC error, counts as reachable. Callers log only their own, non-transport failures and
 * use `isL1TransportError` to tell them apart. Share one transport between clients
 * (`opts.transport`) to share one outage log.
 *
 * Log fields name the RPC by origin only: the path of a hosted RPC URL often holds an API key.
 */
import {
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  custom,
  HttpRequestError,
  RpcRequestError,
  TimeoutError,
} from "viem";
import type { Logger } from "../observability/log.ts";

export interface L1TransportOptions {
  log: Logger;
  /** Attempts per call, including the first (default 5). */
  maxAttempts?: number;
  /** Backoff base in ms (default 200). */
  baseDelayMs?: number;
  /** Backoff cap in ms, also the cap on a Retry-After (default 5000). */
  maxDelayMs?: number;
  /** Per-attempt timeout in ms, covering connect, headers and body (default 10000). */
  timeoutMs?: number;
  /** Jitter source in [0,1); tests may pin it. */
  random?: () => number;
  /**
   * A success ends an outage only once no attempt has failed for this long (default 2000).
   * A node failing one method while answering others (dropping transactions, say) is then
   * one outage, logged once, not an unreachable/reachable pair per poll.
   */
  recoveryQuietMs?: number;
}

export const L1_RETRY_DEFAULTS = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  timeoutMs: 10_000,
} as const;

export interface L1ClientOptions extends L1TransportOptions {
  chain?: Chain;
  /** viem's cache of block numbers and similar, in ms. Default 0: always ask the node. */
  cacheTime?: number;
  /** Reuse this transport (and its outage state) instead of creating one for `url`. */
  transport?: Transport;
}

type RpcBody = { jsonrpc: "2.0"; id: number; method: string; params: unknown };

/** One failed attempt: the error to throw if it is the last one, and whether to retry. */
interface Failure {
  error: Error;
  retry: boolean;
  /** Short reason for logs (no URL). */
  reason: string;
  retryAfterMs?: number;
}

class OutageTracker {
  private down: { since: number; failures: number; lastFailureAt: number } | null = null;
  constructor(
    private readonly log: Logger,
    private readonly rpc: string,
    private readonly quietMs: number,
  ) {}

  failed(method: string, reason: string): void {
    const now = Date.now();
    if (this.down === null) {
      this.down = { since: now, failures: 0, lastFailureAt: now };
      this.log.warn("L1 unreachable", { rpc: this.rpc, method, reason });
    }
    this.down.failures++;
    this.down.lastFailureAt = now;
  }

  /** `startedAt`: a request begun before the outage was noticed does not prove recovery. */
  answered(startedAt: number): void {
    if (this.down === null || startedAt < this.down.since) return;
    if (Date.now() - this.down.lastFailureAt < this.quietMs) return;
    this.log.info("L1 reachable again", {
      rpc: this.rpc,
      outage_ms: Date.now() - this.down.since,
      failed_attempts: this.down.failures,
    });
    this.down = null;
  }
}

/** A viem transport over HTTP(S) with bounded retries, per-attempt timeouts and outage logging. */
export function createL1Transport(url: string, opts: L1TransportOptions): Transport {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? L1_RETRY_DEFAULTS.maxAttempts);
  const baseDelayMs = opts.baseDelayMs ?? L1_RETRY_DEFAULTS.baseDelayMs;
  const maxDelayMs = opts.maxDelayMs ?? L1_RETRY_DEFAULTS.maxDelayMs;
  const timeoutMs = opts.timeoutMs ?? L1_RETRY_DEFAULTS.timeoutMs;
  const random = opts.random ?? Math.random;
  const outage = new OutageTracker(opts.log, originOf(url), opts.recoveryQuietMs ?? 2_000);
  let nextId = 0;

  async function attempt(body: RpcBody, signal: AbortSignal | undefined): Promise<{ result: unknown } | Failure> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const sig = signal ? AbortSignal.any([timeout, signal]) : timeout;
    let status = 0;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: sig,
      });
      status = res.status;
      const text = await res.text();
      let json: { result?: unknown; error?: { code: number; message: string; data?: unknown } } | undefined;
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        json = undefined;
      }
      const rpcError =
        json && typeof json === "object" && json.error && typeof json.error.code === "number" ? json.error : undefined;
      const transient = status >= 500 || status === 429 || status === 408;
      if (transient) {
        const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        return {
          error: rpcError
            ? new RpcRequestError({ body, error: rpcError, url, status, headers: res.headers })
            : new HttpRequestError({ body, url, status, headers: res.headers, details: text.slice(0, 200) }),
          retry: true,
          reason: `HTTP ${status}`,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        };
      }
      if (rpcError) {
        throw new RpcRequestError({ body, error: rpcError, url, ...(res.ok ? {} : { status, headers: res.headers }) });
      }
      if (!res.ok) {
        throw new HttpRequestError({ body, url, status, headers: res.headers, details: text.slice(0, 200) });
      }
      if (!json || typeof json !== "object" || !("result" in json)) {
        return {
          error: new HttpRequestError({ body, url, status, details: `not a JSON-RPC response: ${text.slice(0, 200)}` }),
          retry: true,
          reason: `HTTP ${status} with an invalid JSON-RPC body`,
        };
      }
      return { result: json.result };
    } catch (e) {
      if (e instanceof RpcRequestError || e instanceof HttpRequestError) throw e;
      if (signal?.aborted) throw e; // the caller gave up: not an outage, no retry
      if (timeout.aborted) {
        return { error: new TimeoutError({ body, url }), retry: true, reason: `timed out after ${timeoutMs} ms` };
      }
      const err = e instanceof Error ? e : new Error(String(e));
      const code = (err as { code?: unknown }).code;
      return {
        error: new HttpRequestError({ body, url, cause: err, details: err.message }),
        retry: true,
        reason: (typeof code === "string" && !err.message.includes(code) ? `${code}: ${err.message}` : err.message)
          .split(". For more information")[0]!
          .slice(0, 200),
      };
    }
  }

  async function request(
    args: { method: string; params?: unknown },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<unknown> {
    const signal = options?.signal;
    const body: RpcBody = { jsonrpc: "2.0", id: ++nextId, method: args.method, params: args.params ?? [] };
    for (let n = 1; ; n++) {
      const startedAt = Date.now();
      let r: { result: unknown } | Failure;
      try {
        r = await attempt(body, signal);
      } catch (e) {
        // The node answered (with a JSON-RPC error or a non-retryable HTTP status): reachable.
        if (e instanceof RpcRequestError || e instanceof HttpRequestError) outage.answered(startedAt);
        throw e;
      }
      if ("result" in r) {
        outage.answered(startedAt);
        return r.result;
      }
      outage.failed(args.method, r.reason);
      if (!r.retry || n >= maxAttempts) throw r.error;
      const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
      let delay = random() * cap;
      if (r.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(r.retryAfterMs, maxDelayMs));
      await sleep(delay, signal);
    }
  }

  return custom({ request }, { key: "l1", name: "Resilient L1 JSON-RPC", retryCount: 0 });
}

/** A public client on the resilient transport (or on `opts.transport`). */
export function createL1Client(url: string, opts: L1ClientOptions): PublicClient {
  const transport = opts.transport ?? createL1Transport(url, opts);
  return createPublicClient({
    transport,
    cacheTime: opts.cacheTime ?? 0,
    ...(opts.chain ? { chain: opts.chain } : {}),
  }) as PublicClient;
}

/**
 * A wallet client for the batch submitter on the same transport logic. Pass the public
 * client's transport as `opts.transport` to share its outage state (one log per outage).
 */
export function createL1WalletClient<C extends Chain | undefined = undefined>(
  url: string,
  account: Account,
  opts: Omit<L1ClientOptions, "chain"> & { chain?: C },
): WalletClient<Transport, C, Account> {
  const transport = opts.transport ?? createL1Transport(url, opts);
  return createWalletClient({
    account,
    transport,
    cacheTime: opts.cacheTime ?? 0,
    chain: opts.chain as C,
  }) as WalletClient<Transport, C, Account>;
}

/**
 * True when `e` (or a cause) is a transport-level failure left after the retries: the node
 * did not answer usefully (unreachable, timeout, 5xx, 429). False for JSON-RPC errors the node
 * returned. Callers use it to leave outage logging to the transport.
 */
export function isL1TransportError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && typeof cur === "object" && depth < 10; depth++) {
    if (cur instanceof TimeoutError) return true;
    if (cur instanceof RpcRequestError || cur instanceof HttpRequestError) {
      // No status: the connection itself failed. A 4xx other than 408/429 is a node that
      // answered and refused (e.g. a wrong URL path): the caller must log that itself.
      const status = cur.status;
      return status === undefined ? cur instanceof HttpRequestError : status >= 500 || status === 429 || status === 408;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "<invalid url>";
  }
}
