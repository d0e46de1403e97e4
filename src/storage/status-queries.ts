import type { Database } from "bun:sqlite";
import type { Output } from "../core/l2tx.ts";
import { decodeOutputs } from "./outputs-codec.ts";
import { TX_CANDIDATES_SQL } from "./tx-index.ts";
import { BATCH_OVERHEAD, FRAME_OVERHEAD, SIGNATURE_BYTES, WIRE_USER_OP_OVERHEAD } from "../core/ssz.ts";

/**
 * Read-only views of where batches and user ops stand on L1 (SPEC §4 `GET /tx/:tx_hash`, and
 * the operator's `GET /batches`). Reads the lane's, the reader's and the submitter's tables;
 * writes nothing. One derivation (`batchState`) serves both views so they never disagree.
 */

/** Life cycle of a batch as the operator sees it; `invalidated` outranks everything else. */
export type BatchState = "open" | "closed" | "submitted" | "included" | "safe" | "finalized" | "invalidated";

/** What a user sees for one op: its batch's state, with open/closed folded together. */
export type OpStatus = "soft_confirmed" | "submitted" | "included" | "safe" | "finalized" | "invalidated";

/**
 * The L1 facts about one batch, gathered by the SQL fragment below. `sub*` describe the
 * submission that matters: the one whose hash landed, else the newest mined one, else the
 * newest one.
 */
interface BatchL1Facts {
  closedAtMs: number | null;
  invalidatedAtMs: number | null;
  landedInputIndex: number | null;
  landedBlock: number | null;
  landedTxHash: Uint8Array | null;
  subTxHash: Uint8Array | null;
  subWalletNonce: number | null;
  subSentAtMs: number | null;
  subMinedBlock: number | null;
  finalizedBlock: number | null;
}

/**
 * Joins, for batch alias `b`, its accepted landing (unique on batch_id), the landing input,
 * the relevant submission and the L1 heads. Every lookup is by primary key or index.
 * Only accepted, byte-identical landings carry a batch_id (the reader's rule); the verdict
 * test is belt and braces.
 */
const BATCH_L1_JOINS = `
  LEFT JOIN batch_landings l ON l.batch_id = b.batch_id AND l.verdict = 'accepted'
  LEFT JOIN safe_inputs li ON li.input_index = l.input_index
  LEFT JOIN batch_submissions sub ON sub.submission_id = COALESCE(
    (SELECT s.submission_id FROM batch_submissions s
      WHERE s.l1_tx_hash = li.tx_hash AND s.batch_id = b.batch_id),
    (SELECT s.submission_id FROM batch_submissions s
      WHERE s.batch_id = b.batch_id AND s.mined_block IS NOT NULL
      ORDER BY s.submission_id DESC LIMIT 1),
    (SELECT s.submission_id FROM batch_submissions s
      WHERE s.batch_id = b.batch_id ORDER BY s.submission_id DESC LIMIT 1))
  LEFT JOIN l1_heads h ON h.id = 1`;

const BATCH_L1_COLUMNS = `
  b.closed_at_ms AS closedAtMs, b.invalidated_at_ms AS invalidatedAtMs,
  li.input_index AS landedInputIndex, li.block_number AS landedBlock, li.tx_hash AS landedTxHash,
  sub.l1_tx_hash AS subTxHash, sub.wallet_nonce AS subWalletNonce, sub.sent_at_ms AS subSentAtMs,
  sub.mined_block AS subMinedBlock, h.finalized_block AS finalizedBlock`;

/**
 * The one derivation of a batch's state, in priority order: invalidated, finalized (accepted
 * landing in an L1-finalized block), safe (accepted landing: the reader stores safe inputs
 * only), included (a submission mined), submitted (a submission recorded), closed, open.
 */
export function batchState(f: BatchL1Facts): BatchState {
  if (f.invalidatedAtMs !== null) return "invalidated";
  if (f.landedBlock !== null) {
    return f.finalizedBlock !== null && f.landedBlock <= f.finalizedBlock ? "finalized" : "safe";
  }
  if (f.subMinedBlock !== null) return "included";
  if (f.subTxHash !== null) return "submitted";
  return f.closedAtMs !== null ? "closed" : "open";
}

export function opStatus(s: BatchState): OpStatus {
  return s === "open" || s === "closed" ? "soft_confirmed" : s;
}

/**
 * The L1 transaction and block to show for a state: the landing input's for safe/finalized,
 * the mined submission's for included, the newest submission's hash (no block) for
 * submitted, nothing otherwise (invalidated included: that batch will never count).
 */
