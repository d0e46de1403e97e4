/**
 * Startup, phase 1: storage. The database (a WAL left by a crash is checkpointed first),
 * the check that it belongs to this deployment, the storage worker, and the snapshots
 * (dead leases cleared, orphan files swept) before anything reads or writes them.
 */
import type { AppHost } from "../../app/host.ts";
import { openLaneStorage, type LaneStorage } from "../../ingress/lane-stack.ts";
import type { Logger } from "../../observability/log.ts";
import { SnapshotManager } from "../../snapshots/lifecycle.ts";
import { bindInstance } from "../../storage/db.ts";
import { StorageBackground } from "../../storage/storage-background.ts";
import type { Config } from "../config.ts";
import type { Lifecycle } from "./state.ts";

export interface StoragePhase extends LaneStorage {
  background: StorageBackground;
  snapshots: SnapshotManager;
}

export function storagePhase(config: Config, app: AppHost, submitter: `0x${string}`, log: Logger, life: Lifecycle): StoragePhase {
  const storage = openLaneStorage(config.dataDir, {
    onWalCheckpoint: (c) =>
      log.info("checkpointed the WAL left by the previous run", { wal_bytes: c.walBytes, truncated: c.truncated, ms: Math.round(c.ms) }),
  });
  life.defer(() => storage.db.close());
  bindInstance(
    storage.db,
    { chainId: config.chainId, appAddress: config.appAddress, batchSubmitter: submitter, appModuleSha256: app.moduleSha256 },
    Date.now(),
  );
  // Checkpoints, the tx_hash index and snapshot file writes run on this worker's thread.
  const background = new StorageBackground({
    dataDir: config.dataDir,
    log: log.child({ component: "storage-worker" }),
    writerDb: storage.db,
  });
  background.start();
  life.defer(() => background.stop());
  const snapshots = SnapshotManager.open({
    db: storage.db,
    dataDir: config.dataDir,
    app,
    log: log.child({ component: "snapshots" }),
    writer: (dir, l2TxIndex, batchId, bytes) => background.writeSnapshot(dir, l2TxIndex, batchId, bytes),
  });
  life.defer(() => snapshots.stop());
  return { ...storage, background, snapshots };
}
