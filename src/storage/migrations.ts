/**
 * Versioned schema migrations, applied in order at startup inside one transaction each.
 * A migration, once released, is never edited: fix forward with a new version.
 *
 * Writers (one writer per fact, see docs/storage.md):
 *   batches, frames, user_ops, sequenced_l2_txs ........ inclusion lane
 *   safe_inputs, l1_heads, batch_landings, divergence ..... input reader
 *   batch_submissions, wallet_nonce_watermark ............ batch submitter
 *   batch_policy ......................................... operator (SQL) / migrations
 *   snapshots ............................................ inclusion lane (insert), snapshot GC (delete)
 *   finalized_snapshot ................................... input reader
 *   snapshot_leases ...................................... internal state routes
 *   direct_outputs ....................................... inclusion lane (insert); a recovery
 *                                                          cascade deletes them with their history rows
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "hot path: batches, frames, user ops, ordered replay, safe inputs, policy",
    sql: `
      -- A batch is a node of the optimistic chain. Batches are never deleted: a later
      -- recovery stamps them invalidated instead. Nonce uniqueness holds among live batches.
      CREATE TABLE batches (
        batch_id        INTEGER PRIMARY KEY,
        nonce           INTEGER NOT NULL CHECK (nonce >= 0),
        parent_id       INTEGER REFERENCES batches(batch_id),
        opened_at_ms    INTEGER NOT NULL,
        closed_at_ms    INTEGER,
        -- keccak256 of the SSZ payload, stamped when the batch is sealed.
        sealed_hash     BLOB CHECK (sealed_hash IS NULL OR length(sealed_hash) = 32),
        invalidated_at_ms INTEGER,
        CHECK (closed_at_ms IS NULL OR closed_at_ms >= opened_at_ms)
      );
      CREATE UNIQUE INDEX batches_live_nonce ON batches(nonce) WHERE invalidated_at_ms IS NULL;

      CREATE TABLE frames (
        frame_id        INTEGER PRIMARY KEY,
        batch_id        INTEGER NOT NULL REFERENCES batches(batch_id),
        frame_index     INTEGER NOT NULL CHECK (frame_index >= 0),
        safe_block      INTEGER NOT NULL CHECK (safe_block >= 0),
        fee             INTEGER NOT NULL CHECK (fee BETWEEN 0 AND 17101),
        opened_at_ms    INTEGER NOT NULL,
        UNIQUE (batch_id, frame_index)
      );

      CREATE TABLE user_ops (
        user_op_id      INTEGER PRIMARY KEY,
        frame_id        INTEGER NOT NULL REFERENCES frames(frame_id),
        sender          BLOB NOT NULL CHECK (length(sender) = 20),
        nonce           INTEGER NOT NULL CHECK (nonce BETWEEN 0 AND 4294967295),
        max_fee         INTEGER NOT NULL CHECK (max_fee BETWEEN 0 AND 65535),
        data            BLOB NOT NULL,
        signature       BLOB NOT NULL CHECK (length(signature) = 65),
        tx_hash         BLOB NOT NULL CHECK (length(tx_hash) = 32),
        accepted_at_ms  INTEGER NOT NULL
      );
      CREATE INDEX user_ops_tx_hash ON user_ops(tx_hash);
      CREATE INDEX user_ops_frame ON user_ops(frame_id);

      -- Every InputBox input of the app up to the L1 safe head, including the batch
      -- submitter's own batches. Indices are contiguous from 0.
      CREATE TABLE safe_inputs (
        input_index     INTEGER PRIMARY KEY CHECK (input_index >= 0),
        sender          BLOB NOT NULL CHECK (length(sender) = 20),
        block_number    INTEGER NOT NULL,
        block_timestamp INTEGER NOT NULL,
        tx_hash         BLOB NOT NULL CHECK (length(tx_hash) = 32),
        payload         BLOB NOT NULL
      );
      CREATE INDEX safe_inputs_block ON safe_inputs(block_number);

      -- The ordered L2 history: each row is a user op XOR a drained direct input.
      -- Offsets are dense from 0.
      CREATE TABLE sequenced_l2_txs (
        l2_offset         INTEGER PRIMARY KEY CHECK (l2_offset >= 0),
        user_op_id        INTEGER UNIQUE REFERENCES user_ops(user_op_id),
        input_index       INTEGER REFERENCES safe_inputs(input_index),
        -- The frame that executed the row; for directs, the frame they were drained into.
        frame_id          INTEGER NOT NULL REFERENCES frames(frame_id),
        CHECK ((user_op_id IS NULL) <> (input_index IS NULL))
      );
      CREATE INDEX sequenced_l2_txs_input ON sequenced_l2_txs(input_index);

      -- Inserting a user op appends its replay row; the offset is the next dense one.
      CREATE TRIGGER trg_sequence_user_op AFTER INSERT ON user_ops
      BEGIN
        INSERT INTO sequenced_l2_txs (l2_offset, user_op_id, frame_id)
        VALUES (
          (SELECT COALESCE(MAX(l2_offset) + 1, 0) FROM sequenced_l2_txs),
          NEW.user_op_id,
          NEW.frame_id
        );
      END;

      -- What the reader last established about L1. Singleton row.
      CREATE TABLE l1_heads (
        id                    INTEGER PRIMARY KEY CHECK (id = 1),
        safe_block            INTEGER NOT NULL,
        -- Wall time (ms) at which safe_block last advanced: the stale-view clock.
        safe_advanced_at_ms   INTEGER NOT NULL,
        finalized_block       INTEGER NOT NULL,
        -- Inputs are complete up to and including this block.
        scanned_through_block INTEGER NOT NULL
      );

      -- Which chain and app this database belongs to, so a data dir is never reused for
      -- another deployment by mistake. Singleton row, written once at first start.
      CREATE TABLE instance (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        chain_id        TEXT NOT NULL,
        app_address     TEXT NOT NULL,
        batch_submitter TEXT NOT NULL,
        created_at_ms   INTEGER NOT NULL
      );

      -- Batch sizing and fee knobs in log space (SPEC 2.3). Singleton row.
      CREATE TABLE batch_policy (
        id                    INTEGER PRIMARY KEY CHECK (id = 1),
        log_alpha             INTEGER NOT NULL,
        log_one_plus_alpha    INTEGER NOT NULL,
        log_gas_price         INTEGER NOT NULL,
        log_slack             INTEGER NOT NULL,
        log_base_gas          INTEGER NOT NULL,
        log_delta             INTEGER NOT NULL,
        log_user_op_bytes     INTEGER NOT NULL,
        log_max_batch_bytes   INTEGER NOT NULL
      );
      INSERT INTO batch_policy VALUES (1, -229, 20, 0, 296, 1403, 419, 621, 1333);

      -- Operator-facing mirror of core/fees.ts (a test keeps the two equal).
      CREATE VIEW batch_policy_derived AS
        SELECT
          log_gas_price + log_slack + log_one_plus_alpha + log_delta + log_user_op_bytes
            AS recommended_fee,
          log_base_gas - log_alpha - log_delta AS batch_size_target
        FROM batch_policy WHERE id = 1;
    `,
  },
  {
    version: 2,
    name: "batches on L1: submissions, wallet-nonce watermark, landings, divergence",
    sql: `
      -- Every broadcast of a batch transaction (replacements included). Rows are never
      -- updated except to record the block the transaction was mined in.
      CREATE TABLE batch_submissions (
        submission_id             INTEGER PRIMARY KEY,
        batch_id                  INTEGER NOT NULL REFERENCES batches(batch_id),
        wallet_nonce              INTEGER NOT NULL CHECK (wallet_nonce >= 0),
        l1_tx_hash                BLOB NOT NULL UNIQUE CHECK (length(l1_tx_hash) = 32),
        max_fee_per_gas           TEXT NOT NULL,
        max_priority_fee_per_gas  TEXT NOT NULL,
        sent_at_ms                INTEGER NOT NULL,
        mined_block               INTEGER
      );
      CREATE INDEX batch_submissions_batch ON batch_submissions(batch_id);
      CREATE INDEX batch_submissions_wallet_nonce ON batch_submissions(wallet_nonce);

      -- Raised durably before any broadcast at a new wallet nonce: every wallet nonce below
      -- it may have a transaction of ours somewhere (recovery flushes up to it).
      CREATE TABLE wallet_nonce_watermark (
        id                  INTEGER PRIMARY KEY CHECK (id = 1),
        next_wallet_nonce   INTEGER NOT NULL CHECK (next_wallet_nonce >= 0)
      );

      -- What the scheduler rules made of each safe input sent by the batch submitter.
      CREATE TABLE batch_landings (
        input_index   INTEGER PRIMARY KEY REFERENCES safe_inputs(input_index),
        verdict       TEXT NOT NULL CHECK (verdict IN
                        ('accepted', 'malformed', 'wrong_nonce', 'invalid_structure', 'stale')),
        batch_nonce   INTEGER,
        -- Our batch this landing is (accepted and byte-identical only).
        batch_id      INTEGER UNIQUE REFERENCES batches(batch_id),
        detail        TEXT
      );

      -- A canonical divergence: L1 accepted, at one of our nonces, a batch that is not ours.
      -- Written once by the reader; only an operator removes it (docs/operations.md).
      CREATE TABLE divergence (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        batch_nonce     INTEGER NOT NULL,
        input_index     INTEGER NOT NULL,
        l1_tx_hash      BLOB NOT NULL,
        reason          TEXT NOT NULL,
        detected_at_ms  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "indexes: batches by nonce (operator view), history rows by frame (lane)",
    sql: `
      CREATE INDEX batches_nonce ON batches(nonce, batch_id);
      CREATE INDEX sequenced_l2_txs_frame ON sequenced_l2_txs(frame_id);
    `,
  },
  {
    version: 4,
    name: "remember the L1 binding so a restart during an L1 outage can serve",
    sql: `
      -- Written at each successful startup binding (chain checks passed). Singleton row.
      CREATE TABLE l1_binding (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        input_box     TEXT NOT NULL,
        from_block    INTEGER NOT NULL,
        bound_at_ms   INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: "snapshots: registry, finalized pointer, stream leases",
    sql: `
      -- One app-state dump per sealed batch, written by the lane in the transaction that seals
      -- the batch, after the file is durable (docs/snapshots.md). Rows are deleted by GC only,
      -- row first, then file.
      CREATE TABLE snapshots (
        snapshot_id           INTEGER PRIMARY KEY,
        batch_id              INTEGER NOT NULL UNIQUE REFERENCES batches(batch_id),
        -- Number of history entries (sequenced_l2_txs rows) the state covers.
        l2_tx_index           INTEGER NOT NULL CHECK (l2_tx_index >= 0),
        -- Host position restored together with the bytes (AppHost.load).
        executed_input_count  INTEGER NOT NULL CHECK (executed_input_count >= 0),
        clock                 INTEGER NOT NULL CHECK (clock >= 0),
        size_bytes            INTEGER NOT NULL CHECK (size_bytes >= 0),
        sha256                BLOB NOT NULL CHECK (length(sha256) = 32),
        -- Relative to <SEQ_DATA_DIR>/snapshots.
        file_name             TEXT NOT NULL UNIQUE,
        created_at_ms         INTEGER NOT NULL
      );
      CREATE INDEX snapshots_l2_tx_index ON snapshots(l2_tx_index, snapshot_id);

      -- THE finalized snapshot: the one of the newest batch of ours accepted in an L1-safe
      -- block. Singleton row written by the reader in the transaction that records the
      -- landing; it only moves forward. The foreign key keeps GC from deleting it.
      CREATE TABLE finalized_snapshot (
        id               INTEGER PRIMARY KEY CHECK (id = 1),
        snapshot_id      INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
        l2_tx_index      INTEGER NOT NULL,
        -- The landing: safe input index and the L1 block that included it.
        input_index      INTEGER NOT NULL REFERENCES safe_inputs(input_index),
        inclusion_block  INTEGER NOT NULL,
        finalized_at_ms  INTEGER NOT NULL
      );

      -- A snapshot being streamed over HTTP. The foreign key keeps GC from deleting a leased
      -- row; leases of earlier processes are cleared at startup.
      CREATE TABLE snapshot_leases (
        lease_id          INTEGER PRIMARY KEY,
        snapshot_id       INTEGER NOT NULL REFERENCES snapshots(snapshot_id),
        process_instance  TEXT NOT NULL,
        acquired_at_ms    INTEGER NOT NULL
      );
      CREATE INDEX snapshot_leases_snapshot ON snapshot_leases(snapshot_id);
    `,
  },
  {
    version: 6,
    name: "liveness recovery: generations, progress marker, truncated history",
    sql: `
      -- One row per completed cascade. Generation 0 (no row) is the original history.
      CREATE TABLE recovery_generations (
        generation            INTEGER PRIMARY KEY CHECK (generation >= 1),
        truncated_at_offset   INTEGER NOT NULL CHECK (truncated_at_offset >= 0),
        first_invalid_nonce   INTEGER NOT NULL,
        invalidated_batches   INTEGER NOT NULL,
        invalidated_ops       INTEGER NOT NULL,
        redrained_inputs      INTEGER NOT NULL,
        reason                TEXT NOT NULL,
        recovered_at_ms       INTEGER NOT NULL
      );

      -- Present while a recovery is under way, so a crash at any step resumes it at startup.
      CREATE TABLE recovery_state (
        id                  INTEGER PRIMARY KEY CHECK (id = 1),
        phase               TEXT NOT NULL CHECK (phase IN ('flushing', 'cascading')),
        reason              TEXT NOT NULL,
        started_at_ms       INTEGER NOT NULL,
        flush_safe_block    INTEGER
      );

      -- History rows cut by a cascade. Source rows (user_ops, safe_inputs) are never deleted;
      -- this keeps the order they had, per generation, for audits.
      CREATE TABLE truncated_l2_txs (
        generation    INTEGER NOT NULL REFERENCES recovery_generations(generation),
        l2_offset     INTEGER NOT NULL,
        user_op_id    INTEGER REFERENCES user_ops(user_op_id),
        input_index   INTEGER REFERENCES safe_inputs(input_index),
        frame_id      INTEGER NOT NULL REFERENCES frames(frame_id),
        PRIMARY KEY (generation, l2_offset)
      );
    `,
  },
  {
    version: 7,
    name: "index accepted landings by nonce: the scheduler's next nonce in O(log n)",
    sql: `CREATE INDEX batch_landings_accepted ON batch_landings(batch_nonce) WHERE verdict = 'accepted';`,
  },
  {
    version: 8,
    name: "tx_hash lookups move to the derived index in tx-index.db (off the commit path)",
    // The random-keyed index cost one dirtied, fsynced page per op in every group commit.
    // src/storage/tx-index.ts keeps the same lookup in its own file, written by the storage worker.
    sql: `DROP INDEX user_ops_tx_hash;`,
  },
  {
    version: 9,
    name: "the app module's identity: a data dir runs the module it was created with",
    // NULL only in a data dir created before this migration; the next start fills it in.
    sql: `ALTER TABLE instance ADD COLUMN app_module_sha256 TEXT CHECK (app_module_sha256 IS NULL OR length(app_module_sha256) = 64);`,
  },
  {
    version: 10,
    name: "app outputs of each history entry (SPEC 2.8)",
    sql: `
      -- What applying the op emitted, in order (storage/outputs-codec.ts); NULL when nothing.
      -- In the op's own row, so the group commit writes no extra page per op.
      ALTER TABLE user_ops ADD COLUMN outputs BLOB;

      -- The same for a direct input, and when the app failed on it, the failure class. A row
      -- only when there is something to say. Keyed by offset: a recovery cascade that
      -- truncates the history deletes these with it (the new generation reuses the offsets,
      -- and re-executes the re-drained inputs).
      CREATE TABLE direct_outputs (
        l2_offset   INTEGER PRIMARY KEY REFERENCES sequenced_l2_txs(l2_offset) ON DELETE CASCADE,
        outputs     BLOB NOT NULL,
        failure     TEXT CHECK (failure IS NULL OR failure IN ('fuel', 'depth', 'memory', 'trap', 'result', 'import'))
      );
    `,
  },
];