function l1Pointer(state: BatchState, f: BatchL1Facts): { txHash: Uint8Array | null; block: number | null } {
  switch (state) {
    case "safe":
    case "finalized":
      return { txHash: f.landedTxHash, block: f.landedBlock };
    case "included":
      return { txHash: f.subTxHash, block: f.subMinedBlock };
    case "submitted":
      return { txHash: f.subTxHash, block: null };
    default:
      return { txHash: null, block: null };
  }
}

export interface TxStatus {
  txHash: Uint8Array;
  status: OpStatus;
  /** Position in the ordered history; null if recovery removed the op's history row. */
  offset: number | null;
  batchNonce: number;
  l1TxHash: Uint8Array | null;
  l1Block: number | null;
  /** What applying the op emitted (SPEC 2.8); none once recovery cut its history row. */
  outputs: readonly Output[];
}

export interface BatchView {
  nonce: number;
  batchId: number;
  state: BatchState;
  userOps: number;
  frames: number;
  /** Exact SSZ size of the batch payload (equals `encodeBatch(...).length`). */
  bytes: number;
  openedAtMs: number;
  closedAtMs: number | null;
  sealedHash: Uint8Array | null;
  /** safe_block of frame 0; null for a batch without frames. */
  firstSafeBlock: number | null;
  /** Same rule as `GET /tx`: landing tx when landed, else the mined/newest submission's. */
  l1TxHash: Uint8Array | null;
  walletNonce: number | null;
  submittedAtMs: number | null;
  /** The block the relevant submission was mined in; the landing block when landed. */
  minedBlock: number | null;
  landedBlock: number | null;
  landedInputIndex: number | null;
  finalized: boolean;
}

export const MAX_BATCHES_PAGE = 1000;

type TxStatusRow = BatchL1Facts & { offset: number | null; batchNonce: number; outputs: Uint8Array | null };
type BatchRow = BatchL1Facts & {
  batchId: number;
  nonce: number;
  openedAtMs: number;
  sealedHash: Uint8Array | null;
  frames: number;
  firstSafeBlock: number | null;
  userOps: number;
  opBytes: number;
};

/**
 * The op: newest among those sharing the hash, preferring ones whose batch is live (a
 * resubmission after invalidation gets a new row with the same hash). The candidates come
 * from the derived index in tx-index.db plus a scan of the not-yet-indexed tail
 * (TX_CANDIDATES_SQL); each is re-checked against user_ops.tx_hash, so a stale index can
 * never return another op. The rest are primary-key lookups and the indexes used by
 * BATCH_L1_JOINS (a test checks the query plan). Public route: this must stay cheap.
 */
export const TX_STATUS_SQL = `
  WITH cand(id) AS (${TX_CANDIDATES_SQL})
  SELECT b.nonce AS batchNonce, st.l2_offset AS offset,
         CASE WHEN st.l2_offset IS NULL THEN NULL ELSE u.outputs END AS outputs, ${BATCH_L1_COLUMNS}
  FROM cand
  CROSS JOIN user_ops u ON u.user_op_id = cand.id
  JOIN frames f ON f.frame_id = u.frame_id
  JOIN batches b ON b.batch_id = f.batch_id
  LEFT JOIN sequenced_l2_txs st ON st.user_op_id = u.user_op_id
  ${BATCH_L1_JOINS}
  WHERE u.tx_hash = ?1
  ORDER BY (b.invalidated_at_ms IS NULL) DESC, u.user_op_id DESC
  LIMIT 1`;

/** Fixed bytes of one wire op besides its data and signature (offset + nonce + max_fee + offsets). */
const OP_FIXED = WIRE_USER_OP_OVERHEAD - SIGNATURE_BYTES;

/**
 * One statement for a page: the page of batches, their frame and op aggregates (grouped over
 * the page only), and the per-batch L1 facts through indexed lookups. Size is
 * BATCH_OVERHEAD + frames * FRAME_OVERHEAD + sum over ops of (OP_FIXED + len(data) +
 * len(signature)): the same sum as core/ssz.ts batchEncodedSize.
 * CROSS JOIN pins the join order (SQLite honours it): page first, so the aggregates touch the
 * page's frames and ops only, never the whole history, whatever the planner's statistics.
 * The page itself is found through the batches_nonce index (migration 3).
 */
