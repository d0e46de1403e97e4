/** A prepared HTTP answer: the JSON text is built once and written as is. */
export interface HttpReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** The error codes of SPEC §4; the set is closed so that clients can switch on it. */
export type ErrorCode =
  | "BAD_REQUEST"
  | "INVALID_SIGNATURE"
  | "PAYLOAD_TOO_LARGE"
  | "EXECUTION_REJECTED"
  | "NOT_FOUND"
  | "OVERLOADED"
  | "UNAVAILABLE"
  | "INTERNAL_ERROR";

export function errorReply(status: number, code: ErrorCode, message: string): HttpReply {
  return { status, body: JSON.stringify({ ok: false, code, message }) };
}

export function jsonReply(value: unknown, status = 200): HttpReply {
  return { status, body: JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) };
}

const JSON_HEADERS = { "content-type": "application/json" };

export function toResponse(r: HttpReply): Response {
  return new Response(r.body, {
    status: r.status,
    headers: r.headers ? { ...JSON_HEADERS, ...r.headers } : JSON_HEADERS,
  });
}
