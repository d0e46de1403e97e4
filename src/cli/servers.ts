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
import { errorReply, jsonReply, toResponse } from "../http/reply.ts";
import { handleTx, type TxRouteDeps } from "../ingress/tx-route.ts";
import { handleInspect, parseInspectBody, parseInspectPath, MAX_INSPECT_PAYLOAD_BYTES, type InspectRouteDeps } from "../inspect/inspect-route.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { ListenAddr } from "./config.ts";

export interface PublicServerDeps {
  listen: ListenAddr;
  tx: TxRouteDeps;
  read: ReadRouteDeps;
  feed: FeedHub;
  /** Per-op status for `GET /tx/:tx_hash`. */
  status: TxStatusSource;
  log: Logger;
  /** Request bodies above this many bytes are refused with 413 before being read. */
  maxBodyBytes: number;
  /** Inspect queries (served by the follower worker); without it the routes answer 503. */
  inspect?: InspectRouteDeps;
}

type Server = { port: number; stop(): Promise<void> };

/**
 * The public listener: `POST /tx`, the read routes and the WebSocket feed. Internal routes
 * live on a separate listener (see `startInternalServer`) and are never mounted here.
 */
export function startPublicServer(d: PublicServerDeps): Server {
  const sinks = new WeakMap<object, ReturnType<FeedHub["subscribe"]>>();
  const app = new Elysia()
    .onError(({ error, code }) => {
      if (code === "NOT_FOUND") return toResponse(errorReply(404, "NOT_FOUND", "no such route"));
      d.log.error("unhandled request error", errorFields(error));
      return toResponse(errorReply(500, "INTERNAL_ERROR", "internal error"));
    })
    .post(
      "/tx",
      async ({ request }) => {
        const len = Number(request.headers.get("content-length") ?? "NaN");
        if (Number.isFinite(len) && len > d.maxBodyBytes) {
          return toResponse(errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${d.maxBodyBytes} bytes`));
        }
        const body = await request.text();
        // Chunked bodies carry no length header: check what actually arrived too.
        if (body.length > d.maxBodyBytes) {
          return toResponse(errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${d.maxBodyBytes} bytes`));
        }
        return toResponse(await handleTx(body, d.tx));
      },
      { parse: "none" },
    )
    .post(
      "/inspect",
      async ({ request }) => {
        const cap = MAX_INSPECT_PAYLOAD_BYTES * 2 + 64;
        const len = Number(request.headers.get("content-length") ?? "NaN");
        if (Number.isFinite(len) && len > cap) return toResponse(errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${cap} bytes`));
        const parsed = parseInspectBody(request.headers.get("content-type"), new Uint8Array(await request.arrayBuffer()));
        if (!(parsed instanceof Uint8Array)) return toResponse(parsed);
        return toResponse(await inspectOr503(d.inspect, parsed));
      },
      { parse: "none" },
    )
    .get("/inspect/:payload_hex", async ({ params }) => {
      const parsed = parseInspectPath(params.payload_hex);
      if (!(parsed instanceof Uint8Array)) return toResponse(parsed);
      return toResponse(await inspectOr503(d.inspect, parsed));
    })
    .get("/tx/:tx_hash", ({ params }) => toResponse(txStatusRoute(d.status, params.tx_hash)))
    .get("/fee", () => toResponse(feeRoute(d.read)))
    .get("/nonce", ({ query }) => toResponse(nonceRoute(d.read, query.sender)))
    .get("/domain", () => toResponse(domainRoute(d.read)))
    .get("/info", () => toResponse(infoRoute(d.read)))
    .get("/healthz", () => toResponse(jsonReply({ ok: true, status: "up" })))
    .get("/readyz", () => toResponse(readyzRoute(d.read)))
    .ws("/ws/subscribe", {
      beforeHandle({ query }) {
        const from = parseOffset(query.from_offset);
        const gen = parseOffset(query.generation);
        if (from === null || gen === null) {
          return toResponse(
            errorReply(400, "BAD_REQUEST", "from_offset and generation must be unsigned integers"),
          );
        }
      },
      open(ws) {
        const raw = ws.raw;
        const sink: FeedSink = {
          send: (t) => raw.send(t),
          close: (code, reason) => raw.close(code, reason),
          // Present at runtime in Bun; missing from some versions of its type declarations.
          bufferedAmount: () => (raw as unknown as { getBufferedAmount(): number }).getBufferedAmount(),
        };
        const q = ws.data.query as Record<string, string | undefined>;
        const from = parseOffset(q.from_offset) ?? 0;
        // No generation given: the client claims the current one (it has seen no rollback).
        const generation = q.generation === undefined || q.generation === "" ? undefined : (parseOffset(q.generation) ?? undefined);
        sinks.set(raw, d.feed.subscribe(sink, from, generation));
      },
      close(ws) {
        d.feed.unsubscribe(sinks.get(ws.raw));
        sinks.delete(ws.raw);
      },
      message() {
        // The feed is one-way; client messages are ignored.
      },
    })
    .listen({
      hostname: d.listen.host,
      port: d.listen.port,
      maxRequestBodySize: Math.max(d.maxBodyBytes * 4, 1 << 20),
    });
  return {
    port: app.server!.port as number,
    stop: async () => {
      await app.stop(true);
    },
  };
}

function inspectOr503(deps: InspectRouteDeps | undefined, payload: Uint8Array) {
  return deps ? handleInspect(deps, payload) : Promise.resolve(errorReply(503, "UNAVAILABLE", "inspect is not served by this sequencer (SEQ_INSPECT_ENABLED=false)"));
}

export interface InternalServerDeps {
  listen: ListenAddr;
  log: Logger;
  /** Operator batch view for `GET /batches`. */
  batches: BatchesSource;
  /** Snapshots for the state routes (`/finalized_state*`, `/latest_snapshot`); run.ts always passes it. */
  state?: StateSource;
  /** Prometheus text for `GET /metrics`. */
  metrics?: () => string;
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

/** Operator-only listener (network-gated, no auth): batches, the state routes; metrics mount here too. */
export function startInternalServer(d: InternalServerDeps): Server {
  const app = new Elysia()
    .onError(({ error, code }) => {
      if (code === "NOT_FOUND") return toResponse(errorReply(404, "NOT_FOUND", "no such route"));
      d.log.error("unhandled internal request error", errorFields(error));
      return toResponse(errorReply(500, "INTERNAL_ERROR", "internal error"));
    })
    .get("/healthz", () => toResponse(jsonReply({ ok: true, status: "up" })))
    .get("/batches", ({ query }) => toResponse(batchesRoute(d.batches, query)))
    .use(stateRoutes(d.state, d.log))
    .get("/metrics", () =>
      d.metrics
        ? new Response(d.metrics(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } })
        : toResponse(errorReply(404, "NOT_FOUND", "no such route")),
    )
    .listen({ hostname: d.listen.host, port: d.listen.port });
  return {
    port: app.server!.port as number,
    stop: async () => {
      await app.stop(true);
    },
  };
}

/** Absent → 0; otherwise a canonical decimal u64 (safe integer range), else null. */
function parseOffset(v: string | undefined): number | null {
  if (v === undefined || v === "") return 0;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}