export const BATCHES_SQL = `
  WITH page AS (
    SELECT batch_id FROM batches WHERE nonce >= ? ORDER BY nonce, batch_id LIMIT ?
  ),
  fr AS (
    SELECT f.batch_id, COUNT(*) AS frames,
           (SELECT f0.safe_block FROM frames f0
             WHERE f0.batch_id = f.batch_id ORDER BY f0.frame_index LIMIT 1) AS firstSafeBlock
    FROM page p CROSS JOIN frames f ON f.batch_id = p.batch_id
    GROUP BY f.batch_id
  ),
  ops AS (
    SELECT f.batch_id, COUNT(*) AS userOps,
           SUM(${OP_FIXED} + length(u.data) + length(u.signature)) AS opBytes
    FROM page p CROSS JOIN frames f ON f.batch_id = p.batch_id
    CROSS JOIN user_ops u ON u.frame_id = f.frame_id
    GROUP BY f.batch_id
  )
  SELECT b.batch_id AS batchId, b.nonce AS nonce, b.opened_at_ms AS openedAtMs,
         b.sealed_hash AS sealedHash,
         COALESCE(fr.frames, 0) AS frames, fr.firstSafeBlock AS firstSafeBlock,
         COALESCE(ops.userOps, 0) AS userOps, COALESCE(ops.opBytes, 0) AS opBytes,
         ${BATCH_L1_COLUMNS}
  FROM page p
  JOIN batches b ON b.batch_id = p.batch_id
  LEFT JOIN fr ON fr.batch_id = b.batch_id
  LEFT JOIN ops ON ops.batch_id = b.batch_id
  ${BATCH_L1_JOINS}
  ORDER BY b.nonce, b.batch_id`;

/** Every batch's L1 facts, for counting them by state (dashboard, metrics). */
const BATCH_STATES_SQL = `SELECT ${BATCH_L1_COLUMNS} FROM batches b ${BATCH_L1_JOINS}`;

export const BATCH_STATES: readonly BatchState[] = ["open", "closed", "submitted", "included", "safe", "finalized", "invalidated"];

export class StatusQueries {
  private readonly qTx;
  private readonly qBatches;
  private readonly qStates;

  constructor(db: Database) {
    this.qTx = db.query(TX_STATUS_SQL);
    this.qBatches = db.query(BATCHES_SQL);
    this.qStates = db.query(BATCH_STATES_SQL);
  }

  /**
   * Batches by state, every state present (0 when none), by the one derivation (batchState).
   * Reads every batch: there is one per SEQ_MAX_BATCH_OPEN_SECONDS at most, thousands a year.
   */
  batchStateCounts(): Record<BatchState, number> {
    const counts = Object.fromEntries(BATCH_STATES.map((st) => [st, 0])) as Record<BatchState, number>;
    for (const r of this.qStates.all() as BatchL1Facts[]) counts[batchState(r)]++;
    return counts;
  }

  /** Status of the op with this 32-byte hash, or null when no op has it. */
  txStatus(txHash: Uint8Array): TxStatus | null {
    const r = this.qTx.get(txHash) as TxStatusRow | null;
    if (!r) return null;
    const state = batchState(r);
    const p = l1Pointer(state, r);
    return {
      txHash,
      status: opStatus(state),
      offset: r.offset,
      batchNonce: r.batchNonce,
      l1TxHash: p.txHash,
      l1Block: p.block,
      outputs: decodeOutputs(r.outputs),
    };
  }

  /** Batches with nonce >= fromNonce (live and invalidated), by nonce then batch id. */
  batches(fromNonce: number, limit: number): BatchView[] {
    const rows = this.qBatches.all(fromNonce, Math.min(limit, MAX_BATCHES_PAGE)) as BatchRow[];
    return rows.map((r) => {
      const state = batchState(r);
      const p = l1Pointer(state, r);
      return {
        nonce: r.nonce,
        batchId: r.batchId,
        state,
        userOps: r.userOps,
        frames: r.frames,
        bytes: BATCH_OVERHEAD + r.frames * FRAME_OVERHEAD + r.opBytes,
        openedAtMs: r.openedAtMs,
        closedAtMs: r.closedAtMs,
        sealedHash: r.sealedHash,
        firstSafeBlock: r.firstSafeBlock,
        // Invalidated batches still show the facts on record for the operator.
        l1TxHash: p.txHash ?? r.landedTxHash ?? r.subTxHash,
        walletNonce: r.subWalletNonce,
        submittedAtMs: r.subSentAtMs,
        minedBlock: r.subMinedBlock ?? r.landedBlock,
        landedBlock: r.landedBlock,
        landedInputIndex: r.landedInputIndex,
        finalized: state === "finalized",
      };
    });
  }
}
