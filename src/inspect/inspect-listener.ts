/**
 * The inspect listener (SEQ_INSPECT_HTTP_ADDR): the follower worker serves the inspect routes
 * on a port of its own. Parsing the request, running the app and writing the answer then all
 * happen on the worker's thread, and the lane's thread does nothing at all for a query. On the
 * public port, the main thread parses each query and passes it to the worker by message
 * (inspect-service.ts); at thousands of queries a second that hand-off is what inspect costs
 * `/tx` there (docs/performance.md).
 *
 * The routes and their answers are the public port's (inspect-route.ts), with the same CORS
 * policy. `/healthz` says the thread is alive. Anything else is a JSON 404.
 *
 * Concurrency: a GET is answered in the turn that parsed it, so queries never pile up inside
 * this thread; those waiting wait in the kernel's accept and socket queues. A POST whose body
 * is still arriving holds a slot, and at `maxInFlight` of those one more answers 429.
 */
import type { CorsPolicy } from "../http/cors.ts";
import { corsHeaders, preflightResponse } from "../http/cors.ts";
import { TRANSPORT_BODY_LIMIT } from "../http/body.ts";
import { errorReply, HEALTHY, toResponse, type HttpReply } from "../http/reply.ts";
import { inspectGet, inspectPost } from "./inspect-route.ts";

export interface InspectListenerOptions {
  host: string;
  /** 0 picks a free port (`InspectListener.port` says which). */
  port: number;
  cors: CorsPolicy;
  /** Requests being handled at once, at most (a POST whose body is still arriving); one more answers 429. */
  maxInFlight: number;
  /** The answer's JSON text (follower.ts inspectAnswerJson); called only while `unavailableReason()` is null. */
  answer(payload: Uint8Array): string;
  /** Null while queries are served; else why not (starting, shutting down). */
  unavailableReason(): string | null;
  /** An unexpected error in a route (answered 500). */
  onError(e: unknown): void;
}

export interface InspectListener {
  readonly port: number;
  /** Queries taken for an answer, and requests refused with 429, so far. */
  readonly stats: { readonly queries: number; readonly overloaded: number };
  stop(): void;
}

const NOT_FOUND = errorReply(404, "NOT_FOUND", "no such route");
const INTERNAL = errorReply(500, "INTERNAL_ERROR", "internal error");
const BODY_ENDED = errorReply(400, "BAD_REQUEST", "the request body ended early");

/**
 * Binds and serves. Throws when the address cannot be bound (in use, not local): the caller
 * reports it, and at startup it is a configuration error naming SEQ_INSPECT_HTTP_ADDR.
 */
export function startInspectListener(o: InspectListenerOptions): InspectListener {
  let inFlight = 0;
  const stats = { queries: 0, overloaded: 0 };
  const send = (request: Request, r: HttpReply) => toResponse(r, corsHeaders(o.cors, request.headers.get("origin")));
  const overloaded = () => {
    stats.overloaded++;
    return errorReply(429, "OVERLOADED", `queue full: ${inFlight} inspect queries in flight`);
  };
  const answer = (payload: Uint8Array): HttpReply => {
    const why = o.unavailableReason();
    if (why !== null) return errorReply(503, "UNAVAILABLE", why);
    stats.queries++;
    return { status: 200, body: o.answer(payload) };
  };
  const preflight = (request: Request) => preflightResponse(o.cors, request.headers.get("origin"));

  const server = Bun.serve({
    hostname: o.host,
    port: o.port,
    // a port in use must be a startup error, not a second listener sharing its connections
    reusePort: false,
    maxRequestBodySize: TRANSPORT_BODY_LIMIT,
    routes: {
      "/inspect": {
        POST: async (request) => {
          if (inFlight >= o.maxInFlight) return send(request, overloaded());
          inFlight++;
          try {
            return send(request, (await inspectPost(request, answer)) ?? BODY_ENDED);
          } finally {
            inFlight--;
          }
        },
        OPTIONS: preflight,
      },
      "/inspect/:payload_hex": {
        // answered in this turn, so it holds no slot; refused while the slots are full
        GET: (request) => send(request, inFlight >= o.maxInFlight ? overloaded() : inspectGet(request.params.payload_hex, answer)),
        OPTIONS: preflight,
      },
      "/healthz": { GET: (request) => send(request, HEALTHY) },
    },
    fetch: (request) => send(request, NOT_FOUND),
    error: (e) => {
      o.onError(e);
      return toResponse(INTERNAL);
    },
  });
  return {
    port: server.port as number,
    stats,
    stop: () => void server.stop(true),
  };
}
