/**
 * Snapshot files under <SEQ_DATA_DIR>/snapshots. A file becomes visible under its final name
 * only once its bytes are durable: write to a temp name, fsync the file, rename, fsync the
 * directory. Synchronous on purpose: the storage worker (or a test, inline) calls it, and the
 * row is registered only after it returns.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";

export const SNAPSHOT_DIR_NAME = "snapshots";
export const TEMP_PREFIX = ".tmp-";
const SNAPSHOT_SUFFIX = ".snap";

export function snapshotDir(dataDir: string): string {
  return join(dataDir, SNAPSHOT_DIR_NAME);
}

/** Creates the directory (and makes its entry in the data dir durable). */
export function ensureSnapshotDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  fsyncDir(dirname(dir));
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** `<l2_tx_index, 12 digits>-b<batch_id>-<sha256 prefix>.snap`: sorts by position, unique by content. */
export function snapshotFileName(l2TxIndex: number, batchId: number, hash: Uint8Array): string {
  const h = Buffer.from(hash.subarray(0, 8)).toString("hex");
  return `${String(l2TxIndex).padStart(12, "0")}-b${batchId}-${h}${SNAPSHOT_SUFFIX}`;
}

/**
 * Writes `bytes` durably as `dir/name`: temp file, fsync, rename, fsync of the directory.
 * Only after this returns may the file be registered. A crash before the rename leaves a
 * temp file; after it, an unregistered file; both are swept at the next start.
 */
export function writeSnapshotFile(dir: string, name: string, bytes: Uint8Array): void {
  const tmp = join(dir, `${TEMP_PREFIX}${name}-${randomBytes(4).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

/** Hashes `bytes`, names the file after its position and hash, and writes it durably. */
export function writeSnapshot(dir: string, l2TxIndex: number, batchId: number, bytes: Uint8Array): { fileName: string; sha256: Uint8Array } {
  const hash = sha256(bytes);
  const fileName = snapshotFileName(l2TxIndex, batchId, hash);
  writeSnapshotFile(dir, fileName, bytes);
  return { fileName, sha256: hash };
}

export function readSnapshotFile(dir: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, name)));
}

export function removeSnapshotFile(dir: string, name: string): boolean {
  try {
    unlinkSync(join(dir, name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/**
 * Deletes every entry of `dir` that `referenced` does not name: unregistered snapshots (a
 * crash or rollback between the fsync and the commit) and stray temp files. Startup only,
 * before anything writes snapshots. Returns the names removed.
 */
export function sweepOrphans(dir: string, referenced: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    // Only files are ours to remove; anything else is an operator's and is left alone.
    if (referenced.has(name) || !entry.isFile()) continue;
    removeSnapshotFile(dir, name);
    removed.push(name);
  }
  if (removed.length > 0) fsyncDir(dir);
  return removed;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
