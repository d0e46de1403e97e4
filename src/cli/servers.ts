import { Elysia } from "elysia";
import type { FeedHub, FeedSink } from "../egress/feed.ts";
import {
  domainRoute,
  feeRoute,
  infoRoute,
  nonceRoute,
  readyzRoute,
  type ReadRouteDeps,
} from "../egress/read-routes.ts";
import { batchesRoute, txStatusRoute, type BatchesSource, type TxStatusSource } from "../egress/status-routes.ts";
import { finalizedStateRoute, inclusionBlockRoute, latestSnapshotRoute, type StateSource } from "../egress/state-routes.ts";
import { readBodyCapped, TRANSPORT_BODY_LIMIT } from "../http/body.ts";
import { corsHeaders, preflightResponse, type CorsPolicy } from "../http/cors.ts";
import { errorReply, HEALTHY, jsonReply, toResponse, type HttpReply } from "../http/reply.ts";
import { openApiReply } from "../http/openapi.ts";
import { checkFeedHandshake, type FeedSocketData } from "../egress/feed-upgrade.ts";
import type { ServerWebSocket } from "bun";
import { handleTx, type TxRouteDeps } from "../ingress/tx-route.ts";
import { inspectGet, inspectPost, type InspectAnswerer } from "../inspect/inspect-route.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { DASHBOARD_HTML, dashboardState, type DashboardSources } from "../observability/dashboard.ts";
import type { ListenAddr } from "./config.ts";

export interface PublicServerDeps {
  listen: ListenAddr;
  tx: TxRouteDeps;
  read: ReadRouteDeps;
  feed: FeedHub;
  /** Per-op status for `GET /tx/:tx_hash`. */
  status: TxStatusSource;
  log: Logger;
  /** `POST /tx` bodies above this many bytes are refused with 413, counted as they stream. */
  maxBodyBytes: number;
  /** Which browser origins may call the API (SEQ_CORS_ORIGINS). */
  cors: CorsPolicy;
  /** Inspect queries (answered by the follower worker); without it the routes answer 503. */
  inspect?: InspectAnswerer;
}

type Server = { port: number; stop(): Promise<void> };

export const FEED_PATH = "/ws/subscribe";

/** Every public route, as `METHOD path` (the OpenAPI test checks the document against it). */
export const PUBLIC_ROUTES = [
  "POST /tx",
  "GET /tx/:tx_hash",
  "POST /inspect",
  "GET /inspect/:payload_hex",
  "GET /fee",
  "GET /nonce",
  "GET /domain",
  "GET /info",
  "GET /healthz",
  "GET /readyz",
  "GET /openapi.json",
  `GET ${FEED_PATH}`,
] as const;

/**
 * The public listener: `POST /tx`, the read routes, inspect and the WebSocket feed. Internal
 * routes live on a separate listener (see `startInternalServer`) and are never mounted here.
 * Every answer, errors included, is JSON and carries the CORS grant for the request's origin.
 */
