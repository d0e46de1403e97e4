import { privateKeyToAddress } from "viem/accounts";
import { submitterAccount } from "../l1/signer.ts";
import { AppHost, prepareAppRuntime, type AppConfig } from "../app/host.ts";
import { meteredCacheDirOf } from "../app/metering.ts";
import { InspectService } from "../inspect/inspect-service.ts";
import { loadAppBytes } from "../app/default-app.ts";
import { hexToBytes } from "../core/bytes.ts";
import { domainSeparator } from "../core/eip712.ts";
import { ConfigError, SignatureError, type SequencerError } from "../core/errors.ts";
import { AppConfigRefusedError, AppLoadError } from "../app/errors.ts";
import { MAX_USER_OP_DATA_BYTES } from "../core/ssz.ts";
import { limitsJson } from "../core/execution-limits.ts";
import { FeedHub } from "../egress/feed.ts";
import { InclusionLane } from "../ingress/lane.ts";
import { InlineRecoveryPolicy } from "../ingress/inline-policy.ts";
import { RecoverPool } from "../ingress/recover-pool.ts";
import { InputReader } from "../l1/reader.ts";
import { BatchSubmitter } from "../l1/submitter.ts";
import { bindL1, makePublicClient, type L1Binding } from "../l1/setup.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { createSequencerMetrics } from "../observability/sequencer-metrics.ts";
import { RecentSeries } from "../observability/recent-series.ts";
import { BalanceWatch } from "../l1/balance-watch.ts";
import { describeHeapSizing } from "../runtime/heap-sizing.ts";
import type { Histogram } from "../observability/metrics.ts";
import { StorageBackground } from "../storage/storage-background.ts";
import { bindInstance, loadL1Binding, openDatabase, saveL1Binding } from "../storage/db.ts";
import type { Database } from "bun:sqlite";
import { LaneStore } from "../storage/lane-store.ts";
import { loadBatchPolicy } from "../storage/policy-store.ts";
import { HistoryQueries } from "../storage/queries.ts";
import { ReaderStore } from "../storage/reader-store.ts";
import { RecoveryStore } from "../storage/recovery-store.ts";
import { RecoveryController } from "../recovery/controller.ts";
import { dangerThreshold } from "../recovery/danger.ts";
import { StatusQueries } from "../storage/status-queries.ts";
import { SubmitterStore } from "../storage/submitter-store.ts";
import { rebuildApp } from "../restore/rebuild.ts";
import { SnapshotManager } from "../snapshots/lifecycle.ts";
import { describeConfig, type Config } from "./config.ts";
import { startInternalServer, startPublicServer } from "./servers.ts";
import { VERSION } from "./version.ts";

export interface RunningSequencer {
  publicUrl: string;
  internalUrl: string;
  batchSubmitter: `0x${string}`;
  inputBox: `0x${string}`;
  /** Stops servers, workers and timers, then closes the database. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the sequencer stops on its own because of a fatal error. */
  fatal: Promise<SequencerError>;
}

const MAX_CHUNK = 1024;

/**
 * Brings the sequencer up in dependency order: app module, storage, L1 binding and first
 * sync (a safe head is needed to open the first frame), history replay, then the lane, the
 * reader loop and finally the listeners, so nothing is served before the state is rebuilt.
 */
