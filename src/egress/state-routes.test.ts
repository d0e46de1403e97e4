/**
 * The internal state routes on the real internal listener, backed by the real snapshot
 * lifecycle (in-process lane + SQLite + wallet WASM). Covers status codes, ETag/304, the
 * stream's bytes and headers, and leases: released on completion and on client disconnect,
 * and a streamed snapshot never deleted underneath its reader.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { createLogger } from "../observability/log.ts";
import { startInternalServer } from "../cli/servers.ts";
import { bytesToHex } from "../core/bytes.ts";
import { sha256 } from "../storage/snapshot-files.ts";
import { account, Harness, transfer } from "../../scripts/lib/snapshot-harness.ts";
import { StatusQueries } from "../storage/status-queries.ts";
import { tempDir } from "../../test/support/sequencer.ts";
import { BUFFERED_MAX_BYTES, etagMatches } from "./state-routes.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ h: Harness; url: string }> {
  const d = tempDir("state-routes-");
  const h = new Harness(d.path);
  const srv = startInternalServer({
    listen: { host: "127.0.0.1", port: 0 },
    log: createLogger({ write: () => {} }),
    batches: new StatusQueries(h.db),
    state: h.snapshots,
  });
  cleanups.push(() => d.remove(), () => h.close(), () => srv.stop());
  return { h, url: `http://127.0.0.1:${srv.port}` };
}

async function sealOne(h: Harness, nonce: number): Promise<void> {
  if (nonce === 0) await h.deposit([{ to: account(0), amount: 10n ** 18n }]);
  expect((await h.submit(h.op(account(0), nonce, transfer(1n, account(1))))).ok).toBe(true);
  await h.seal();
}

/** Replaces a snapshot's file by `size` bytes of a pattern and re-registers size and hash. */
function inflate(h: Harness, nonce: number, size: number): Uint8Array {
  const row = h.db
    .query("SELECT s.snapshot_id AS id, s.file_name AS f FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id WHERE b.nonce = ?")
    .get(nonce) as { id: number; f: string };
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) & 0xff;
  writeFileSync(`${h.snapshots.dir}/${row.f}`, bytes);
  h.db.query("UPDATE snapshots SET size_bytes = ?, sha256 = ? WHERE snapshot_id = ?").run(size, sha256(bytes), row.id);
  return bytes;
}

const leases = (h: Harness) => h.snapshots.store.leaseCount();

async function eventually(f: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(10);
  }
}

