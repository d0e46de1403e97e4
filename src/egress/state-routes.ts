/**
 * Internal state routes (SPEC §4, docs/snapshots.md), mounted on the internal listener only:
 *
 *   GET /finalized_state/inclusion_block  {inclusion_block, l2_tx_index} | 404
 *   GET /finalized_state                  the finalized snapshot's bytes | 304 | 404
 *   GET /latest_snapshot                  the newest snapshot's bytes    | 404
 *
 * A snapshot is leased before the response starts and released exactly once, when the last
 * byte has been read from the file, on a read error, or when the client goes away.
 *
 * Snapshots up to BUFFERED_MAX_BYTES are read (under the lease) and checked in full before the
 * response starts: a fixed Content-Length, and a corrupt file is a 500. Bigger ones are
 * streamed from the file: Bun's server sends any streamed body chunked, so those carry
 * X-Snapshot-Size instead of Content-Length, and a corrupt file ends the body short.
 */
import { open, type FileHandle } from "node:fs/promises";
import { createHash } from "node:crypto";
import { bytesEqual, bytesToHex } from "../core/bytes.ts";
import { errorReply, jsonReply, toResponse } from "../http/reply.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import type { FinalizedSnapshot, Lease, SnapshotRow } from "../storage/snapshot-store.ts";

export interface StateSource {
  finalized(): FinalizedSnapshot | null;
  leaseFinalized(): { lease: Lease; finalized: FinalizedSnapshot } | null;
  leaseLatest(): { lease: Lease; isFinalized: boolean } | null;
  release(leaseId: number): void;
  pathOf(row: SnapshotRow): string;
}

/** Read size of one stream chunk. */
const CHUNK = 64 * 1024;

/** Snapshots up to this size are answered from memory with a Content-Length (see above). */
export const BUFFERED_MAX_BYTES = 8 * 1024 * 1024;

export function etagOf(inclusionBlock: number): string {
  return `"block-${inclusionBlock}"`;
}

export function inclusionBlockRoute(src: StateSource): Response {
  const f = src.finalized();
  if (!f) return toResponse(errorReply(404, "NOT_FOUND", "no finalized state yet"));
  return toResponse(jsonReply({ inclusion_block: f.inclusionBlock, l2_tx_index: f.snapshot.l2TxIndex }));
}

export async function finalizedStateRoute(src: StateSource, request: Request, log: Logger): Promise<Response> {
  const current = src.finalized();
  if (!current) return toResponse(errorReply(404, "NOT_FOUND", "no finalized state yet"));
  const inm = request.headers.get("if-none-match");
  if (inm !== null && etagMatches(inm, etagOf(current.inclusionBlock))) {
    return new Response(null, { status: 304, headers: finalizedHeaders(current) });
  }
  const leased = src.leaseFinalized();
  if (!leased) return toResponse(errorReply(404, "NOT_FOUND", "no finalized state yet"));
  const headers = { ...snapshotHeaders(leased.lease.snapshot), ...finalizedHeaders(leased.finalized) };
  return streamLeased(src, leased.lease, headers, request, log);
}

export async function latestSnapshotRoute(src: StateSource, request: Request, log: Logger): Promise<Response> {
  const leased = src.leaseLatest();
  if (!leased) return toResponse(errorReply(404, "NOT_FOUND", "no snapshot yet"));
  const headers = {
    ...snapshotHeaders(leased.lease.snapshot),
    "x-snapshot-status": leased.isFinalized ? "finalized" : "pending",
    "cache-control": "no-cache",
  };
  return streamLeased(src, leased.lease, headers, request, log);
}

/** Everything a client needs to load the bytes into an AppHost and follow the feed. */
function snapshotHeaders(s: SnapshotRow): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "x-l2-tx-index": String(s.l2TxIndex),
    "x-executed-input-count": String(s.executedInputCount),
    "x-app-clock": String(s.clock),
    "x-batch-nonce": String(s.batchNonce),
    "x-snapshot-size": String(s.sizeBytes),
    "x-snapshot-sha256": bytesToHex(s.sha256),
  };
}

