/**
 * `sequencer run`: brings the sequencer up in typed phases, in dependency order (each in
 * `cli/startup/`):
 *
 *   app        the module, metered (from the data dir's cache on a restart)
 *   storage    database (a crash's WAL checkpointed first), deployment check, storage
 *              worker, snapshots
 *   L1         binding with every startup check, the input reader, a first sync (the lane
 *              needs a safe head to open its first frame)
 *   restore    the app state: newest snapshot, then the history after it
 *   lane       inspect follower, feed, inclusion lane (ingress/lane-stack.ts), signature pool
 *   servers    metrics, the public and internal listeners
 *   recovery   background loops, batch submitter, liveness recovery's startup decision
 *
 * Nothing confirms an op before the last phase has decided (`/readyz` says `starting`).
 * Whatever a phase started is stopped, newest first, if a later phase fails or at shutdown.
 */
import { privateKeyToAddress } from "viem/accounts";
import type { SequencerError } from "../core/errors.ts";
import type { Logger } from "../observability/log.ts";
import { describeHeapSizing } from "../runtime/heap-sizing.ts";
import { describeConfig, type Config } from "./config.ts";
import { appPhase } from "./startup/app-phase.ts";
import { l1Phase } from "./startup/l1-phase.ts";
import { lanePhase, restorePhase } from "./startup/lane-phase.ts";
import { recoveryPhase } from "./startup/recovery-phase.ts";
import { inspectListenerUrl, serversPhase } from "./startup/servers-phase.ts";
import { Lifecycle, newLiveParts } from "./startup/state.ts";
import { storagePhase } from "./startup/storage-phase.ts";
import { VERSION } from "./version.ts";

export interface RunningSequencer {
  publicUrl: string;
  internalUrl: string;
  /** The inspect listener (SEQ_INSPECT_HTTP_ADDR); undefined when none is configured. */
  inspectUrl: string | undefined;
  batchSubmitter: `0x${string}`;
  inputBox: `0x${string}`;
  /** Stops servers, workers and timers, then closes the database. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the sequencer stops on its own because of a fatal error. */
  fatal: Promise<SequencerError>;
}

export async function startSequencer(config: Config, log: Logger): Promise<RunningSequencer> {
  log.info("starting sequencer", { version: VERSION, config: describeConfig(config), ...describeHeapSizing(process.env) });
  const submitter = privateKeyToAddress(config.batchSubmitterPrivateKey).toLowerCase() as `0x${string}`;
  const app = await appPhase(config, submitter, log);

  const life = new Lifecycle(log);
  try {
    const storage = storagePhase(config, app.app, submitter, log, life);
    const recorded = storage.reader.divergence();
    // A divergence on record keeps the sequencer from serving until an operator acts.
    const live = newLiveParts(recorded ? `canonical divergence at batch nonce ${recorded.batchNonce}: ${recorded.reason}` : null);
    const l1 = await l1Phase(config, storage, submitter, live, log);
    restorePhase(app, storage, log);
    const lane = lanePhase(config, app, storage, l1, submitter, live, life, log);
    const dangerParams = { marginBlocks: config.preemptiveMarginBlocks, secondsPerBlock: config.secondsPerBlock };
    const servers = serversPhase(config, app.app, storage, l1, lane, submitter, dangerParams, live, life, log);
    const inspectUrl = await inspectListenerUrl(config, lane);
    recoveryPhase(config, app, storage, l1, lane, dangerParams, live, life, log);

    log.info("sequencer ready", {
      public_url: servers.publicUrl,
      internal_url: servers.internalUrl,
      ...(inspectUrl ? { inspect_url: inspectUrl } : {}),
      batch_submitter: submitter,
      next_offset: lane.lane.headOffset,
      batch_nonce: lane.lane.snapshot().batchNonce,
    });
    return {
      publicUrl: servers.publicUrl,
      internalUrl: servers.internalUrl,
      inspectUrl,
      batchSubmitter: submitter,
      inputBox: l1.binding.inputBox,
      fatal: life.fatal,
      stop: async () => {
        live.shuttingDown = true;
        await life.shutdown();
      },
    };
  } catch (e) {
    await life.shutdown();
    throw e;
  }
}
