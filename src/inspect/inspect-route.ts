/**
 * `POST /inspect` (raw bytes as application/octet-stream, or JSON {"payload":"0x.."}) and
 * `GET /inspect/:payload_hex` (Cartesi 1.x style): parse, hand the bytes to the follower,
 * answer {status, reports: [{payload}], offset}. Bad input is a JSON error and reaches no app.
 *
 * Written once for both places that serve these routes: the public listener (cli/servers.ts,
 * the answer comes from the follower worker by message) and the inspect listener that the
 * worker itself runs when SEQ_INSPECT_HTTP_ADDR is set (inspect-listener.ts).
 */
import { hexToBytes } from "../core/bytes.ts";
import { readBodyCapped } from "../http/body.ts";
import { errorReply, type HttpReply } from "../http/reply.ts";

/** Largest inspect payload over HTTP (a query, not a data upload). */
export const MAX_INSPECT_PAYLOAD_BYTES = 64 * 1024;

/** Largest POST /inspect body: a JSON-wrapped hex payload at the payload cap. */
export const INSPECT_BODY_CAP = MAX_INSPECT_PAYLOAD_BYTES * 2 + 64;

/** What answers a well-formed query: the follower, however it is reached. */
export type InspectAnswerer = (payload: Uint8Array) => HttpReply | Promise<HttpReply>;

/** core's hex decoding; the GET path may leave out the 0x. */
function decodeHex(s: string): Uint8Array | null {
  try {
    return hexToBytes(s.startsWith("0x") || s.startsWith("0X") ? s : `0x${s}`);
  } catch {
    return null;
  }
}

/** The POST body, by content type. A reply when it is not acceptable. */
export function parseInspectBody(contentType: string | null, body: Uint8Array): Uint8Array | HttpReply {
  if (body.length > INSPECT_BODY_CAP) {
    return errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${INSPECT_BODY_CAP} bytes`);
  }
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  let payload: Uint8Array;
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch {
      return errorReply(400, "BAD_REQUEST", "body is not valid JSON");
    }
    const hex = (parsed as { payload?: unknown } | null)?.payload;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof hex !== "string") {
      return errorReply(400, "BAD_REQUEST", 'expected {"payload":"0x.."}');
    }
    const bytes = hex.startsWith("0x") ? decodeHex(hex) : null;
    if (!bytes) return errorReply(400, "BAD_REQUEST", "payload must be 0x-prefixed hex with an even number of digits");
    payload = bytes;
  } else if (type === "application/octet-stream" || type === "") {
    payload = body;
  } else {
    return errorReply(400, "BAD_REQUEST", "content-type must be application/octet-stream (raw bytes) or application/json");
  }
  if (payload.length > MAX_INSPECT_PAYLOAD_BYTES) {
    return errorReply(413, "PAYLOAD_TOO_LARGE", `payload exceeds ${MAX_INSPECT_PAYLOAD_BYTES} bytes`);
  }
  return payload;
}

/** The GET path's payload: hex, with or without 0x. */
export function parseInspectPath(hex: string): Uint8Array | HttpReply {
  if (hex.length > MAX_INSPECT_PAYLOAD_BYTES * 2 + 2) {
    return errorReply(413, "PAYLOAD_TOO_LARGE", `payload exceeds ${MAX_INSPECT_PAYLOAD_BYTES} bytes`);
  }
  const bytes = decodeHex(hex);
  return bytes ?? errorReply(400, "BAD_REQUEST", "the path must be the payload in hex (an even number of digits, 0x optional)");
}

/**
 * `POST /inspect`: the body read under its cap (counted as it streams), parsed, answered.
 * Null when the client went away before the body ended: nobody reads an answer then.
 */
export async function inspectPost(request: Request, answer: InspectAnswerer): Promise<HttpReply | null> {
  const body = await readBodyCapped(request, INSPECT_BODY_CAP);
  if (!body.ok) return body.reason === "too_large" ? errorReply(413, "PAYLOAD_TOO_LARGE", `body exceeds ${INSPECT_BODY_CAP} bytes`) : null;
  const parsed = parseInspectBody(request.headers.get("content-type"), body.bytes);
  return parsed instanceof Uint8Array ? answer(parsed) : parsed;
}

/** `GET /inspect/:payload_hex`. */
export function inspectGet<R extends HttpReply | Promise<HttpReply>>(payloadHex: string, answer: (payload: Uint8Array) => R): R | HttpReply {
  const parsed = parseInspectPath(payloadHex);
  return parsed instanceof Uint8Array ? answer(parsed) : parsed;
}
