/**
 * A minimal HTTP/1.1 keep-alive client over raw TCP (`Bun.connect`) for the load generator.
 *
 * Why not `fetch`: on this 2-core box the client shares the CPU with the sequencer, and
 * `fetch` costs ≈ 45–55 µs of CPU per request (headers objects, Response, stream plumbing).
 * Here a request is bytes built before the timed section, written to an idle pooled socket;
 * the answer is parsed only as far as the status line and the body's length. That is the
 * sequencer's real HTTP server on loopback either way; only the client's overhead shrinks.
 *
 * One request in flight per connection (no pipelining): the caller's ordering rules (one op
 * per sender in flight) stay as simple as with fetch, and a slow answer delays nobody else.
 */

export interface Http1Response {
  status: number;
  body: Uint8Array;
}

export class Http1Error extends Error {
  override name = "Http1Error";
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const textEncoder = new TextEncoder();

/** The whole request as bytes: build once, send as often as needed. */
export function buildRequest(method: string, host: string, path: string, body?: string | Uint8Array): Uint8Array {
  const payload = body === undefined ? new Uint8Array(0) : typeof body === "string" ? textEncoder.encode(body) : body;
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n` +
    (body === undefined ? "" : "Content-Type: application/json\r\n") +
    `Content-Length: ${payload.length}\r\n\r\n`;
  const h = textEncoder.encode(head);
  const out = new Uint8Array(h.length + payload.length);
  out.set(h);
  out.set(payload, h.length);
  return out;
}

interface Parsed {
  status: number;
  body: Uint8Array;
  /** Bytes of the buffer this response used. */
  used: number;
  keepAlive: boolean;
}

/**
 * Parses one response from the front of `buf`, or returns null when more bytes are needed.
 * Throws on anything it cannot frame (the connection is then dropped).
 */
export function parseResponse(buf: Buffer): Parsed | null {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) {
    if (buf.length > 64 * 1024) throw new Http1Error("response header larger than 64 KiB");
    return null;
  }
  const head = buf.toString("latin1", 0, headEnd);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (m === null) throw new Http1Error(`bad status line: ${JSON.stringify(head.slice(0, 40))}`);
  const status = Number(m[1]);
  const lower = head.toLowerCase();
  const keepAlive = !/\r\nconnection:\s*close/.test(lower);
  const bodyStart = headEnd + 4;
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) return parseChunked(buf, bodyStart, status, keepAlive);
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  // 1xx/204/304 and HEAD carry no body; everything this client sends expects a framed body.
  const len = cl === null ? (status === 204 || status === 304 ? 0 : -1) : Number(cl[1]);
  if (len < 0) throw new Http1Error("response has neither content-length nor chunked encoding");
  if (buf.length < bodyStart + len) return null;
  return { status, body: buf.subarray(bodyStart, bodyStart + len), used: bodyStart + len, keepAlive };
}

function parseChunked(buf: Buffer, start: number, status: number, keepAlive: boolean): Parsed | null {
  const parts: Uint8Array[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", at, "latin1");
    if (lineEnd < 0) return null;
    const size = Number.parseInt(buf.toString("latin1", at, lineEnd).split(";")[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Http1Error("bad chunk size");
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers expected: the terminating CRLF follows the last-chunk line.
      if (buf.length < dataStart + 2) return null;
      return { status, body: Buffer.concat(parts), used: dataStart + 2, keepAlive };
    }
    if (buf.length < dataStart + size + 2) return null;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

interface Waiter {
  resolve(r: Http1Response): void;
  reject(e: Error): void;
}

class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: Waiter | null = null;
  private unsent: Uint8Array | null = null;
  alive = true;
  socket!: Bun.Socket<undefined>;

  constructor(private readonly onFree: (c: Connection) => void) {}

  send(req: Uint8Array, w: Waiter): void {
    this.waiter = w;
    const n = this.socket.write(req);
    if (n < req.length) this.unsent = req.subarray(Math.max(0, n));
  }

  drain(): void {
    if (this.unsent === null) return;
    const n = this.socket.write(this.unsent);
    this.unsent = n < this.unsent.length ? this.unsent.subarray(Math.max(0, n)) : null;
  }

  data(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let r: Parsed | null;
    try {
      r = parseResponse(this.buf);
    } catch (e) {
      this.fail(e as Error);
      this.socket.end();
      return;
    }
    if (r === null) {
      // Keep a private copy of a partial answer: the runtime may reuse the chunk's memory.
      if (this.buf === chunk) this.buf = Buffer.from(chunk);
      return;
    }
    // Copy the body out: the socket's chunk buffer may be reused by the runtime.
    const body = Uint8Array.prototype.slice.call(r.body);
    this.buf = r.used === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(r.used));
    const w = this.waiter;
    this.waiter = null;
    if (!r.keepAlive) {
      this.alive = false;
      this.socket.end();
    }
    w?.resolve({ status: r.status, body });
    if (this.alive) this.onFree(this);
  }

  fail(e: Error): void {
    this.alive = false;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }
}

/** A pool of keep-alive connections to one host: grows on demand, reuses idle sockets. */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  readonly hostHeader: string;

  constructor(
    private readonly hostname: string,
    private readonly port: number,
  ) {
    this.hostHeader = `${hostname}:${port}`;
  }

  static fromUrl(url: string): Http1Pool {
    const u = new URL(url);
    if (u.protocol !== "http:") throw new Http1Error(`only http:// is supported, got ${u.protocol}`);
    return new Http1Pool(u.hostname, Number(u.port || 80));
  }

  /** Sends pre-built request bytes (see buildRequest) and resolves with the response. */
  async request(req: Uint8Array): Promise<Http1Response> {
    let c = this.idle.pop();
    while (c !== undefined && !c.alive) c = this.idle.pop();
    if (c === undefined) c = await this.connect();
    const conn = c;
    return new Promise<Http1Response>((resolve, reject) => conn.send(req, { resolve, reject }));
  }

  private async connect(): Promise<Connection> {
    const conn = new Connection((c) => this.idle.push(c));
    const drop = (e: Error): void => {
      conn.fail(e);
      this.all.delete(conn);
    };
    conn.socket = await Bun.connect({
      hostname: this.hostname,
      port: this.port,
      socket: {
        data: (_s, chunk) => conn.data(chunk),
        drain: () => conn.drain(),
        close: () => drop(new Http1Error("connection closed")),
        error: (_s, e) => drop(e),
        end: () => drop(new Http1Error("connection ended by the server")),
      },
    });
    // Small requests, latency-bound: do not let Nagle hold them back.
    conn.socket.setNoDelay(true);
    this.all.add(conn);
    return conn;
  }

  close(): void {
    for (const c of this.all) {
      c.alive = false;
      c.socket.end();
    }
    this.all.clear();
    this.idle.length = 0;
  }
}
