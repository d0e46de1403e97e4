import type { Database } from "bun:sqlite";
import type { BatchPolicy } from "../core/fees.ts";

/** Reads the singleton `batch_policy` row. Operators tune it with SQL; the lane samples it. */
export function loadBatchPolicy(db: Database): BatchPolicy {
  const row = db
    .query(
      `SELECT log_alpha AS logAlpha, log_one_plus_alpha AS logOnePlusAlpha,
              log_gas_price AS logGasPrice, log_slack AS logSlack, log_base_gas AS logBaseGas,
              log_delta AS logDelta, log_user_op_bytes AS logUserOpBytes,
              log_max_batch_bytes AS logMaxBatchBytes
       FROM batch_policy WHERE id = 1`,
    )
    .get() as BatchPolicy | null;
  if (!row) throw new Error("batch_policy row is missing");
  return row;
}

/** The operator-facing view; used by tests to prove it agrees with core/fees.ts. */
export function loadDerivedPolicy(db: Database): { recommendedFee: number; batchSizeTarget: number } {
  return db
    .query(
      "SELECT recommended_fee AS recommendedFee, batch_size_target AS batchSizeTarget FROM batch_policy_derived",
    )
    .get() as { recommendedFee: number; batchSizeTarget: number };
}