export async function startSequencer(config: Config, log: Logger): Promise<RunningSequencer> {
  log.info("starting sequencer", { version: VERSION, config: describeConfig(config), ...describeHeapSizing(process.env) });
  const submitter = privateKeyToAddress(config.batchSubmitterPrivateKey).toLowerCase() as `0x${string}`;

  const appBytes = readAppBytes(config);
  const metered = await prepareAppRuntime(appBytes, { meteredCacheDir: meteredCacheDirOf(config.dataDir) });
  const app = loadApp(config, submitter, appBytes, log);
  log.info("app module loaded", {
    metering_cache: metered,
    module_sha256: app.moduleSha256,
    metered_sha256: app.meteredSha256,
    abi_version: app.abiVersion,
    ...limitsJson(app.limits),
  });

  const db = openDatabase(config.dataDir, {
    onWalCheckpoint: (c) =>
      log.info("checkpointed the WAL left by the previous run", { wal_bytes: c.walBytes, truncated: c.truncated, ms: Math.round(c.ms) }),
  });
  try {
    bindInstance(
      db,
      { chainId: config.chainId, appAddress: config.appAddress, batchSubmitter: submitter, appModuleSha256: app.moduleSha256 },
      Date.now(),
    );
  } catch (e) {
    db.close();
    throw e;
  }
  const cleanup: (() => Promise<void> | void)[] = [() => db.close()];
  const runCleanup = async () => {
    for (const f of cleanup.splice(0).reverse()) {
      try {
        await f();
      } catch (e) {
        log.warn("error during shutdown", errorFields(e));
      }
    }
  };

  try {
    // Before anything reads or writes snapshots: dead leases cleared, orphan files swept.
    // Checkpoints, the tx_hash index and snapshot file writes run on this worker's thread.
    const storage = new StorageBackground({
      dataDir: config.dataDir,
      log: log.child({ component: "storage-worker" }),
      writerDb: db,
    });
    storage.start();
    cleanup.push(() => storage.stop());
    const snapshots = SnapshotManager.open({
      db,
      dataDir: config.dataDir,
      app,
      log: log.child({ component: "snapshots" }),
      writer: (dir, l2TxIndex, batchId, bytes) => storage.writeSnapshot(dir, l2TxIndex, batchId, bytes),
    });
    cleanup.push(() => snapshots.stop());
    const readerStore = new ReaderStore(db);
    const l1 = await bindOrResume(config, db, readerStore, log);
    const history = new HistoryQueries(db);
    let lane: InclusionLane | null = null;
    let batchSubmitter: BatchSubmitter | null = null;
    const recorded = readerStore.divergence();
    // A divergence on record keeps the sequencer from serving until an operator acts.
    let divergenceReason: string | null = recorded
      ? `canonical divergence at batch nonce ${recorded.batchNonce}: ${recorded.reason}`
      : null;
    const reader = new InputReader({
      client: l1.client,
      inputBox: l1.inputBox,
      app: config.appAddress,
      fromBlock: l1.fromBlock,
      store: readerStore,
      pollIntervalMs: config.inputReaderPollIntervalMs,
      log: log.child({ component: "input-reader" }),
      longRangeErrorCodes: config.longBlockRangeErrorCodes,
      onSafeHead: (b) => {
        lane?.observeSafeHead(b);
        // The finalized snapshot may have moved: collect the ones it superseded.
        snapshots.requestGc();
      },
      submitter: hexToBytes(submitter, 20),
      onDivergence: (d) => {
        divergenceReason = `canonical divergence at batch nonce ${d.batchNonce}: ${d.reason}`;
        void batchSubmitter?.stop();
      },
    });
    const safeHead = await reader.syncOnce().catch((e: unknown) => {
      // bindOrResume only lets us get here without L1 when stored heads exist.
      const stored = readerStore.heads();
      if (!stored) throw e;
      log.warn("L1 unreachable: starting from the stored safe head; the reader keeps retrying", {
        safe_block: stored.safeBlock,
        ...errorFields(e),
      });
      return stored.safeBlock;
    });
    log.info("L1 synced", { safe_block: safeHead, inputs: readerStore.nextInputIndex() });

    const rebuilt = rebuildApp(app, history, snapshots, log);
    log.info("app state rebuilt from history", {
      snapshot: rebuilt.snapshot?.path ?? null,
      snapshot_l2_tx_index: rebuilt.snapshot?.l2TxIndex ?? null,
      snapshot_bytes: rebuilt.snapshot?.bytes ?? null,
      load_ms: Math.round(rebuilt.loadMs),
      entries: rebuilt.replayed,
      ms: Math.round(rebuilt.replayMs),
    });

    // Inspect queries run on a follower instance in a worker, never on the lane's thread.
    const inspect = config.inspectEnabled ? new InspectService({
      dataDir: config.dataDir,
      wasm: appBytes,
      hostConfig: hostConfigOf(config, submitter),
      appConfig: config.appConfig,
      log: log.child({ component: "inspect" }),
      maxPending: config.inspectQueueCapacity,
      debug: config.logLevel === "debug",
    }) : undefined;
    inspect?.start();
    if (inspect) cleanup.push(() => inspect.stop());

    const recoveryStore = new RecoveryStore(db);
    const generations = recoveryStore.generationSource();
    const feed = new FeedHub({ history, log: log.child({ component: "feed" }), generations });
    let recovery: RecoveryController | null = null;
    let resolveFatal!: (e: SequencerError) => void;
    const fatal = new Promise<SequencerError>((r) => (resolveFatal = r));
    let shuttingDown = false;
    let laneCommitSeconds: Histogram | undefined;
    lane = new InclusionLane(
      {
        store: new LaneStore(db),
        history,
        app,
        submitter: hexToBytes(submitter, 20),
        policy: () => loadBatchPolicy(db),
        maxBatchOpenMs: config.maxBatchOpenSeconds * 1000,
        queueCapacity: config.laneQueueCapacity,
        maxChunk: MAX_CHUNK,
        now: Date.now,
        log: log.child({ component: "lane" }),
        onCommitted: (entries) => feed.publish(entries),
        // The metrics exist only once the lane does (they read it); until then nothing commits.
        onCommitTimed: (seconds) => laneCommitSeconds?.observe(seconds),
        onFatal: (e) => resolveFatal(e),
        guard: () => recovery?.guard() ?? null,
        onSeal: (batchId, l2TxIndex, now) => snapshots.atSeal(batchId, l2TxIndex, now),
      },
      safeHead,
    );
    const theLane = lane;
    cleanup.push(() => theLane.stop());

    // The codec's list limit bounds every app: an op beyond it would make its batch undecodable.
    const maxDataLength = Math.min(app.maxDataLength, MAX_USER_OP_DATA_BYTES);
    const pool = RecoverPool.create(config.signatureWorkers, domainSeparator(config.chainId, config.appAddress));
    const inlinePolicy = new InlineRecoveryPolicy();
    cleanup.push(() => pool.close());
    // The listeners come up before the startup recovery decision is taken; until it is, no op
    // may be confirmed (reads already work).
    let decided = false;
    const unavailableReason = (): string | null =>
      shuttingDown
        ? "shutting down"
        : !decided
          ? "starting"
          : divergenceReason ?? recovery?.unavailableReason ?? (theLane.isHealthy ? null : "inclusion lane failed");
    const policy = () => loadBatchPolicy(db);

    const status = new StatusQueries(db);
    const balance = new BalanceWatch(l1.client, submitter);
    balance.start();
    cleanup.push(() => balance.stop());
    const dangerParams = { marginBlocks: config.preemptiveMarginBlocks, secondsPerBlock: config.secondsPerBlock };
    const metrics = createSequencerMetrics({
      db,
      queueDepth: () => theLane.queueDepth,
      commits: () => ({ commits: theLane.commits, ops: theLane.committedOps }),
      headOffset: () => theLane.headOffset,
      feedSubscribers: () => feed.subscriberCount,
      ready: () => unavailableReason() === null,
      diverged: () => divergenceReason !== null,
      recovering: () => recovery?.unavailableReason != null,
      generation: () => recoveryStore.generation(),
      batchStates: () => status.batchStateCounts(),
      l1Latest: () => reader.latestBlock,
      submitterBalanceWei: () => balance.wei,
      dangerHeadroom: () => recovery?.headroom() ?? null,
      snapshots: () => snapshots.stats(),
      snapshotSeals: () => snapshots.sealStats,
      storage: () => storage.stats,
      inlineRecoveries: () => pool.inlineOps,
    });
    laneCommitSeconds = metrics.laneCommit;
    const recent = new RecentSeries(() => metrics.txOutcomes.get({ outcome: "accepted" }), metrics.ackLatency);
    recent.start();
    cleanup.push(() => recent.stop());
    const pub = startPublicServer({
      listen: config.http,
      log,
      feed,
      status,
      maxBodyBytes: 4096 + 2 * maxDataLength,
      cors: config.corsOrigins,
      ...(inspect ? { inspect } : {}),
      tx: {
        lane: theLane,
        maxDataLength,
        recover: async (op) => {
          // Alone, with alone predecessors: skip the worker hop (ingress/inline-policy.ts).
          const r = await pool.recoverOp(op, { inline: inlinePolicy.decide(theLane.queueDepth) });
          if (r instanceof SignatureError) throw r;
          return r;
        },
        unavailableReason,
        onOutcome: (o, message, ms) => {
          if (o === "accepted") metrics.ackLatency.observe(ms / 1000);
          metrics.txOutcomes.inc(
            o === "rejected" && message !== null ? { outcome: o, reason: metrics.rejectionReason(message) } : { outcome: o },
          );
        },
      },
      read: {
        chainId: config.chainId,
        app: config.appAddress,
        inputBox: l1.inputBox,
        etherPortal: config.etherPortalAddress,
        erc20Portal: config.erc20PortalAddress,
        erc20Token: config.erc20TokenAddress,
        batchSubmitter: submitter,
        version: VERSION,
        appAbiVersion: app.abiVersion,
        appModuleSha256: app.moduleSha256,
        appMeteredSha256: app.meteredSha256,
        appConfig: config.appConfig,
        appInspect: app.hasInspect,
        maxDataLength,
        currentFee: () => theLane.currentFee,
        policy,
        nonceOf: (s) => app.nonceOf(s),
        unavailableReason,
        feedGeneration: () => generations.current(),
      },
    });
    cleanup.push(() => pub.stop());
    cleanup.push(() => feed.closeAll(1001, "shutting down"));
    const internal = startInternalServer({
      listen: config.internalHttp,
      log,
      batches: status,
      state: snapshots,
      metrics: () => metrics.registry.render(),
      dashboard: {
        version: VERSION,
        unavailableReason,
        l1: () => {
          const h = readerStore.heads();
          return {
            latest: reader.latestBlock,
            safe: h?.safeBlock ?? null,
            finalized: h?.finalizedBlock ?? null,
            safeAdvancedAtMs: h?.safeAdvancedAtMs ?? null,
            submitterBalanceWei: balance.wei,
          };
        },
        batches: () => status.batchStateCounts(),
        dangerThresholdBlocks: dangerThreshold(dangerParams),
        danger: () => recovery?.headroom() ?? null,
        recovery: () => ({
          generation: recoveryStore.generation(),
          recovering: recovery?.unavailableReason != null,
          reason: recovery?.unavailableReason ?? null,
          diverged: divergenceReason !== null,
        }),
        feedSubscribers: () => feed.subscriberCount,
        headOffset: () => theLane.headOffset,
        queueDepth: () => theLane.queueDepth,
        series: recent,
        app: {
          moduleSha256: app.moduleSha256,
          meteredSha256: app.meteredSha256,
          abiVersion: app.abiVersion,
          limits: limitsJson(app.limits),
          inspect: app.hasInspect,
        },
      },
    });
    cleanup.push(() => internal.stop());


    snapshots.start();
    reader.start();
    cleanup.push(() => reader.stop());
    theLane.start();
    batchSubmitter = new BatchSubmitter({
      client: l1.client,
      account: submitterAccount(config.batchSubmitterPrivateKey),
      chainId: Number(config.chainId),
      inputBox: l1.inputBox,
      app: config.appAddress,
      store: new SubmitterStore(db),
      history,
      confirmationDepth: config.batchSubmitterConfirmationDepth,
      idlePollMs: config.batchSubmitterIdlePollIntervalMs,
      log: log.child({ component: "batch-submitter" }),
    });
    const theSubmitter = batchSubmitter;
    cleanup.push(() => theSubmitter.stop());
    const account = submitterAccount(config.batchSubmitterPrivateKey);
    recovery = new RecoveryController({
      db,
      lane: theLane,
      submitter: theSubmitter,
      reader,
      readerStore,
      submitterStore: new SubmitterStore(db),
      feed,
      app,
      emptyAppState: loadApp(config, submitter, appBytes, log).dump(),
      history,
      snapshots,
      client: l1.client,
      account,
      chainId: Number(config.chainId),
      params: dangerParams,
      log: log.child({ component: "recovery" }),
      onFatal: (e) => resolveFatal(e),
    });
    const theRecovery = recovery;
    cleanup.push(() => theRecovery.stop());
    if (divergenceReason === null) {
      // The startup decision runs before any op is confirmed: an interrupted recovery resumes,
      // a batch put in danger by a long downtime starts one (the lane is paused synchronously).
      theRecovery.start();
      if (theRecovery.unavailableReason === null) theSubmitter.start();
    } else {
      log.error("refusing to serve: a canonical divergence is on record", { reason: divergenceReason });
    }
    decided = true;

    const publicUrl = `http://${config.http.host}:${pub.port}`;
    const internalUrl = `http://${config.internalHttp.host}:${internal.port}`;
    log.info("sequencer ready", {
      public_url: publicUrl,
      internal_url: internalUrl,
      batch_submitter: submitter,
      next_offset: theLane.headOffset,
      batch_nonce: theLane.snapshot().batchNonce,
    });
    return {
      publicUrl,
      internalUrl,
      batchSubmitter: submitter,
      inputBox: l1.inputBox,
      fatal,
      stop: async () => {
        shuttingDown = true;
        await runCleanup();
      },
    };
  } catch (e) {
    await runCleanup();
    throw e;
  }
}

