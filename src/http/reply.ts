/** A prepared HTTP answer: the JSON text is built once and written as is. */
export interface HttpReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/**
 * The error codes of SPEC §4, plus `NOT_FOUND` (an unknown route or method, or an unknown
 * tx_hash); the set is closed so that clients can switch on it, and the OpenAPI document
 * lists exactly these.
 */
export const ERROR_CODES = [
  "BAD_REQUEST",
  "INVALID_SIGNATURE",
  "PAYLOAD_TOO_LARGE",
  "EXECUTION_REJECTED",
  "NOT_FOUND",
  "OVERLOADED",
  "UNAVAILABLE",
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function errorReply(status: number, code: ErrorCode, message: string): HttpReply {
  return { status, body: JSON.stringify({ ok: false, code, message }) };
}

export function jsonReply(value: unknown, status = 200): HttpReply {
  return { status, body: JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) };
}

/** `GET /healthz` on every listener: the process answers. */
export const HEALTHY: HttpReply = jsonReply({ ok: true, status: "up" });

const JSON_HEADERS = { "content-type": "application/json" };

/** `extra`: headers the listener adds to every answer (the public port's CORS grant). */
export function toResponse(r: HttpReply, extra?: Record<string, string>): Response {
  const headers = r.headers || extra ? { ...JSON_HEADERS, ...r.headers, ...extra } : JSON_HEADERS;
  return new Response(r.body, { status: r.status, headers });
}
