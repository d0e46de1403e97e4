import { hexToBytes, isHex, type Address, type Hex } from "viem";
import { SequencerApiError, SequencerTransportError, TxInvalidatedError, WaitTimeoutError } from "./errors.ts";
import { signUserOp, type UserOpSigner } from "./sign.ts";
import { subscribe, type Subscription, type SubscribeOptions } from "./subscribe.ts";
import type { Fee, InspectAnswer, SequencerDomain, SequencerInfo, SignedUserOp, TxAccepted, TxStatus, TxStatusName } from "./types.ts";

export interface SequencerClientConfig {
  /** The public API's base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  /**
   * Where to send inspect queries, when the sequencer serves them on a listener of their own
   * (its SEQ_INSPECT_HTTP_ADDR, e.g. http://127.0.0.1:3002). Default: `url`.
   */
  inspectUrl?: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Defaults to the global WebSocket (browsers, Bun, Node 22+). */
  WebSocket?: typeof WebSocket;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** Statuses in the order an op moves through them; `invalidated` is outside the order. */
const ORDER: readonly TxStatusName[] = ["soft_confirmed", "submitted", "included", "safe", "finalized"];

export interface WaitOptions {
  /** Give up after this long (WaitTimeoutError); default 10 minutes. */
  timeoutMs?: number;
  /** Between polls of GET /tx/:tx_hash; default 1 s. */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

export interface SendArgs {
  signer: UserOpSigner;
  /** The app's payload. */
  data: Hex;
  /** Default: the sender's next nonce (GET /nonce). */
  nonce?: number;
  /** Default: the fee's suggested_max_fee (GET /fee). */
  maxFee?: number;
}

export type SequencerClient = ReturnType<typeof createSequencerClient>;

/**
 * A client of one sequencer's public API. Every method answers the API's typed result, or
 * throws a SequencerApiError carrying the API's `code` (or a SequencerTransportError when
 * there was no API answer at all).
 */
export function createSequencerClient(config: SequencerClientConfig) {
  const base = config.url.replace(/\/+$/, "");
  const inspectBase = (config.inspectUrl ?? config.url).replace(/\/+$/, "");
  const doFetch = config.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = config.timeoutMs ?? 10_000;
  let domainCache: Promise<SequencerDomain> | undefined;

  async function request<T>(path: string, init?: RequestInit, at = base): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(`${at}${path}`, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new SequencerTransportError(`${init?.method ?? "GET"} ${at}${path} failed: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SequencerTransportError(`${init?.method ?? "GET"} ${path}: ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = json as { code?: string; message?: string };
      throw new SequencerApiError(res.status, e.code ?? "INTERNAL_ERROR", e.message ?? text.slice(0, 200));
    }
    return json as T;
  }

  const getDomain = (): Promise<SequencerDomain> => {
    // The domain is fixed for a deployment: fetched once (and again after a failure).
    domainCache ??= request<SequencerDomain>("/domain").catch((e) => {
      domainCache = undefined;
      throw e;
    });
    return domainCache;
  };

  const client = {
    url: base,
    getInfo: () => request<SequencerInfo>("/info"),
    getDomain,
    getFee: () => request<Fee>("/fee"),
    getNonce: async (sender: Address): Promise<number> =>
      (await request<{ next_nonce: number }>(`/nonce?sender=${encodeURIComponent(sender)}`)).next_nonce,

    /** Signs with the served domain. */
    signUserOp: async (signer: UserOpSigner, message: SignedUserOp["message"]): Promise<SignedUserOp> =>
      signUserOp({ signer, domain: await getDomain(), message }),

    /** POST /tx: answered once the op is durable (soft confirmation). */
    sendUserOp: (op: SignedUserOp): Promise<TxAccepted> =>
      request<TxAccepted>("/tx", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(op) }),

    /** Fills in nonce and max fee, signs and sends. */
    submit: async (args: SendArgs): Promise<TxAccepted> => {
      const sender = "account" in args.signer ? args.signer.account.address : args.signer.address;
      const [nonce, maxFee] = await Promise.all([
        args.nonce ?? client.getNonce(sender),
        args.maxFee ?? client.getFee().then((f) => f.suggested_max_fee),
      ]);
      return client.sendUserOp(await client.signUserOp(args.signer, { nonce, max_fee: maxFee, data: args.data }));
    },

    getTxStatus: (txHash: Hex) => request<TxStatus>(`/tx/${txHash}`),

    /**
     * Polls GET /tx/:tx_hash until the op reaches `target` (or a later status). Throws
     * TxInvalidatedError as soon as the op is invalidated, and WaitTimeoutError on timeout.
     */
    waitForStatus: async (txHash: Hex, target: Exclude<TxStatusName, "invalidated">, opts: WaitOptions = {}): Promise<TxStatus> => {
      const want = ORDER.indexOf(target);
      if (want < 0) throw new TypeError(`unknown status ${target}`);
      const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
      let last: TxStatus | undefined;
      for (;;) {
        opts.signal?.throwIfAborted();
        try {
          last = await client.getTxStatus(txHash);
          if (last.status === "invalidated") throw new TxInvalidatedError(txHash);
          if (ORDER.indexOf(last.status) >= want) return last;
        } catch (e) {
          // An offline sequencer (recovering) or a dropped connection: keep waiting.
          if (!(e instanceof SequencerTransportError || (e instanceof SequencerApiError && e.retryable))) throw e;
        }
        if (Date.now() >= deadline) throw new WaitTimeoutError(txHash, target, last?.status);
        await sleep(Math.min(opts.pollIntervalMs ?? 1000, Math.max(0, deadline - Date.now())), opts.signal);
      }
    },

    /** A read-only query of the app on durable state (POST /inspect, raw bytes), at `inspectUrl`. */
    inspect: (payload: Hex | Uint8Array): Promise<InspectAnswer> =>
      request<InspectAnswer>(
        "/inspect",
        {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: typeof payload === "string" ? payloadBytes(payload) : payload,
        },
        inspectBase,
      ),

    /**
     * Follows the feed from `fromOffset`: every entry exactly once, in order, across
     * reconnects; rollbacks are announced before the entries that replace the cut ones.
     */
    subscribe: (opts: SubscribeOptions): Subscription =>
      subscribe({
        url: base,
        WebSocket: config.WebSocket ?? globalThis.WebSocket,
        currentGeneration: async () => (await client.getInfo()).feed_generation,
        ...opts,
      }),
  };
  return client;
}

function payloadBytes(h: Hex): Uint8Array {
  if (!isHex(h, { strict: true }) || h.length % 2 !== 0) throw new TypeError("payload must be 0x-prefixed hex with an even number of digits");
  return hexToBytes(h);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
