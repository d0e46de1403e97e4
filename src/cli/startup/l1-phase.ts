/**
 * Startup, phase 2: L1. Bind to the chain with every startup check (or resume from the
 * stored binding when the node is unreachable and this data dir was bound before), create
 * the input reader, and sync once: the lane needs a safe head to open its first frame.
 */
import type { Database } from "bun:sqlite";
import { hexToBytes } from "../../core/bytes.ts";
import { ConfigError } from "../../core/errors.ts";
import { InputReader } from "../../l1/reader.ts";
import { bindL1, makePublicClient, type L1Binding } from "../../l1/setup.ts";
import { errorFields, type Logger } from "../../observability/log.ts";
import { loadL1Binding, saveL1Binding } from "../../storage/db.ts";
import type { ReaderStore } from "../../storage/reader-store.ts";
import type { Config } from "../config.ts";
import type { LiveParts } from "./state.ts";
import type { StoragePhase } from "./storage-phase.ts";

export interface L1Phase {
  binding: L1Binding;
  reader: InputReader;
  /** The safe head after the first sync (the stored one when L1 is unreachable). */
  safeHead: number;
}

export async function l1Phase(config: Config, storage: StoragePhase, submitter: `0x${string}`, live: LiveParts, log: Logger): Promise<L1Phase> {
  const binding = await bindOrResume(config, storage.db, storage.reader, log);
  const reader = new InputReader({
    client: binding.client,
    inputBox: binding.inputBox,
    app: config.appAddress,
    fromBlock: binding.fromBlock,
    store: storage.reader,
    pollIntervalMs: config.inputReaderPollIntervalMs,
    log: log.child({ component: "input-reader" }),
    longRangeErrorCodes: config.longBlockRangeErrorCodes,
    onSafeHead: (b) => {
      live.lane?.observeSafeHead(b);
      // The finalized snapshot may have moved: collect the ones it superseded.
      storage.snapshots.requestGc();
    },
    submitter: hexToBytes(submitter, 20),
    onDivergence: (d) => {
      live.divergenceReason = `canonical divergence at batch nonce ${d.batchNonce}: ${d.reason}`;
      void live.batchSubmitter?.stop();
    },
  });
  const safeHead = await reader.syncOnce().catch((e: unknown) => {
    // bindOrResume only lets us get here without L1 when stored heads exist.
    const stored = storage.reader.heads();
    if (!stored) throw e;
    log.warn("L1 unreachable: starting from the stored safe head; the reader keeps retrying", {
      safe_block: stored.safeBlock,
      ...errorFields(e),
    });
    return stored.safeBlock;
  });
  log.info("L1 synced", { safe_block: safeHead, inputs: storage.reader.nextInputIndex() });
  return { binding, reader, safeHead };
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