function hostConfigOf(config: Config, submitter: `0x${string}`): AppConfig {
  return {
    feeRecipient: submitter,
    etherPortal: config.etherPortalAddress,
    erc20Portal: config.erc20PortalAddress,
    erc20Token: config.erc20TokenAddress,
  };
}

/**
 * An operator-supplied module that cannot be loaded is a configuration error naming it; a
 * config the app refuses names SEQ_APP_CONFIG.
 */
function loadApp(config: Config, submitter: `0x${string}`, bytes: Uint8Array, log: Logger): AppHost {
  try {
    return AppHost.create(bytes, hostConfigOf(config, submitter), {
      appConfig: config.appConfig,
      // the app's debug lines are not consensus: printed only at debug level, never stored
      ...(config.logLevel === "debug" ? { onLog: (line: string) => log.debug("app debug", { line, instance: "lane" }) } : {}),
    });
  } catch (e) {
    if (e instanceof AppConfigRefusedError) throw new ConfigError("SEQ_APP_CONFIG", e.message);
    if (config.appWasmPath !== undefined && e instanceof AppLoadError) {
      throw new ConfigError("SEQ_APP_WASM", e.message.replace(/^SEQ_APP_WASM=/, ""));
    }
    throw e;
  }
}

/** The module's bytes; an unreadable SEQ_APP_WASM is a configuration error naming it. */
function readAppBytes(config: Config): Uint8Array {
  try {
    return loadAppBytes(config.appWasmPath);
  } catch (e) {
    if (config.appWasmPath !== undefined && e instanceof AppLoadError) {
      throw new ConfigError("SEQ_APP_WASM", e.message.replace(/^SEQ_APP_WASM=/, ""));
    }
    throw e;
  }
}

