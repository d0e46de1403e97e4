/**
 * Reading a request body under a byte cap, whatever its transfer encoding.
 *
 * With a Content-Length, the declared length is checked before anything is read, and the
 * HTTP layer delivers exactly that many bytes. Without one (chunked), the bytes are counted
 * as they stream in and the read stops at the first chunk past the cap: a client cannot make
 * the server hold more than the cap plus one chunk. The server's own `maxRequestBodySize` is
 * set far above every cap (cli/servers.ts), so that every refusal is this module's JSON 413
 * and never the HTTP layer's empty one.
 */

/**
 * The HTTP layer's own body limit (`maxRequestBodySize`) on every listener that takes bodies:
 * far above every route's cap, so that the HTTP layer never refuses a body itself (its 413 has
 * no body) and every refusal is the route's JSON 413 from `readBodyCapped`.
 */
export const TRANSPORT_BODY_LIMIT = 2 ** 40;

export type BodyReadResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: "too_large" }
  /** The client went away (or the stream broke) before the body ended; nobody reads the answer. */
  | { ok: false; reason: "aborted" };

const TOO_LARGE = { ok: false, reason: "too_large" } as const;
const ABORTED = { ok: false, reason: "aborted" } as const;

/** The declared Content-Length when it exceeds `cap`, checked before reading anything. */
export function declaredTooLarge(request: Request, cap: number): boolean {
  const v = request.headers.get("content-length");
  if (v === null) return false;
  const n = Number(v);
  // Unparseable lengths never get here (the HTTP parser refuses them); be strict anyway.
  return !Number.isFinite(n) || n > cap;
}

export async function readBodyCapped(request: Request, cap: number): Promise<BodyReadResult> {
  if (declaredTooLarge(request, cap)) return TOO_LARGE;
  if (request.headers.get("content-length") !== null) {
    // The declared length is within the cap and the HTTP layer stops there: read it whole
    // (the common case, and the cheapest).
    try {
      return { ok: true, bytes: new Uint8Array(await request.arrayBuffer()) };
    } catch {
      return ABORTED;
    }
  }
  const stream = request.body;
  if (stream === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        void reader.cancel().catch(() => {});
        return TOO_LARGE;
      }
      chunks.push(value);
    }
  } catch {
    return ABORTED;
  }
  if (chunks.length === 1) return { ok: true, bytes: chunks[0]! };
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { ok: true, bytes };
}
