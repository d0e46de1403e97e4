/**
 * Startup, phases 3 and 4: restore the app state (newest snapshot, then the history after
 * it), then build what serves it: the inspect follower, the feed, the inclusion lane (wired
 * by ingress/lane-stack.ts like every harness) and the signature-recovery pool.
 */
import { domainSeparator } from "../../core/eip712.ts";
import { hexToBytes } from "../../core/bytes.ts";
import { MAX_USER_OP_DATA_BYTES } from "../../core/ssz.ts";
import { FeedHub } from "../../egress/feed.ts";
import { InlineSignaturePolicy } from "../../ingress/inline-policy.ts";
import type { InclusionLane } from "../../ingress/lane.ts";
import { createLane, restoreApp } from "../../ingress/lane-stack.ts";
import { SignaturePool } from "../../ingress/sigpool.ts";
import { InspectService } from "../../inspect/inspect-service.ts";
import type { Logger } from "../../observability/log.ts";
import { RecoveryStore } from "../../storage/recovery-store.ts";
import type { Config } from "../config.ts";
import { hostConfigOf, type AppPhase } from "./app-phase.ts";
import type { L1Phase } from "./l1-phase.ts";
import type { Lifecycle, LiveParts } from "./state.ts";
import type { StoragePhase } from "./storage-phase.ts";

export function restorePhase(app: AppPhase, storage: StoragePhase, log: Logger): void {
  const rebuilt = restoreApp(storage, app.app, storage.snapshots, log);
  log.info("app state rebuilt from history", {
    snapshot: rebuilt.snapshot?.path ?? null,
    snapshot_l2_tx_index: rebuilt.snapshot?.l2TxIndex ?? null,
    snapshot_bytes: rebuilt.snapshot?.bytes ?? null,
    load_ms: Math.round(rebuilt.loadMs),
    entries: rebuilt.replayed,
    ms: Math.round(rebuilt.replayMs),
  });
}

export interface LanePhase {
  lane: InclusionLane;
  feed: FeedHub;
  inspect: InspectService | undefined;
  recoveryStore: RecoveryStore;
  pool: SignaturePool;
  inlinePolicy: InlineSignaturePolicy;
  /** The largest op data accepted: the app's own limit within the batch codec's. */
  maxDataLength: number;
}

export function lanePhase(
  config: Config,
  app: AppPhase,
  storage: StoragePhase,
  l1: L1Phase,
  submitter: `0x${string}`,
  live: LiveParts,
  life: Lifecycle,
  log: Logger,
): LanePhase {
  // Inspect queries run on a follower instance in a worker, never on the lane's thread.
  const inspect = config.inspectEnabled
    ? new InspectService({
        dataDir: config.dataDir,
        wasm: app.bytes,
        hostConfig: hostConfigOf(config, submitter),
        appConfig: config.appConfig,
        log: log.child({ component: "inspect" }),
        maxPending: config.inspectQueueCapacity,
        debug: config.logLevel === "debug",
        ...(config.inspectHttp ? { listen: { ...config.inspectHttp, cors: config.corsOrigins } } : {}),
      })
    : undefined;
  if (inspect) {
    inspect.start();
    life.defer(() => inspect.stop());
  }

  const recoveryStore = new RecoveryStore(storage.db);
  const feed = new FeedHub({ history: storage.history, log: log.child({ component: "feed" }), generations: recoveryStore.generationSource() });
  const lane = createLane({
    storage,
    app: app.app,
    submitter: hexToBytes(submitter, 20),
    safeHead: l1.safeHead,
    snapshots: storage.snapshots,
    hooks: {
      maxBatchOpenMs: config.maxBatchOpenSeconds * 1000,
      queueCapacity: config.laneQueueCapacity,
      now: Date.now,
      log: log.child({ component: "lane" }),
      onCommitted: (entries) => feed.publish(entries),
      onCommitTimed: (seconds) => live.laneCommitSeconds?.observe(seconds),
      onFatal: (e) => life.fail(e),
      guard: () => live.recovery?.guard() ?? null,
    },
  });
  live.lane = lane;
  life.defer(() => lane.stop());

  // The codec's list limit bounds every app: an op beyond it would make its batch undecodable.
  const maxDataLength = Math.min(app.app.maxDataLength, MAX_USER_OP_DATA_BYTES);
  const pool = SignaturePool.create(config.signatureWorkers, domainSeparator(config.chainId, config.appAddress));
  life.defer(() => pool.close());
  return { lane, feed, inspect, recoveryStore, pool, inlinePolicy: new InlineSignaturePolicy(), maxDataLength };
}
