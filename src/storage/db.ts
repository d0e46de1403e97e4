import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, SequencerError } from "../core/errors.ts";
import { MIGRATIONS, type Migration } from "./migrations.ts";
import { attachTxIndex } from "./tx-index.ts";
import { checkpointLeftoverWal, type StartupCheckpoint } from "./wal.ts";

export class StorageError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE_ERROR", message, options);
  }
}

export const DB_FILE_NAME = "sequencer.db";

/** journal_size_limit of sequencer.db's WAL. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface OpenOptions {
  /** Read-only connections never migrate and never write. */
  readonly?: boolean;
  /** Told what the startup checkpoint of a leftover WAL did (writers only; see wal.ts). */
  onWalCheckpoint?: (c: StartupCheckpoint) => void;
}

/**
 * Opens (creating if needed) `<dataDir>/sequencer.db` with the durability settings the
 * acknowledgement rule depends on: WAL plus synchronous=FULL, so a committed transaction
 * survives power loss before `POST /tx` answers.
 */
export function openDatabase(dataDir: string, opts: OpenOptions = {}): Database {
  if (!opts.readonly) mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DB_FILE_NAME);
  let db: Database;
  try {
    db = opts.readonly
      ? new Database(path, { readonly: true, strict: true })
      : new Database(path, { create: true, readwrite: true, strict: true });
  } catch (e) {
    throw new StorageError(`cannot open database ${path}: ${(e as Error).message}`, { cause: e });
  }
  db.exec("PRAGMA busy_timeout = 5000");
  if (!opts.readonly) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    // Checkpoints run in the storage worker (storage-worker.ts), never inside a commit that a
    // user waits on, and not on the lane's thread either.
    db.exec("PRAGMA wal_autocheckpoint = 0");
    // After a WAL restart, a file grown by a burst is cut back to this size.
    db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    const leftover = checkpointLeftoverWal(db, path);
    if (leftover.walBytes > 0) opts.onWalCheckpoint?.(leftover);
    migrate(db, MIGRATIONS);
    // The derived tx_hash index lives in its own file, attached as `txi` (see tx-index.ts).
    attachTxIndex(db, dataDir);
  }
  return db;
}

/**
 * Runs a function in one transaction (a savepoint when nested), rolling back on a throw.
 * Build it once per store and reuse it: bun:sqlite's `transaction()` defines several
 * properties on every call, a cost the writers that commit many times a second (the lane per
 * chunk, the reader per slice) would otherwise pay each time.
 */
export function transactionRunner(db: Database): <T>(fn: () => T) => T {
  const run = db.transaction((fn: () => unknown) => fn());
  return <T>(fn: () => T) => run(fn) as T;
}

export function migrate(db: Database, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const current =
    (db.query("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null })
      .v ?? 0;
  const known = migrations.at(-1)?.version ?? 0;
  if (current > known) {
    throw new StorageError(
      `database schema version ${current} is newer than this binary supports (${known}); ` +
        "refusing to run an older sequencer against it",
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.query("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
  }
}

export function schemaVersion(db: Database): number {
  return (
    (db.query("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null }).v ??
    0
  );
}

export interface InstanceIdentity {
  chainId: bigint;
  appAddress: `0x${string}`;
  batchSubmitter: `0x${string}`;
  /** sha256 (hex) of the app module as given (SEQ_APP_WASM or the embedded wallet). */
  appModuleSha256: string;
}

/**
 * Binds the database to one deployment on first start and refuses any other afterwards:
 * replaying one chain's history against another chain would sequence garbage.
 */
export function bindInstance(db: Database, id: InstanceIdentity, nowMs: number): void {
  const row = db
    .query(
      `SELECT chain_id AS chainId, app_address AS app, batch_submitter AS submitter,
              app_module_sha256 AS module FROM instance WHERE id = 1`,
    )
    .get() as { chainId: string; app: string; submitter: string; module: string | null } | null;
  if (!row) {
    db.query(
      `INSERT INTO instance (id, chain_id, app_address, batch_submitter, app_module_sha256, created_at_ms)
       VALUES (1, ?, ?, ?, ?, ?)`,
    ).run(id.chainId.toString(), id.appAddress, id.batchSubmitter, id.appModuleSha256, nowMs);
    return;
  }
  const mismatch: string[] = [];
  if (row.chainId !== id.chainId.toString()) mismatch.push(`chain ${row.chainId} (SEQ_CHAIN_ID is ${id.chainId})`);
  if (row.app !== id.appAddress) mismatch.push(`app ${row.app} (SEQ_APP_ADDRESS is ${id.appAddress})`);
  if (row.submitter !== id.batchSubmitter) {
    mismatch.push(`batch submitter ${row.submitter} (the configured key belongs to ${id.batchSubmitter})`);
  }
  if (mismatch.length > 0) {
    throw new InstanceMismatchError(
      `the data dir belongs to another deployment: ${mismatch.join(", ")}; use another SEQ_DATA_DIR`,
    );
  }
  if (row.module === null) {
    // A data dir from before the module was recorded: the module it runs now is its module.
    db.query("UPDATE instance SET app_module_sha256 = ? WHERE id = 1").run(id.appModuleSha256);
  } else if (row.module !== id.appModuleSha256) {
    // The history was executed by another module: replaying it with this one would rebuild
    // a different state (or fail much later with a misleading snapshot error).
    throw new ConfigError(
      "SEQ_APP_WASM",
      `the app module (sha256 ${id.appModuleSha256}) is not the one this data dir was created with ` +
        `(sha256 ${row.module}); run the original module, or start this module with a fresh SEQ_DATA_DIR`,
    );
  }
}

export class InstanceMismatchError extends SequencerError {
  constructor(message: string) {
    super("INSTANCE_MISMATCH", message);
  }
}

export interface StoredL1Binding {
  inputBox: `0x${string}`;
  fromBlock: bigint;
}

/** The InputBox and first block of the last startup whose L1 checks all passed. */
export function loadL1Binding(db: Database): StoredL1Binding | null {
  const row = db.query("SELECT input_box AS inputBox, from_block AS fromBlock FROM l1_binding WHERE id = 1").get() as
    | { inputBox: `0x${string}`; fromBlock: number }
    | null;
  return row ? { inputBox: row.inputBox, fromBlock: BigInt(row.fromBlock) } : null;
}

export function saveL1Binding(db: Database, b: StoredL1Binding, nowMs: number): void {
  db.query(
    `INSERT INTO l1_binding (id, input_box, from_block, bound_at_ms) VALUES (1, ?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET input_box = ?1, from_block = ?2, bound_at_ms = ?3`,
  ).run(b.inputBox, Number(b.fromBlock), nowMs);
}
