import { connect } from "node:net";

/** One HTTP/1.1 answer as it came off the wire. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything received, for messages. */
  raw: string;
}

/**
 * Writes `request` (bytes or text, sent as is) to a fresh TCP connection and reads until the
 * first answer is complete (Content-Length or chunked end), the peer closes, or `timeoutMs`.
 * For what `fetch` cannot send: odd Host headers, chunked bodies, garbage, cut-off bodies.
 */
export function rawRequest(port: number, request: string | Uint8Array, timeoutMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      if (answerComplete(Buffer.concat(chunks).toString("latin1"))) finish();
    });
    sock.on("close", finish);
    sock.on("error", finish);
    sock.write(request);
  });
}

/** Sends the head and part of a body, then closes the socket without waiting for an answer. */
export function abortMidBody(port: number, head: string, partialBody: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1", () => {
      sock.write(head + partialBody, () => {
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 50);
      });
    });
    sock.on("error", () => resolve());
  });
}

function answerComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const a = parseAnswer(text);
  if (a.status === 101) return true;
  const len = a.headers["content-length"];
  if (len !== undefined) return Buffer.byteLength(text.slice(end + 4), "latin1") >= Number(len);
  if ((a.headers["transfer-encoding"] ?? "").includes("chunked")) return text.endsWith("0\r\n\r\n");
  return a.status === 204 || a.status === 304;
}

function parseAnswer(raw: string): RawAnswer {
  const end = raw.indexOf("\r\n\r\n");
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = end < 0 ? "" : raw.slice(end + 4);
  if ((headers["transfer-encoding"] ?? "").includes("chunked")) body = dechunk(body);
  return { status: Number(statusLine.split(" ")[1] ?? 0), headers, body: Buffer.from(body, "latin1").toString("utf8"), raw };
}

function dechunk(s: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const nl = s.indexOf("\r\n", i);
    if (nl < 0) return out;
    const n = parseInt(s.slice(i, nl), 16);
    if (!(n > 0)) return out;
    out += s.slice(nl + 2, nl + 2 + n);
    i = nl + 2 + n + 2;
  }
}

/** A chunked POST of `body` in chunks of `chunkSize` bytes. */
export function chunkedPost(path: string, body: string, chunkSize: number, headers: Record<string, string> = {}): Buffer {
  const bytes = Buffer.from(body, "utf8");
  let out = `POST ${path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n`;
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}\r\n`;
  out += "\r\n";
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const c = bytes.subarray(i, i + chunkSize);
    out += `${c.length.toString(16)}\r\n${c.toString("latin1")}\r\n`;
  }
  return Buffer.from(out + "0\r\n\r\n", "latin1");
}
