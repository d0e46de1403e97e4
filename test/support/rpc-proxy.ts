/**
 * Test helper: a fault-injecting JSON-RPC HTTP proxy in front of an upstream node (anvil).
 *
 *   const proxy = await startRpcProxy({ upstream: anvil.url, getLogsMaxRange: 4 });
 *   await proxy.setMode({ kind: "status5xx", times: 3 });          // next 3 requests get 503
 *   await proxy.setMode({ kind: "drop", methods: ["eth_sendRawTransaction"] });
 *   await proxy.setMode({ kind: "refuse" });                       // nothing listens any more
 *   await proxy.setMode({ kind: "pass" });                         // listening again, same port
 *   proxy.count({ method: "eth_getLogs", outcome: "rangeError" });
 *   await proxy.stop();                                            // always, in afterAll
 *
 * Modes (switchable at runtime; `methods` restricts a fault to HTTP requests that carry at
 * least one of those JSON-RPC methods, `times` applies it to that many HTTP requests and then
 * reverts to `pass`):
 *   - pass:      forward to upstream.
 *   - drop:      read the request, then reset the connection without any response bytes.
 *   - refuse:    stop listening (connections are refused); any other mode listens again on
 *                the same port. Not method-selective (no request is ever read).
 *   - delay:     wait `ms`, then forward.
 *   - status5xx: answer `status` (default 503) with a plain-text body.
 *   - rateLimit: answer 429 with `Retry-After: retryAfterSeconds` (default 1).
 *   - hang:      never answer. A hung request is released — its connection reset without a
 *                response, like a load balancer giving up — when the mode changes or the proxy
 *                stops. A client that gives up first (its own timeout) simply goes away.
 *
 * A JSON-RPC batch (array body) is one HTTP request: a fault applies to the whole batch when
 * any call in it matches `methods`. `getLogsMaxRange: N` is applied per call, also inside
 * batches: an `eth_getLogs` whose resolved range (toBlock - fromBlock + 1; tags and defaults
 * resolved by asking upstream) exceeds N is answered with JSON-RPC error -32005 "query returned
 * more than 10000 results", the other calls are forwarded. `getLogsHangAbove: B` makes an HTTP
 * request hang (as in `hang`) when one of its `eth_getLogs` calls reaches above block B; such
 * requests are released when the property changes. It lets a test stop the reader at a block
 * without racing it: everything up to B is still served.
 *
 * Counters are per JSON-RPC call: by method, by outcome, and by "method:outcome". Outcomes:
 * pass, delay (forwarded late), drop, status5xx, rateLimit, hang, rangeError, upstreamError.
 * A refused connection is never seen, so it is not counted.
 */
export type FaultMode =
  | { kind: "pass" }
  | { kind: "refuse" }
  | { kind: "drop"; methods?: readonly string[]; times?: number }
  | { kind: "delay"; ms: number; methods?: readonly string[]; times?: number }
  | { kind: "status5xx"; status?: number; body?: string; methods?: readonly string[]; times?: number }
  | { kind: "rateLimit"; retryAfterSeconds?: number; methods?: readonly string[]; times?: number }
  | { kind: "hang"; methods?: readonly string[]; times?: number };

export type ProxyOutcome = "pass" | "delay" | "drop" | "status5xx" | "rateLimit" | "hang" | "rangeError" | "upstreamError";

export interface RpcProxyOptions {
  upstream: string;
  /** Largest eth_getLogs block span answered; larger ranges get -32005. null/undefined = no limit. */
  getLogsMaxRange?: number | null;
  /** eth_getLogs whose toBlock resolves above this block hang. null/undefined = never. */
  getLogsHangAbove?: number | null;
  mode?: FaultMode;
}

export interface RpcProxyCounters {
  total: number;
  byMethod: Record<string, number>;
  byOutcome: Partial<Record<ProxyOutcome, number>>;
  byMethodOutcome: Record<string, number>;
}

export interface RpcProxy {
  readonly url: string;
  readonly port: number;
  readonly mode: FaultMode;
  /** Number of requests currently held by `hang`. */
  readonly hungCount: number;
  getLogsMaxRange: number | null;
  /** See RpcProxyOptions; setting it (to anything) releases the requests it held. */
  getLogsHangAbove: number | null;
  /** Switches the mode; resolves once the listener is (re)started or stopped as the mode needs. */
  setMode(mode: FaultMode): Promise<void>;
  readonly counters: RpcProxyCounters;
  /** Calls seen, optionally filtered by method and/or outcome. */
  count(filter?: { method?: string; outcome?: ProxyOutcome }): number;
  resetCounters(): void;
  /** Closes the listener, every open connection and every hung or delayed request. Idempotent. */
  stop(): Promise<void>;
}