export function startPublicServer(d: PublicServerDeps): Server {
  const subscribers = new WeakMap<object, ReturnType<FeedHub["subscribe"]>>();
  const grant = (request: Request) => corsHeaders(d.cors, request.headers.get("origin"));
  const send = (request: Request, r: HttpReply) => toResponse(r, grant(request));
  const inspect = d.inspect ?? INSPECT_DISABLED;
  const tooLarge = (request: Request, cap: number) =>
    send(request, errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${cap} bytes`));

  // The feed's handshake is a native route of the server, not an Elysia route: Elysia's
  // fallback handler finds the path after the 11th character of the URL, so `Host: x` (or any
  // Host of three characters or fewer) sent a valid upgrade to 404 (feed-upgrade.ts).
  const feedRoute = (request: Request, server: BunServer): Response | undefined => {
    const hs = checkFeedHandshake(request);
    if (!hs.ok) return send(request, hs.reply);
    if (server.upgrade(request, { data: hs.data })) return undefined;
    return send(request, errorReply(400, "BAD_REQUEST", "not a valid WebSocket upgrade request"));
  };

  const app = new Elysia({ serve: { routes: { [FEED_PATH]: { GET: feedRoute } } } as never })
    .onError(({ error, code, request }) => {
      if (code === "NOT_FOUND") return send(request, errorReply(404, "NOT_FOUND", "no such route"));
      if (code === "PARSE" || code === "VALIDATION") return send(request, errorReply(400, "BAD_REQUEST", "malformed request"));
      d.log.error("unhandled request error", errorFields(error));
      return send(request, errorReply(500, "INTERNAL_ERROR", "internal error"));
    })
    .post(
      "/tx",
      async ({ request }) => {
        const body = await readBodyCapped(request, d.maxBodyBytes);
        if (!body.ok) return body.reason === "too_large" ? tooLarge(request, d.maxBodyBytes) : clientGone(request, d.log);
        return send(request, await handleTx(utf8.decode(body.bytes), d.tx));
      },
      { parse: "none" },
    )
    .post(
      "/inspect",
      async ({ request }) => {
        const reply = await inspectPost(request, inspect);
        return reply ? send(request, reply) : clientGone(request, d.log);
      },
      { parse: "none" },
    )
    .get("/inspect/:payload_hex", async ({ request, params }) => send(request, await inspectGet(params.payload_hex, inspect)))
    .get("/tx/:tx_hash", ({ request, params }) => send(request, txStatusRoute(d.status, params.tx_hash)))
    .get("/fee", ({ request }) => send(request, feeRoute(d.read)))
    .get("/nonce", ({ request, query }) => send(request, nonceRoute(d.read, query.sender)))
    .get("/domain", ({ request }) => send(request, domainRoute(d.read)))
    .get("/info", ({ request }) => send(request, infoRoute(d.read)))
    .get("/healthz", ({ request }) => send(request, HEALTHY))
    .get("/readyz", ({ request }) => send(request, readyzRoute(d.read)))
    .get("/openapi.json", ({ request }) => send(request, openApiReply()));
  // Preflight, per route: a browser asks before a POST with a JSON body.
  for (const path of new Set(PUBLIC_ROUTES.map((r) => r.slice(r.indexOf(" ") + 1)))) {
    if (path !== FEED_PATH) app.options(path, ({ request }) => preflightResponse(d.cors, request.headers.get("origin")));
  }
  app.listen({
    hostname: d.listen.host,
    port: d.listen.port,
    // Elysia defaults to SO_REUSEPORT, which would let a second sequencer bind the same port
    // and take half its connections; a port in use must be a startup error.
    reusePort: false,
    maxRequestBodySize: TRANSPORT_BODY_LIMIT,
    // The feed's socket handlers, in place of Elysia's (it has no WebSocket route here).
    websocket: {
      open(ws: ServerWebSocket<FeedSocketData>) {
        const sink: FeedSink = {
          send: (t) => ws.send(t),
          close: (code, reason) => ws.close(code, reason),
          bufferedAmount: () => ws.getBufferedAmount(),
        };
        subscribers.set(ws, d.feed.subscribe(sink, ws.data.fromOffset, ws.data.generation));
      },
      close(ws: ServerWebSocket<FeedSocketData>) {
        d.feed.unsubscribe(subscribers.get(ws));
        subscribers.delete(ws);
      },
      message() {
        // The feed is one-way; client messages are ignored.
      },
    } as never,
  });
  return {
    port: app.server!.port as number,
    stop: async () => {
      await app.stop(true);
    },
  };
}

type BunServer = { upgrade(request: Request, options: { data: FeedSocketData }): boolean };

const utf8 = new TextDecoder();

/** The client went away mid-body: nobody reads this answer, and it is not a server error. */
function clientGone(request: Request, log: Logger): Response {
  log.debug("client closed the connection before the request body ended", { url: request.url.slice(0, 200) });
  return toResponse(errorReply(400, "BAD_REQUEST", "the request body ended early"));
}

const INSPECT_OFF = errorReply(503, "UNAVAILABLE", "inspect is not served by this sequencer (SEQ_INSPECT_ENABLED=false)");
const INSPECT_DISABLED: InspectAnswerer = () => INSPECT_OFF;

export interface InternalServerDeps {
  listen: ListenAddr;
  log: Logger;
  /** Operator batch view for `GET /batches`. */
  batches: BatchesSource;
  /** Snapshots for the state routes (`/finalized_state*`, `/latest_snapshot`); run.ts always passes it. */
  state?: StateSource;
  /** Prometheus text for `GET /metrics`. */
  metrics?: () => string;
  /** The operator's page, `GET /dashboard`, and its data, `GET /dashboard/state`. */
  dashboard?: DashboardSources;
}

/** The state routes of SPEC §4 (docs/snapshots.md), as a plugin of the internal listener. */
function stateRoutes(state: StateSource | undefined, log: Logger) {
  const routes = new Elysia();
  if (!state) return routes;
  return routes
    .get("/finalized_state/inclusion_block", () => inclusionBlockRoute(state))
    .get("/finalized_state", ({ request }) => finalizedStateRoute(state, request, log))
    .get("/latest_snapshot", ({ request }) => latestSnapshotRoute(state, request, log));
}

/**
 * Operator-only listener (network-gated, no auth): batches, the state routes, metrics and the
 * dashboard. It sends no CORS headers: a page on another origin must not read it.
 */
export function startInternalServer(d: InternalServerDeps): Server {
  const app = new Elysia()
    .onError(({ error, code }) => {
      if (code === "NOT_FOUND") return toResponse(errorReply(404, "NOT_FOUND", "no such route"));
      d.log.error("unhandled internal request error", errorFields(error));
      return toResponse(errorReply(500, "INTERNAL_ERROR", "internal error"));
    })
    .get("/healthz", () => toResponse(HEALTHY))
    .get("/batches", ({ query }) => toResponse(batchesRoute(d.batches, query)))
    .use(stateRoutes(d.state, d.log))
    .get("/dashboard", () =>
      d.dashboard
        ? new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } })
        : toResponse(errorReply(404, "NOT_FOUND", "no such route")),
    )
    .get("/dashboard/state", () =>
      d.dashboard ? toResponse(jsonReply(dashboardState(d.dashboard))) : toResponse(errorReply(404, "NOT_FOUND", "no such route")),
    )
    .get("/metrics", () =>
      d.metrics
        ? new Response(d.metrics(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } })
        : toResponse(errorReply(404, "NOT_FOUND", "no such route")),
    )
    .listen({ hostname: d.listen.host, port: d.listen.port, reusePort: false });
  return {
    port: app.server!.port as number,
    stop: async () => {
      await app.stop(true);
    },
  };
}
