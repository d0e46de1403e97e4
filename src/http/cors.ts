/**
 * CORS for the public listener (SPEC §4, `SEQ_CORS_ORIGINS`). The internal listener never uses
 * this module: its routes are for operators on a gated network, and a browser page on another
 * origin must not be able to read them.
 *
 * No credentials are ever allowed (the API has no cookies or auth headers), so `*` is safe to
 * send as is; a list of origins echoes the request's origin when it is in the list, with
 * `Vary: Origin` so that caches keep the answers apart.
 */

export type CorsPolicy =
  | { kind: "none" }
  | { kind: "any" }
  | { kind: "list"; origins: ReadonlySet<string> };

export class CorsOriginsError extends Error {
  override name = "CorsOriginsError";
}

/**
 * `""` (or unset) → none; `*` → any origin; otherwise a comma-separated list of origins, each
 * `scheme://host[:port]` exactly as a browser sends it in the Origin header (no path, no
 * trailing slash).
 */
export function parseCorsOrigins(v: string | undefined): CorsPolicy {
  const text = (v ?? "").trim();
  if (text === "") return { kind: "none" };
  if (text === "*") return { kind: "any" };
  const origins = new Set<string>();
  for (const part of text.split(",")) {
    const o = part.trim();
    if (o === "*") throw new CorsOriginsError("'*' must be the whole value, not one entry of a list");
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new CorsOriginsError(`"${o}" is not an origin (expected scheme://host[:port])`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== o) {
      throw new CorsOriginsError(`"${o}" is not an origin as a browser sends it (expected e.g. ${url.origin})`);
    }
    origins.add(o);
  }
  return { kind: "list", origins };
}

const METHODS = "GET, POST, OPTIONS";
/** What a browser may send beyond the CORS-safelisted headers: JSON and octet-stream bodies. */
const ALLOWED_HEADERS = "content-type";
const ANY: Record<string, string> = { "access-control-allow-origin": "*" };

/** Headers to add to an answer for a request from `origin`; undefined when none apply. */
export function corsHeaders(p: CorsPolicy, origin: string | null): Record<string, string> | undefined {
  if (p.kind === "none") return undefined;
  if (p.kind === "any") return ANY;
  if (origin !== null && p.origins.has(origin)) return { "access-control-allow-origin": origin, vary: "Origin" };
  // Not an allowed origin: still say the answer varies by origin, so no cache reuses it.
  return { vary: "Origin" };
}

/**
 * The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`) or a plain OPTIONS:
 * 204 with `Allow`, and the CORS grant when the origin is allowed. A refused origin gets the
 * same 204 without the grant, which is how browsers expect a refusal to look.
 */
export function preflightResponse(p: CorsPolicy, origin: string | null): Response {
  const headers: Record<string, string> = { allow: METHODS, ...corsHeaders(p, origin) };
  if (headers["access-control-allow-origin"] !== undefined) {
    headers["access-control-allow-methods"] = METHODS;
    headers["access-control-allow-headers"] = ALLOWED_HEADERS;
    headers["access-control-max-age"] = "600";
  }
  return new Response(null, { status: 204, headers });
}
