/**
 * Startup, phase 6: the background work starts (snapshot GC, the input reader's loop, the
 * lane's timer), the batch submitter and liveness recovery are created, and recovery takes
 * its startup decision before any op is confirmed: an interrupted recovery resumes, a batch
 * put in danger by a long downtime starts one (the lane is paused synchronously). A
 * divergence on record keeps everything stopped until an operator acts.
 */
import { BatchSubmitter } from "../../l1/submitter.ts";
import { submitterAccount } from "../../l1/signer.ts";
import type { Logger } from "../../observability/log.ts";
import { RecoveryController } from "../../recovery/controller.ts";
import type { DangerParams } from "../../recovery/danger.ts";
import { SubmitterStore } from "../../storage/submitter-store.ts";
import type { Config } from "../config.ts";
import type { AppPhase } from "./app-phase.ts";
import type { L1Phase } from "./l1-phase.ts";
import type { LanePhase } from "./lane-phase.ts";
import type { Lifecycle, LiveParts } from "./state.ts";
import type { StoragePhase } from "./storage-phase.ts";

export function recoveryPhase(
  config: Config,
  app: AppPhase,
  storage: StoragePhase,
  l1: L1Phase,
  lane: LanePhase,
  dangerParams: DangerParams,
  live: LiveParts,
  life: Lifecycle,
  log: Logger,
): void {
  storage.snapshots.start();
  l1.reader.start();
  life.defer(() => l1.reader.stop());
  lane.lane.start();
  const account = submitterAccount(config.batchSubmitterPrivateKey);
  const submitter = new BatchSubmitter({
    client: l1.binding.client,
    account,
    chainId: Number(config.chainId),
    inputBox: l1.binding.inputBox,
    app: config.appAddress,
    store: new SubmitterStore(storage.db),
    history: storage.history,
    confirmationDepth: config.batchSubmitterConfirmationDepth,
    idlePollMs: config.batchSubmitterIdlePollIntervalMs,
    log: log.child({ component: "batch-submitter" }),
  });
  live.batchSubmitter = submitter;
  life.defer(() => submitter.stop());
  const recovery = new RecoveryController({
    db: storage.db,
    lane: lane.lane,
    submitter,
    reader: l1.reader,
    readerStore: storage.reader,
    submitterStore: new SubmitterStore(storage.db),
    feed: lane.feed,
    app: app.app,
    emptyAppState: app.fresh().dump(),
    history: storage.history,
    snapshots: storage.snapshots,
    client: l1.binding.client,
    account,
    chainId: Number(config.chainId),
    params: dangerParams,
    log: log.child({ component: "recovery" }),
    onFatal: (e) => life.fail(e),
  });
  live.recovery = recovery;
  life.defer(() => recovery.stop());
  if (live.divergenceReason === null) {
    recovery.start();
    if (recovery.unavailableReason === null) submitter.start();
  } else {
    log.error("refusing to serve: a canonical divergence is on record", { reason: live.divergenceReason });
  }
  live.decided = true;
}
