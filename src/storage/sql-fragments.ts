/**
 * SQL expressions several stores need, written once. Each is a scalar subquery.
 */

/**
 * The scheduler's next batch nonce as of the stored safe inputs: one past the nonce of the
 * last accepted landing (accepted nonces only ever grow). Served by `batch_landings_accepted`.
 */
export const SCHEDULER_NEXT_NONCE_SQL =
  "(SELECT COALESCE(MAX(batch_nonce) + 1, 0) FROM batch_landings WHERE verdict = 'accepted')";