function finalizedHeaders(f: FinalizedSnapshot): Record<string, string> {
  return {
    etag: etagOf(f.inclusionBlock),
    "x-inclusion-block": String(f.inclusionBlock),
    "x-l2-tx-index": String(f.snapshot.l2TxIndex),
  };
}

/** RFC 9110 If-None-Match: `*`, or a list of (possibly weak) entity tags. */
export function etagMatches(header: string, etag: string): boolean {
  for (const raw of header.split(",")) {
    const t = raw.trim();
    if (t === "*" || t === etag || t === `W/${etag}`) return true;
  }
  return false;
}

/**
 * Streams the leased snapshot's file. The sha256 is checked as the file is read and the last
 * chunk is held back until it matches: a corrupt file ends the response short of its
 * Content-Length, so a client never takes bad bytes for a complete state.
 */
async function streamLeased(
  src: StateSource,
  lease: Lease,
  headers: Record<string, string>,
  request: Request,
  log: Logger,
): Promise<Response> {
  const row = lease.snapshot;
  const path = src.pathOf(row);
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    src.release(lease.leaseId);
    log.error("cannot open snapshot for streaming", { file: path, ...errorFields(e) });
    return toResponse(errorReply(500, "INTERNAL_ERROR", "snapshot unavailable"));
  }
  const size = row.sizeBytes;
  if (size <= BUFFERED_MAX_BYTES) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fh.readFile());
    } catch (e) {
      log.error("cannot read snapshot", { file: path, ...errorFields(e) });
      return toResponse(errorReply(500, "INTERNAL_ERROR", "snapshot unavailable"));
    } finally {
      await fh.close().catch(() => {});
      src.release(lease.leaseId);
    }
    if (bytes.length !== size || !bytesEqual(new Uint8Array(createHash("sha256").update(bytes).digest()), row.sha256)) {
      log.error("snapshot file does not match its registry row", { file: path, bytes: bytes.length, registered_bytes: size });
      return toResponse(errorReply(500, "INTERNAL_ERROR", "snapshot failed its integrity check"));
    }
    return new Response(bytes, { status: 200, headers });
  }
  const hasher = createHash("sha256");
  let pos = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    request.signal.removeEventListener("abort", finish);
    fh.close().catch(() => {});
    src.release(lease.leaseId);
  };
  if (request.signal.aborted) {
    finish();
    return new Response(null, { status: 499 });
  }
  request.signal.addEventListener("abort", finish, { once: true });
  const fail = (c: ReadableStreamDefaultController<Uint8Array>, message: string, e?: unknown): void => {
    finish();
    log.error(message, { file: path, at_byte: pos, ...(e ? errorFields(e) : {}) });
    c.error(new Error(message));
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (done) {
        // Aborted by the client: nothing more will be read.
        c.close();
        return;
      }
      try {
        const want = Math.min(CHUNK, size - pos);
        const buf = new Uint8Array(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
          if (bytesRead === 0) return fail(c, `snapshot file ended at byte ${pos + got} of ${size}`);
          got += bytesRead;
        }
        if (done) {
          c.close();
          return;
        }
        pos += got;
        hasher.update(buf);
        if (pos < size) {
          c.enqueue(buf);
          return;
        }
        if (!bytesEqual(new Uint8Array(hasher.digest()), row.sha256)) {
          return fail(c, "snapshot file does not match its registered sha256");
        }
        finish();
        if (buf.length > 0) c.enqueue(buf);
        c.close();
      } catch (e) {
        if (done) {
          // The client left while a read was in flight (the handle is closed): not an error.
          try {
            c.close();
          } catch {}
          return;
        }
        fail(c, "snapshot stream failed", e);
      }
    },
    cancel() {
      finish();
    },
  });
  return new Response(body, { status: 200, headers });
}
