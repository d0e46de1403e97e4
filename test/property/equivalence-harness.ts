/**
 * The sequencer/scheduler equivalence harness (issue 4, SPEC §2.4–2.5).
 *
 * It drives the REAL inclusion lane, storage and wallet WASM through a random workload while
 * a simulated L1 decides when each input lands, then folds the resulting L1 input stream
 * through the canonical scheduler (core/scheduler.ts) with a fresh app, and compares.
 *
 * The L1 is simulated (not anvil) because the property needs thousands of blocks per run and
 * hundreds of runs; what it simulates is only the ordering of inputs by block, which is all
 * the scheduler sees. The lane learns about L1 exactly as in production: through the input
 * reader's storage writer (ReaderStore.append) and `observeSafeHead`.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { AppHost } from "../../src/app/host.ts";
import { chaosWalletBytes, CHAOS } from "../support/chaos-wallet.ts";
import { hexToBytes } from "../../src/core/bytes.ts";
import { domainSeparator } from "../../src/core/eip712.ts";
import type { SequencedTx } from "../../src/core/l2tx.ts";
import { Scheduler, type ExecutedEntry } from "../../src/core/scheduler.ts";
import { encodeBatch, txHash } from "../../src/core/ssz.ts";
import type { LaneFatalError, SignedOp } from "../../src/ingress/lane.ts";
import { createLane, openLaneStorage } from "../../src/ingress/lane-stack.ts";
import { replayHistory } from "../../src/restore/rebuild.ts";
import { createLogger } from "../../src/observability/log.ts";
import { rowToTx, type HistoryRow } from "../../src/storage/queries.ts";
import { signOp, transferData, withdrawalData } from "../support/client.ts";
import { tempDir } from "../support/sequencer.ts";
import { FIXTURE_APP, FIXTURE_PORTAL, SUBMITTER as FIXTURE_SUBMITTER, ZERO } from "../../scripts/lib/fixture-addresses.ts";

export const CHAIN = 31337n;
export const APP: Hex = FIXTURE_APP;
export const PORTAL: Hex = FIXTURE_PORTAL;
export const OTHER = "0x3333333333333333333333333333333333333333" as Hex;
export const SUBMITTER: Hex = FIXTURE_SUBMITTER;
/** Anvil dev keys 2..5; the last one never deposits (it can never pay a fee). */
export const KEYS = [
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
] as const satisfies readonly Hex[];
const USERS = KEYS.map((k) => privateKeyToAccount(k).address.toLowerCase() as Hex);

export type Action =
  | { t: "deposit"; user: number; amount: bigint }
  | { t: "other"; payload: Uint8Array }
  | { t: "op"; user: number; kind: OpKind; to: number }
  /** A direct input the app fails on (SPEC 2.8): an included no-op on both sides. */
  | { t: "failing_input" }
  | { t: "advance"; blocks: number }
  | { t: "post"; delay: number; duplicate: boolean }
  | { t: "malformed"; bytes: Uint8Array };

/** Failing kinds: the lane refuses them (422) and must restore the app exactly. */
export type OpKind =
  | "transfer" | "overdraft" | "withdraw" | "bad_nonce" | "low_fee" | "junk"
  | "fail_loop" | "fail_trap" | "fail_recursion" | "fail_validate";

const FAILING_DATA: Partial<Record<OpKind, Hex>> = {
  fail_loop: `0x${CHAOS.applyLoop.toString(16)}00`,
  fail_trap: `0x${CHAOS.applyTrap.toString(16)}00`,
  fail_recursion: `0x${CHAOS.applyRecursion.toString(16)}00`,
  fail_validate: `0x${CHAOS.validateLoop.toString(16)}00`,
};

const BLOCK_MS = 12_000;
const MAX_OPEN_MS = 5 * BLOCK_MS;
const silent = createLogger({ write: () => {} });

interface L1Input {
  inputIndex: number;
  sender: Hex;
  block: number;
  payload: Uint8Array;
}

export interface RunResult {
  /** The sequencer's ordered history, as the feed serves it. */
  history: SequencedTx[];
  /** The scheduler's executed sequence over everything that landed on L1. */
  executed: ExecutedEntry[];
  /** Number of our batches sealed, and how many the scheduler accepted (a prefix). */
  sealed: number;
  accepted: number;
  /** History entries in accepted batches: the prefix that must match exactly. */
  prefix: number;
  sequencerDumpAtPrefix: Uint8Array;
  schedulerDumpAtPrefix: Uint8Array;
  lastInclusionBlock: number;
  queuedAtEnd: number;
  stale: number;
  /** Ops the app failed on (refused by the lane) and direct inputs it failed on. */
  failedOps: number;
  failedInputs: number;
}

/**
 * The wallet with failure triggers (test/support/chaos-wallet.ts): identical to the wallet on
 * every other input.
 */
