/**
 * `GET /ws/subscribe`: the WebSocket handshake of the feed, checked here before Bun upgrades,
 * so that every refusal is the API's JSON error (SPEC §4) and not the HTTP layer's plain text:
 * - no `Upgrade: websocket` (a plain GET): 426, with `Upgrade: websocket`;
 * - a `Sec-WebSocket-Version` other than 13: 426, with `Sec-WebSocket-Version: 13` (RFC 6455 §4.4);
 * - a missing or malformed `Sec-WebSocket-Key`: 400;
 * - `from_offset` or `generation` not a canonical unsigned integer: 400.
 *
 * The query is parsed from the request's own URL, never from a router's path extraction, so
 * the Host header's length cannot change which route answers (Elysia's fallback handler finds
 * the path at `url.indexOf("/", 11)`, which a Host of three characters or fewer defeats).
 */
import { errorReply, type HttpReply } from "../http/reply.ts";

/** What the socket carries from the handshake to `open`. */
export interface FeedSocketData {
  fromOffset: number;
  /** Undefined: the client claims the current generation (it has seen no rollback). */
  generation: number | undefined;
}

export type FeedHandshake = { ok: true; data: FeedSocketData } | { ok: false; reply: HttpReply };

// base64 of 16 bytes: 22 characters and "==".
const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;

export function checkFeedHandshake(request: Request): FeedHandshake {
  const h = request.headers;
  if ((h.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return refuse(426, "this route is a WebSocket: connect with Upgrade: websocket", { upgrade: "websocket" });
  }
  const version = h.get("sec-websocket-version");
  if (version !== "13") {
    return refuse(426, "Sec-WebSocket-Version must be 13", { "sec-websocket-version": "13" });
  }
  if (!WS_KEY.test(h.get("sec-websocket-key") ?? "")) {
    return refuse(400, "Sec-WebSocket-Key must be the base64 of 16 bytes");
  }
  // request.url is absolute for HTTP/1.1, but only the path for an HTTP/1.0 request without a
  // Host header: read the query from after the "?" either way.
  const qi = request.url.indexOf("?");
  const q = new URLSearchParams(qi < 0 ? "" : request.url.slice(qi + 1));
  const from = parseOffset(q.get("from_offset"));
  const gen = parseOffset(q.get("generation"));
  if (from === null || gen === null) {
    return refuse(400, "from_offset and generation must be unsigned integers");
  }
  const genText = q.get("generation");
  return { ok: true, data: { fromOffset: from, generation: genText === null || genText === "" ? undefined : gen } };
}

function refuse(status: number, message: string, headers?: Record<string, string>): FeedHandshake {
  const reply = errorReply(status, "BAD_REQUEST", message);
  return { ok: false, reply: headers ? { ...reply, headers } : reply };
}

/** Absent → 0; otherwise a canonical decimal u64 (safe integer range), else null. */
function parseOffset(v: string | null): number | null {
  if (v === null || v === "") return 0;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}