interface JsonRpcCall {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

const RANGE_ERROR = { code: -32005, message: "query returned more than 10000 results" };

/** A response whose body errors before any byte is sent: Bun resets the connection. */
function dropResponse(): Response {
  return new Response(
    new ReadableStream({
      pull(c) {
        c.error();
      },
    }),
  );
}

export async function startRpcProxy(opts: RpcProxyOptions): Promise<RpcProxy> {
  const upstream = opts.upstream;
  let mode: FaultMode = opts.mode ?? { kind: "pass" };
  let maxRange: number | null = opts.getLogsMaxRange ?? null;
  let hangAbove: number | null = opts.getLogsHangAbove ?? null;
  /** Releases of requests held by `getLogsHangAbove` (apart from `hung`: a mode change keeps them). */
  const hungAbove = new Set<() => void>();
  let stopped = false;
  let counters = emptyCounters();
  /** Releases of hung requests, and aborts of in-progress delays. */
  const hung = new Set<() => void>();
  const delays = new Set<() => void>();

  const count = (method: string, outcome: ProxyOutcome) => {
    counters.total++;
    counters.byMethod[method] = (counters.byMethod[method] ?? 0) + 1;
    counters.byOutcome[outcome] = (counters.byOutcome[outcome] ?? 0) + 1;
    const k = `${method}:${outcome}`;
    counters.byMethodOutcome[k] = (counters.byMethodOutcome[k] ?? 0) + 1;
  };

  const releaseHung = () => {
    for (const r of [...hung]) r();
    hung.clear();
  };

  async function upstreamCall(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const json = (await res.json()) as { result?: unknown; error?: unknown };
    if (json.error !== undefined) throw new Error(`upstream ${method}: ${JSON.stringify(json.error)}`);
    return json.result;
  }

  async function resolveBlock(tag: unknown): Promise<bigint | null> {
    const t = tag === undefined || tag === null ? "latest" : tag;
    if (typeof t !== "string") return null;
    if (t === "earliest") return 0n;
    if (/^0x[0-9a-fA-F]+$/.test(t)) return BigInt(t);
    if (t === "latest" || t === "safe" || t === "finalized" || t === "pending") {
      const block = (await upstreamCall("eth_getBlockByNumber", [t, false])) as { number?: string } | null;
      return block?.number ? BigInt(block.number) : null;
    }
    return null;
  }

  /** The resolved [fromBlock, toBlock] of an eth_getLogs call, or null. */
  async function logsRange(call: JsonRpcCall): Promise<[bigint, bigint] | null> {
    if (call.method !== "eth_getLogs") return null;
    const filter = (Array.isArray(call.params) ? call.params[0] : undefined) as
      | { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
      | undefined;
    if (!filter || filter.blockHash !== undefined) return null;
    try {
      const [from, to] = await Promise.all([resolveBlock(filter.fromBlock), resolveBlock(filter.toBlock)]);
      return from === null || to === null ? null : [from, to];
    } catch {
      return null;
    }
  }

  /** Holds a request without answering until `release` runs (or the client goes away). */
  function holdRequest(req: Request, into: Set<() => void>): Promise<Response> {
    return new Promise<Response>((resolve) => {
      const release = () => {
        into.delete(release);
        resolve(dropResponse());
      };
      into.add(release);
      req.signal.addEventListener("abort", release, { once: true });
      if (stopped) release();
    });
  }

  /** True when this call is an eth_getLogs over more than `maxRange` blocks. */
  async function exceedsRange(call: JsonRpcCall): Promise<boolean> {
    if (maxRange === null) return false;
    const r = await logsRange(call);
    return r !== null && r[1] - r[0] + 1n > BigInt(maxRange);
  }

  function faultApplies(methods: string[]): Exclude<FaultMode, { kind: "pass" } | { kind: "refuse" }> | null {
    const m = mode;
    if (m.kind === "pass" || m.kind === "refuse") return null;
    if (m.methods && !methods.some((x) => m.methods!.includes(x))) return null;
    if (m.times !== undefined) {
      const left = m.times - 1;
      mode = left > 0 ? { ...m, times: left } : { kind: "pass" };
    }
    return m;
  }

  async function forward(text: string, calls: JsonRpcCall[] | null, isBatch: boolean, outcome: ProxyOutcome): Promise<Response> {
    const methods = calls ? calls.map(methodName) : ["<unparseable>"];
    const rejected = calls ? await Promise.all(calls.map(exceedsRange)) : [];
    const injected = rejected.some(Boolean);
    try {
      if (!injected) {
        const res = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: text });
        const body = await res.arrayBuffer();
        for (const m of methods) count(m, outcome);
        return new Response(body, { status: res.status, headers: { "content-type": "application/json" } });
      }
      const list = calls!;
      const errorOf = (c: JsonRpcCall) => ({ jsonrpc: "2.0", id: c.id ?? null, error: RANGE_ERROR });
      if (!isBatch) {
        count(methods[0]!, "rangeError");
        return Response.json(errorOf(list[0]!));
      }
      const fwd = list.filter((_, i) => !rejected[i]);
      let answers: { id?: unknown }[] = [];
      if (fwd.length > 0) {
        const res = await fetch(upstream, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(fwd),
        });
        answers = (await res.json()) as { id?: unknown }[];
      }
      const byId = new Map(answers.map((a) => [JSON.stringify(a.id ?? null), a]));
      let k = 0;
      const out = list.map((c, i) => {
        if (rejected[i]) {
          count(methods[i]!, "rangeError");
          return errorOf(c);
        }
        count(methods[i]!, outcome);
        return byId.get(JSON.stringify(c.id ?? null)) ?? answers[k++];
      });
      return Response.json(out);
    } catch (e) {
      for (const m of methods) count(m, "upstreamError");
      return new Response(`proxy: upstream failed: ${(e as Error).message}`, { status: 502 });
    }
  }

  async function handle(req: Request): Promise<Response> {
    const text = await req.text();
    let calls: JsonRpcCall[] | null = null;
    let isBatch = false;
    try {
      const parsed = JSON.parse(text) as unknown;
      isBatch = Array.isArray(parsed);
      calls = (isBatch ? parsed : [parsed]) as JsonRpcCall[];
    } catch {
      calls = null;
    }
    const methods = calls ? calls.map(methodName) : ["<unparseable>"];
    if (hangAbove !== null && calls) {
      const limit = BigInt(hangAbove);
      const ranges = await Promise.all(calls.map(logsRange));
      if (ranges.some((r) => r !== null && r[1] > limit)) {
        for (const m of methods) count(m, "hang");
        return holdRequest(req, hungAbove);
      }
    }
    const fault = faultApplies(methods);
    if (fault === null) return forward(text, calls, isBatch, "pass");
    switch (fault.kind) {
      case "drop":
        for (const m of methods) count(m, "drop");
        return dropResponse();
      case "status5xx":
        for (const m of methods) count(m, "status5xx");
        return new Response(fault.body ?? "proxy: service unavailable", {
          status: fault.status ?? 503,
          headers: { "content-type": "text/plain" },
        });
      case "rateLimit":
        for (const m of methods) count(m, "rateLimit");
        return new Response("proxy: too many requests", {
          status: 429,
          headers: { "retry-after": String(fault.retryAfterSeconds ?? 1), "content-type": "text/plain" },
        });
      case "hang":
        for (const m of methods) count(m, "hang");
        return holdRequest(req, hung);
      case "delay": {
        const aborted = await new Promise<boolean>((resolve) => {
          const abort = () => {
            clearTimeout(t);
            delays.delete(abort);
            resolve(true);
          };
          const t = setTimeout(() => {
            delays.delete(abort);
            resolve(false);
          }, fault.ms);
          delays.add(abort);
        });
        if (aborted) {
          for (const m of methods) count(m, "drop");
          return dropResponse();
        }
        return forward(text, calls, isBatch, "delay");
      }
    }
  }

  const listen = (port: number) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      idleTimeout: 0,
      fetch: handle,
      error: () => new Response("proxy error", { status: 500 }),
    });

  let server: ReturnType<typeof listen> | null = listen(0);
  const port = server.port!;
  if (mode.kind === "refuse") {
    server.stop(true);
    server = null;
  }

  async function relisten(): Promise<void> {
    // The port was ours a moment ago; retry briefly in case the OS has not released it yet.
    for (let i = 0; ; i++) {
      try {
        server = listen(port);
        return;
      } catch (e) {
        if (i >= 50) throw new Error(`rpc proxy: cannot listen again on port ${port}: ${(e as Error).message}`);
        await Bun.sleep(20);
      }
    }
  }

  const proxy: RpcProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    get hungCount() {
      return hung.size + hungAbove.size;
    },
    get getLogsMaxRange() {
      return maxRange;
    },
    set getLogsMaxRange(n: number | null) {
      maxRange = n;
    },
    get getLogsHangAbove() {
      return hangAbove;
    },
    set getLogsHangAbove(b: number | null) {
      hangAbove = b;
      for (const r of [...hungAbove]) r();
    },
    async setMode(next) {
      if (stopped) throw new Error("rpc proxy stopped");
      mode = next;
      releaseHung();
      if (next.kind === "refuse") {
        if (server) {
          server.stop(true);
          server = null;
        }
      } else if (!server) {
        await relisten();
      }
    },
    get counters() {
      return counters;
    },
    count(filter = {}) {
      if (filter.method !== undefined && filter.outcome !== undefined) {
        return counters.byMethodOutcome[`${filter.method}:${filter.outcome}`] ?? 0;
      }
      if (filter.method !== undefined) return counters.byMethod[filter.method] ?? 0;
      if (filter.outcome !== undefined) return counters.byOutcome[filter.outcome] ?? 0;
      return counters.total;
    },
    resetCounters() {
      counters = emptyCounters();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      releaseHung();
      for (const r of [...hungAbove]) r();
      for (const a of [...delays]) a();
      if (server) {
        server.stop(true);
        server = null;
      }
    },
  };
  return proxy;
}

function methodName(c: JsonRpcCall): string {
  return c && typeof c.method === "string" ? c.method : "<invalid>";
}

function emptyCounters(): RpcProxyCounters {
  return { total: 0, byMethod: {}, byOutcome: {}, byMethodOutcome: {} };
}
