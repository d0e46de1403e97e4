import type { AppHost } from "../app/host.ts";
import type { Logger } from "../observability/log.ts";
import { rowToTx, type HistoryQueries } from "../storage/queries.ts";

const PAGE = 4096;

/**
 * Rebuilds the app state at startup by executing the stored history in order. The ops were
 * validated when accepted, so replay only applies them; a failure here means storage and app
 * disagree, which the caller must treat as fatal.
 */
export function replayHistory(
  app: AppHost,
  history: HistoryQueries,
  fromOffset: number,
  log: Logger,
): { replayed: number; ms: number } {
  const started = performance.now();
  const head = history.headOffset();
  let offset = fromOffset;
  let lastReport = started;
  while (offset < head) {
    const rows = history.page(offset, PAGE);
    if (rows.length === 0) break;
    for (const row of rows) {
      const tx = rowToTx(row);
      if (tx.offset !== offset) throw new Error(`history gap: expected offset ${offset}, found ${tx.offset}`);
      if (tx.kind === "user_op") {
        app.applyUserOp(tx.sender, tx.nonce, tx.fee, tx.data, BigInt(row.safeBlock));
      } else {
        app.applyDirectInput(tx.sender, BigInt(tx.blockNumber), tx.payload);
      }
      offset++;
    }
    const now = performance.now();
    if (now - lastReport > 2000) {
      lastReport = now;
      log.info("replaying history", { offset, head, percent: Math.floor((offset * 100) / head) });
    }
  }
  const ms = performance.now() - started;
  return { replayed: offset - fromOffset, ms };
}
