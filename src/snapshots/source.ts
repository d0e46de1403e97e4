/**
 * What the startup rebuild (src/restore/rebuild.ts) needs from the snapshots: the newest
 * usable one, verified. SnapshotManager implements it; the rebuild only sees this.
 */
/** A snapshot read from disk and checked against its registry row. */
export interface LoadedSnapshot {
  path: string;
  l2TxIndex: number;
  executedInputCount: bigint;
  clock: bigint;
  bytes: Uint8Array;
}

export interface SnapshotSource {
  /**
   * The newest usable snapshot with at most `headOffset` entries, verified; null when none
   * exists. Throws SnapshotError when the one it should use is missing or corrupt.
   */
  loadNewest(headOffset: number): LoadedSnapshot | null;
}