function appForWasm(wasm: Uint8Array): AppHost {
  return AppHost.create(wasm, {
    feeRecipient: SUBMITTER,
    etherPortal: PORTAL,
    erc20Portal: ZERO,
    erc20Token: ZERO,
  });
}

/** Runs one workload end to end and returns what the property compares. */
export async function runWorkload(actions: readonly Action[]): Promise<RunResult> {
  const wasm = await chaosWalletBytes();
  const appFor = (): AppHost => appForWasm(wasm);
  const dir = tempDir("seq-prop-");
  // The product's wiring (src/ingress/lane-stack.ts), step by step: this harness drives L1
  // itself between opening the storage and creating the lane, as run.ts does.
  const storage = openLaneStorage(dir.path);
  const db = storage.db;
  try {
    let block = 100;
    let clock = 1_000_000;
    const l1: L1Input[] = [];
    const future: { block: number; seq: number; sender: Hex; payload: Uint8Array }[] = [];
    let futureSeq = 0;
    let readerSafe = 0;
    const { reader, history } = storage;
    const app = appFor();
    const land = (sender: Hex, payload: Uint8Array) =>
      l1.push({ inputIndex: l1.length, sender, block, payload });
    // Safe == latest - 1, as anvil with --slots-in-an-epoch 1 and most PoS chains' "safe".
    const syncReader = () => {
      const safe = block - 1;
      const fresh = l1.filter((i) => i.block > readerSafe && i.block <= safe);
      reader.append(
        fresh.map((i) => ({
          inputIndex: i.inputIndex,
          sender: hexToBytes(i.sender, 20),
          blockNumber: i.block,
          blockTimestamp: 0,
          txHash: new Uint8Array(32),
          payload: i.payload,
        })),
        { safeBlock: safe, finalizedBlock: safe, scannedThroughBlock: safe },
        clock,
      );
      readerSafe = safe;
      return safe;
    };
    syncReader();
    const lane = createLane({
      storage,
      app,
      submitter: hexToBytes(SUBMITTER, 20),
      safeHead: readerSafe,
      hooks: {
        maxBatchOpenMs: MAX_OPEN_MS,
        queueCapacity: 1000,
        maxChunk: 64,
        now: () => clock,
        log: silent,
        onCommitted: () => {},
        onFatal: (e: LaneFatalError) => {
          throw e;
        },
      },
    });
    const settle = async () => {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    };
    const advance = async (n: number) => {
      for (let k = 0; k < n; k++) {
        block++;
        clock += BLOCK_MS;
        future.sort((a, b) => a.block - b.block || a.seq - b.seq);
        while (future.length > 0 && future[0]!.block <= block) {
          const f = future.shift()!;
          land(f.sender, f.payload);
        }
      }
      lane.observeSafeHead(syncReader());
      lane.tick();
      await settle();
    };
    const posted = new Set<number>();
    const post = (delay: number, duplicate: boolean) => {
      const rows = db
        .query("SELECT batch_id AS id, nonce FROM batches WHERE closed_at_ms IS NOT NULL ORDER BY nonce")
        .all() as { id: number; nonce: number }[];
      for (const r of rows) {
        if (posted.has(r.id)) continue;
        posted.add(r.id);
        const payload = encodeBatch(history.batchContents(r.id, r.nonce));
        for (let c = 0; c < (duplicate ? 2 : 1); c++) {
          future.push({ block: block + delay + c, seq: futureSeq++, sender: SUBMITTER, payload });
        }
      }
    };
    const nonces = [0, 0, 0, 0];
    let failedOps = 0;
    for (const a of actions) {
      switch (a.t) {
        case "deposit": {
          const payload = new Uint8Array(52);
          payload.set(hexToBytes(USERS[a.user]!, 20), 0);
          payload.set(hexToBytes(`0x${a.amount.toString(16).padStart(64, "0")}`, 32), 20);
          land(PORTAL, payload);
          break;
        }
        case "other":
          land(OTHER, a.payload);
          break;
        case "failing_input":
          land(OTHER, Uint8Array.of(CHAOS.applyLoop, 0));
          break;
        case "malformed":
          future.push({ block: block + 1, seq: futureSeq++, sender: SUBMITTER, payload: a.bytes });
          break;
        case "advance":
          await advance(a.blocks);
          break;
        case "post":
          // Everything sealed so far goes out; `delay` may exceed MAX_WAIT_BLOCKS (stale).
          lane.tick();
          await settle();
          post(a.delay, a.duplicate);
          break;
        case "op": {
          const u = a.user;
          const nonce = a.kind === "bad_nonce" ? nonces[u]! + 3 : nonces[u]!;
          const maxFee = a.kind === "low_fee" ? 1000 : 1409;
          const data =
            FAILING_DATA[a.kind] ??
            (a.kind === "withdraw"
              ? withdrawalData(1000n)
              : a.kind === "overdraft"
                ? transferData(10n ** 30n, USERS[a.to]!)
                : a.kind === "junk"
                  ? ("0x07aa" as Hex)
                  : transferData(12_345n, USERS[a.to]!));
          const body = await signOp(KEYS[u]!, { nonce, maxFee, data }, CHAIN, APP);
          const op: SignedOp = {
            sender: USERS[u]!,
            senderBytes: hexToBytes(USERS[u]!, 20),
            nonce,
            maxFee,
            data: hexToBytes(data),
            signature: hexToBytes(body.signature),
            txHash: txHash({ nonce, maxFee, data: hexToBytes(data), signature: hexToBytes(body.signature) }),
          };
          if (!lane.tryReserve()) throw new Error("queue full in a simulation");
          const r = await lane.submit(op);
          if (r.ok) nonces[u]!++;
          if (FAILING_DATA[a.kind] !== undefined) {
            if (r.ok) throw new Error(`a failing op (${a.kind}) was included`);
            failedOps++;
          }
          break;
        }
      }
    }
    // Drain: let everything safe be drained, seal what holds anything, and land it promptly.
    await advance(6);
    clock += MAX_OPEN_MS;
    lane.tick();
    await settle();
    post(1, false);
    await advance(4);
    lane.stop();

    // Which of our batches the scheduler accepts decides the prefix that must match: fold
    // once to learn it, then again to capture the scheduler's state right at that prefix.
    const fold = (onExecuted: (e: ExecutedEntry, app: AppHost) => void) => {
      const schedApp = appFor();
      const verdicts: string[] = [];
      const scheduler = new Scheduler({
        app: schedApp,
        batchSubmitter: SUBMITTER,
        domainSeparator: domainSeparator(CHAIN, APP),
        onExecuted: (e) => onExecuted(e, schedApp),
        onBatchVerdict: (v) => verdicts.push(v.verdict),
      });
      for (const input of l1) {
        scheduler.processInput({
          sender: input.sender,
          inclusionBlock: BigInt(input.block),
          payload: input.payload,
          inputIndex: input.inputIndex,
        });
      }
      return { scheduler, schedApp, verdicts };
    };
    const executed: ExecutedEntry[] = [];
    const first = fold((e) => executed.push(e));
    const accepted = Number(first.scheduler.nextBatchNonce);
    const perBatch = db
      .query(
        `SELECT b.nonce AS nonce, COUNT(s.l2_offset) AS n FROM batches b
         JOIN frames f ON f.batch_id = b.batch_id
         LEFT JOIN sequenced_l2_txs s ON s.frame_id = f.frame_id
         WHERE b.closed_at_ms IS NOT NULL GROUP BY b.nonce ORDER BY b.nonce`,
      )
      .all() as { nonce: number; n: number }[];
    const sealed = perBatch.length;
    const prefix = perBatch.slice(0, accepted).reduce((sum, b) => sum + b.n, 0);
    let schedulerDumpAtPrefix = prefix === 0 ? appFor().dump() : null;
    let count = 0;
    fold((_e, schedApp) => {
      if (++count === prefix) schedulerDumpAtPrefix = schedApp.dump();
    });
    const rows: HistoryRow[] = history.page(0, 1_000_000);
    // The sequencer's state at the prefix, rebuilt the way startup rebuilds it.
    const replay = appFor();
    replayHistory(replay, history, 0, silent, prefix);
    return {
      history: rows.map(rowToTx),
      executed,
      sealed,
      accepted,
      prefix,
      sequencerDumpAtPrefix: replay.dump(),
      schedulerDumpAtPrefix: schedulerDumpAtPrefix ?? new Uint8Array(),
      lastInclusionBlock: l1.at(-1)?.block ?? 0,
      queuedAtEnd: first.scheduler.queuedDirectCount,
      stale: first.verdicts.filter((v) => v === "stale").length,
      failedOps,
      failedInputs: rows.filter((r) => r.failure !== null).length,
    };
  } finally {
    db.close();
    dir.remove();
  }
}

/** The fields the feed promises equal between the sequencer's order and L1's, outputs included. */
export function comparable(e: SequencedTx): Record<string, unknown> {
  const outputs = e.outputs.map((o) => `${o.kind}:${Buffer.from(o.payload).toString("hex")}`);
  return e.kind === "user_op"
    ? { kind: e.kind, sender: e.sender, data: Buffer.from(e.data).toString("hex"), fee: e.fee, nonce: e.nonce, outputs }
    : { kind: e.kind, sender: e.sender, payload: Buffer.from(e.payload).toString("hex"), input_index: e.inputIndex, outputs, failure: e.failure };
}