/**
 * Binds to L1 with every startup check. If L1 cannot be reached but this data dir was bound
 * before (stored binding and safe head), the sequencer resumes from what it stored: users
 * keep getting soft confirmations through an L1 outage, and the L1 workers catch up later.
 * A first start, or any failed check (as opposed to an unreachable node), still stops here.
 */
async function bindOrResume(config: Config, db: Database, readerStore: ReaderStore, log: Logger): Promise<L1Binding> {
  try {
    const l1 = await bindL1({
      rpcUrl: config.ethRpcUrl,
      chainId: config.chainId,
      app: config.appAddress,
      inputBox: config.inputBoxAddress,
      deploymentBlock: config.inputBoxDeploymentBlock,
      etherPortal: config.etherPortalAddress,
      erc20Portal: config.erc20PortalAddress,
      log,
    });
    saveL1Binding(db, { inputBox: l1.inputBox, fromBlock: l1.fromBlock }, Date.now());
    return l1;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const stored = loadL1Binding(db);
    if (!stored || !readerStore.heads()) throw e;
    if (config.inputBoxAddress !== undefined && config.inputBoxAddress !== stored.inputBox) throw e;
    log.warn("L1 unreachable at startup; resuming from the stored binding", {
      input_box: stored.inputBox,
      ...errorFields(e),
    });
    return { client: makePublicClient(config.ethRpcUrl, log), inputBox: stored.inputBox, fromBlock: stored.fromBlock };
  }
}
