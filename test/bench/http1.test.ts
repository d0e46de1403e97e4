/**
 * The load generator's raw HTTP/1.1 client (scripts/bench/lib/http1.ts), against a real
 * Bun.serve on loopback and a raw TCP server that frames answers the awkward ways HTTP allows
 * (split across packets, chunked, connection: close).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { buildRequest, Http1Error, Http1Pool, parseResponse } from "../../scripts/bench/lib/http1.ts";

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/echo") {
      const body = await req.text();
      return new Response(JSON.stringify({ method: req.method, len: body.length, body }), {
        headers: { "content-type": "application/json" },
      });
    }
    if (url.pathname === "/busy") return new Response("slow down", { status: 429 });
    return new Response("", { status: 404 });
  },
});

type Script = (s: Bun.Socket<undefined>) => void;
let script: Script = () => {};
const raw = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data: (s) => script(s),
  },
});

const pool = new Http1Pool("127.0.0.1", server.port!);
const rawPool = () => new Http1Pool("127.0.0.1", raw.port);
afterAll(() => {
  pool.close();
  server.stop(true);
  raw.stop(true);
});

const dec = new TextDecoder();

describe("Http1Pool against Bun.serve", () => {
  test("posts a body and reads status and body; reuses one connection for sequential requests", async () => {
    const body = JSON.stringify({ hello: "wörld", n: 7 });
    const req = buildRequest("POST", pool.hostHeader, "/echo", body);
    for (let i = 0; i < 5; i++) {
      const r = await pool.request(req);
      expect(r.status).toBe(200);
      const j = JSON.parse(dec.decode(r.body));
      expect(j).toEqual({ method: "POST", len: body.length, body });
    }
    expect((pool as unknown as { all: Set<unknown> }).all.size).toBe(1);
  });

  test("reports non-200 statuses and opens one connection per concurrent request", async () => {
    const p = new Http1Pool("127.0.0.1", server.port!);
    try {
      const busy = buildRequest("GET", p.hostHeader, "/busy");
      const rs = await Promise.all(Array.from({ length: 8 }, () => p.request(busy)));
      expect(rs.map((r) => r.status)).toEqual(Array(8).fill(429));
      expect(dec.decode(rs[0]!.body)).toBe("slow down");
      expect((p as unknown as { all: Set<unknown> }).all.size).toBe(8);
      expect((await p.request(buildRequest("GET", p.hostHeader, "/nothing"))).status).toBe(404);
    } finally {
      p.close();
    }
  });

  test("a large body crosses several TCP writes intact", async () => {
    const big = "x".repeat(300_000);
    const r = await pool.request(buildRequest("POST", pool.hostHeader, "/echo", big));
    expect(r.status).toBe(200);
    expect(JSON.parse(dec.decode(r.body)).len).toBe(300_000);
  });
});

describe("Http1Pool against a raw server", () => {
  test("an answer split across packets is reassembled", async () => {
    script = (s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Le");
      setTimeout(() => s.write("ngth: 5\r\n\r\nhel"), 5);
      setTimeout(() => s.write("lo"), 10);
    };
    const p = rawPool();
    try {
      const r = await p.request(buildRequest("GET", p.hostHeader, "/"));
      expect(r.status).toBe(200);
      expect(dec.decode(r.body)).toBe("hello");
    } finally {
      p.close();
    }
  });

  test("chunked encoding is decoded", async () => {
    script = (s) => {
      s.write("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n");
      setTimeout(() => s.write("5;ext=1\r\npedia\r\n0\r\n\r\n"), 5);
    };
    const p = rawPool();
    try {
      const r = await p.request(buildRequest("GET", p.hostHeader, "/"));
      expect(r.status).toBe(201);
      expect(dec.decode(r.body)).toBe("Wikipedia");
    } finally {
      p.close();
    }
  });

  test("connection: close retires the socket; the next request opens a new one", async () => {
    let conns = 0;
    script = (s) => {
      conns++;
      s.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    };
    const p = rawPool();
    try {
      for (let i = 0; i < 3; i++) expect((await p.request(buildRequest("GET", p.hostHeader, "/"))).status).toBe(200);
      expect(conns).toBe(3);
    } finally {
      p.close();
    }
  });

  test("a server that hangs up mid-answer rejects the request instead of hanging", async () => {
    script = (s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
      setTimeout(() => s.end(), 5);
    };
    const p = rawPool();
    try {
      await expect(p.request(buildRequest("GET", p.hostHeader, "/"))).rejects.toThrow(/connection/);
    } finally {
      p.close();
    }
  });

  test("garbage instead of a status line rejects the request", async () => {
    script = (s) => s.write("SMTP ready\r\n\r\n");
    const p = rawPool();
    try {
      await expect(p.request(buildRequest("GET", p.hostHeader, "/"))).rejects.toThrow(Http1Error);
    } finally {
      p.close();
    }
  });
});

describe("parseResponse", () => {
  test("needs the whole body before answering", () => {
    expect(parseResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"))).toBeNull();
    expect(parseResponse(Buffer.from("HTTP/1.1 200 OK\r\nContent-Le"))).toBeNull();
    const r = parseResponse(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcEXTRA"))!;
    expect(r.status).toBe(200);
    expect(dec.decode(r.body)).toBe("abc");
    expect(r.used).toBe("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc".length);
    expect(r.keepAlive).toBe(true);
  });

  test("an unframed body is an error, a 204 is empty", () => {
    expect(() => parseResponse(Buffer.from("HTTP/1.1 200 OK\r\n\r\nabc"))).toThrow(Http1Error);
    expect(parseResponse(Buffer.from("HTTP/1.1 204 No Content\r\n\r\n"))!.body.length).toBe(0);
  });

  test("buildRequest frames the body with its byte length", () => {
    const req = dec.decode(buildRequest("POST", "h:1", "/tx", "é"));
    expect(req).toBe("POST /tx HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\né");
  });
});