describe("state routes", () => {
  test("404 before any snapshot/finalization; then headers, bytes, ETag and 304", async () => {
    const { h, url } = await setup();
    for (const p of ["/finalized_state/inclusion_block", "/finalized_state", "/latest_snapshot"]) {
      const r = await fetch(url + p);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ ok: false, code: "NOT_FOUND" });
    }
    await sealOne(h, 0);
    // a pending snapshot exists, nothing is finalized yet
    expect((await fetch(`${url}/finalized_state`)).status).toBe(404);
    expect((await fetch(`${url}/finalized_state`, { headers: { "if-none-match": "*" } })).status).toBe(404);
    const latest = await fetch(`${url}/latest_snapshot`);
    expect(latest.status).toBe(200);
    expect(latest.headers.get("x-snapshot-status")).toBe("pending");
    expect(latest.headers.get("x-l2-tx-index")).toBe("2");
    const latestBytes = new Uint8Array(await latest.arrayBuffer());
    expect(bytesToHex(latestBytes) as string).toBe(h.dumpHex());

    const block = h.land(0);
    const ib = await fetch(`${url}/finalized_state/inclusion_block`);
    expect(ib.status).toBe(200);
    expect(await ib.json()).toEqual({ inclusion_block: block, l2_tx_index: 2 });

    const fin = await fetch(`${url}/finalized_state`);
    expect(fin.status).toBe(200);
    expect(fin.headers.get("content-type")).toBe("application/octet-stream");
    expect(fin.headers.get("etag")).toBe(`"block-${block}"`);
    expect(fin.headers.get("x-inclusion-block")).toBe(String(block));
    expect(fin.headers.get("x-l2-tx-index")).toBe("2");
    expect(fin.headers.get("x-executed-input-count")).toBe("2");
    expect(fin.headers.get("x-app-clock")).toBe(String(h.app.clock));
    expect(fin.headers.get("x-batch-nonce")).toBe("0");
    const bytes = new Uint8Array(await fin.arrayBuffer());
    expect(fin.headers.get("content-length")).toBe(String(bytes.length));
    expect(fin.headers.get("x-snapshot-size")).toBe(String(bytes.length));
    expect(fin.headers.get("x-snapshot-sha256")).toBe(bytesToHex(sha256(bytes)));
    expect(bytes).toEqual(latestBytes);
    expect((await fetch(`${url}/latest_snapshot`)).headers.get("x-snapshot-status")).toBe("finalized");

    for (const inm of [`"block-${block}"`, `W/"block-${block}"`, `"x", "block-${block}"`, "*"]) {
      const r = await fetch(`${url}/finalized_state`, { headers: { "if-none-match": inm } });
      expect(r.status).toBe(304);
      expect(r.headers.get("etag")).toBe(`"block-${block}"`);
      expect((await r.arrayBuffer()).byteLength).toBe(0);
    }
    expect((await fetch(`${url}/finalized_state`, { headers: { "if-none-match": `"block-${block - 1}"` } })).status).toBe(200);
    // a newer finalization changes the ETag: the old one no longer matches
    await sealOne(h, 1);
    const block1 = h.land(1);
    const r = await fetch(`${url}/finalized_state`, { headers: { "if-none-match": `"block-${block}"` } });
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toBe(`"block-${block1}"`);
    await r.arrayBuffer();
    await eventually(() => leases(h) === 0, "leases released after complete responses");
    expect(etagMatches(`"block-1"`, `"block-10"`)).toBe(false);
  });

  test("a client that disconnects mid-stream releases its lease (fetch abort and raw TCP close)", async () => {
    const { h, url } = await setup();
    await sealOne(h, 0);
    inflate(h, 0, 64 << 20);

    // fetch + AbortController: read one chunk, then abort
    const ac = new AbortController();
    const res = await fetch(`${url}/latest_snapshot`, { signal: ac.signal });
    expect(res.status).toBe(200);
    // streamed (above the buffered size): chunked, with the size in its own header
    expect(res.headers.get("x-snapshot-size")).toBe(String(64 << 20));
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value!.length).toBeGreaterThan(0);
    expect(leases(h)).toBe(1);
    ac.abort();
    await reader.cancel().catch(() => {});
    await eventually(() => leases(h) === 0, "lease released after abort");

    // raw TCP: send the request, read a few bytes, close the socket
    const port = Number(new URL(url).port);
    let received = 0;
    const gotSome = Promise.withResolvers<void>();
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, d) {
          received += d.length;
          if (received > 1000) gotSome.resolve();
        },
      },
    });
    sock.write("GET /latest_snapshot HTTP/1.1\r\nHost: x\r\n\r\n");
    await gotSome.promise;
    expect(leases(h)).toBe(1);
    sock.end();
    await eventually(() => leases(h) === 0, "lease released after TCP close");
    expect(received).toBeLessThan(64 << 20);
  });

  test("a streamed snapshot is never deleted underneath its reader; GC proceeds after release", async () => {
    const { h, url } = await setup();
    await sealOne(h, 0);
    const big = inflate(h, 0, 32 << 20);
    h.land(0);
    const res = await fetch(`${url}/finalized_state`);
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    const first = await reader.read();
    chunks.push(first.value!);
    // superseded while streaming: GC must leave it alone
    await sealOne(h, 1);
    h.land(1);
    expect(h.snapshots.gc()).toBe(0);
    const pinned = h.db.query("SELECT file_name AS f FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id WHERE b.nonce = 0").get() as { f: string } | null;
    expect(pinned).not.toBeNull();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(big.length);
    expect(bytesToHex(sha256(got))).toBe(bytesToHex(sha256(big)));
    await eventually(() => leases(h) === 0, "lease released at completion");
    // the release scheduled a GC: the superseded snapshot goes, row then file
    await eventually(() => h.db.query("SELECT 1 FROM snapshots s JOIN batches b ON b.batch_id = s.batch_id WHERE b.nonce = 0").get() === null, "GC after release");
    expect(() => readFileSync(`${h.snapshots.dir}/${pinned!.f}`)).toThrow();
  });

  test("a file that no longer matches its hash: 500 when buffered, a body cut short when streamed", async () => {
    const { h, url } = await setup();
    await sealOne(h, 0);
    const row = h.snapshots.store.newest()!;
    const path = h.snapshots.pathOf(row);
    const bytes = new Uint8Array(readFileSync(path));
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(path, bytes);
    const small = await fetch(`${url}/latest_snapshot`);
    expect(small.status).toBe(500);
    expect(await small.json()).toMatchObject({ ok: false, code: "INTERNAL_ERROR" });
    expect(leases(h)).toBe(0);

    const big = inflate(h, 0, BUFFERED_MAX_BYTES + 3 * 65536 + 17);
    big[big.length - 1]! ^= 1;
    writeFileSync(path, big);
    let received = 0;
    let failed = false;
    try {
      const res = await fetch(`${url}/latest_snapshot`);
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
      }
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    expect(received).toBeLessThan(big.length);
    await eventually(() => leases(h) === 0, "lease released after failure");
  });
});
