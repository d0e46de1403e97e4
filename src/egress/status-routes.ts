import { bytesToHex, hexToBytes } from "../core/bytes.ts";
import { outputsJson } from "../core/l2tx.ts";
import { errorReply, jsonReply, type HttpReply } from "../http/reply.ts";
import { MAX_BATCHES_PAGE, type BatchView, type TxStatus } from "../storage/status-queries.ts";

/** What the routes need from storage (StatusQueries in production). */
export interface TxStatusSource {
  txStatus(txHash: Uint8Array): TxStatus | null;
}

export interface BatchesSource {
  batches(fromNonce: number, limit: number): BatchView[];
}

export const DEFAULT_BATCHES_PAGE = 100;

const TX_HASH_RE = /^0x[0-9a-fA-F]{64}$/;

/** Public `GET /tx/:tx_hash` (SPEC §4). */
export function txStatusRoute(src: TxStatusSource, rawHash: string | undefined): HttpReply {
  if (typeof rawHash !== "string" || !TX_HASH_RE.test(rawHash)) {
    return errorReply(400, "BAD_REQUEST", "tx_hash must be 0x followed by 64 hex digits");
  }
  const s = src.txStatus(hexToBytes(rawHash, 32));
  if (s === null) return errorReply(404, "NOT_FOUND", "no operation with this tx_hash");
  return jsonReply({
    tx_hash: bytesToHex(s.txHash),
    status: s.status,
    offset: s.offset,
    batch_nonce: s.batchNonce,
    l1_tx_hash: s.l1TxHash === null ? null : bytesToHex(s.l1TxHash),
    l1_block: s.l1Block,
    // the same rendering as the feed's (core/l2tx.ts)
    outputs: JSON.parse(outputsJson(s.outputs)) as unknown,
  });
}

/** Internal `GET /batches?from_nonce=N&limit=M` (operator view). */
export function batchesRoute(
  src: BatchesSource,
  query: { from_nonce?: string | undefined; limit?: string | undefined },
): HttpReply {
  const from = parseUint(query.from_nonce, 0);
  if (from === null) {
    return errorReply(400, "BAD_REQUEST", "from_nonce must be an unsigned decimal integer");
  }
  const limit = parseUint(query.limit, DEFAULT_BATCHES_PAGE);
  if (limit === null || limit < 1 || limit > MAX_BATCHES_PAGE) {
    return errorReply(400, "BAD_REQUEST", `limit must be an integer from 1 to ${MAX_BATCHES_PAGE}`);
  }
  return jsonReply({ batches: src.batches(from, limit).map(batchJson) });
}

function batchJson(b: BatchView) {
  return {
    nonce: b.nonce,
    batch_id: b.batchId,
    state: b.state,
    user_ops: b.userOps,
    frames: b.frames,
    bytes: b.bytes,
    opened_at: iso(b.openedAtMs),
    closed_at: iso(b.closedAtMs),
    sealed_hash: b.sealedHash === null ? null : bytesToHex(b.sealedHash),
    first_safe_block: b.firstSafeBlock,
    l1_tx_hash: b.l1TxHash === null ? null : bytesToHex(b.l1TxHash),
    wallet_nonce: b.walletNonce,
    submitted_at: iso(b.submittedAtMs),
    mined_block: b.minedBlock,
    landed_block: b.landedBlock,
    landed_input_index: b.landedInputIndex,
    finalized: b.finalized,
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Absent or empty → the default; otherwise a canonical decimal safe integer, else null. */
function parseUint(v: string | undefined, dflt: number): number | null {
  if (v === undefined || v === "") return dflt;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}
