/**
 * In-process sequencer core for snapshot tests and the restart benchmark: real SQLite, real
 * wallet WASM, the real InclusionLane, ReaderStore and SnapshotManager, wired by the product's
 * createLaneStack (src/ingress/lane-stack.ts) as run.ts wires them — without HTTP or L1.
 * Deposits and landings are written through ReaderStore exactly as the input reader writes
 * them (landings judged by the real trackAcceptance).
 *
 * Ops carry dummy signatures: the lane trusts its caller to have checked them (the HTTP route
 * does), and neither the lane, the app nor the rebuild looks at them again.
 */
import { encodeTransfer } from "../../src/app/wallet-payloads.ts";
import { keccak256, encodePacked } from "viem";
import { AppHost } from "../../src/app/host.ts";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { bytesToHex, hexToBytes } from "../../src/core/bytes.ts";
import type { SequencedTx } from "../../src/core/l2tx.ts";
import { encodeBatch } from "../../src/core/ssz.ts";
import type { InclusionLane, LaneFatalError, LaneResult, SignedOp } from "../../src/ingress/lane.ts";
import { createLaneStack, type LaneStack } from "../../src/ingress/lane-stack.ts";
import { trackAcceptance } from "../../src/l1/acceptance.ts";
import { createLogger, type Logger } from "../../src/observability/log.ts";
import type { RebuildResult } from "../../src/restore/rebuild.ts";
import type { HistoryQueries } from "../../src/storage/queries.ts";
import type { ReaderStore } from "../../src/storage/reader-store.ts";
import type { SnapshotManager, SnapshotFileWriter } from "../../src/snapshots/lifecycle.ts";
import type { Database } from "bun:sqlite";
import { FIXTURE_PORTAL, SUBMITTER, ZERO, type Addr } from "./fixture-addresses.ts";

export type { Addr } from "./fixture-addresses.ts";
export const PORTAL: Addr = FIXTURE_PORTAL;
export { SUBMITTER };
export const silent = createLogger({ write: () => {} });

/** Deterministic distinct addresses. */
export function account(i: number): Addr {
  return `0x${(i + 1).toString(16).padStart(40, "0")}` as Addr;
}

/** Wallet Transfer{amount u256 LE, to}: selector 0x01 (53 bytes). */
export function transfer(amount: bigint, to: Addr): Uint8Array {
  return encodeTransfer(amount, to);
}

export function newApp(): AppHost {
  return AppHost.create(loadDefaultAppBytes(), { feeRecipient: SUBMITTER, etherPortal: PORTAL, erc20Portal: ZERO, erc20Token: ZERO });
}

type SealHook = (batchId: number, l2TxIndex: number, now: number) => (() => void) | void;

export interface HarnessOptions {
  log?: Logger;
  /** Wraps the seal hook (e.g. to simulate a failure after the file is written). */
  wrapSeal?: (inner: SealHook) => SealHook;
  /** Snapshot file writer; inline by default. */
  writer?: SnapshotFileWriter;
  maxChunk?: number;
  /** The app instance; the embedded wallet by default. */
  app?: () => AppHost;
}

export class Harness {
  readonly db: Database;
  readonly app: AppHost;
  readonly reader: ReaderStore;
  readonly history: HistoryQueries;
  readonly snapshots: SnapshotManager;
  readonly lane: InclusionLane;
  readonly rebuilt: RebuildResult;
  readonly committed: SequencedTx[] = [];
  readonly fatal: LaneFatalError[] = [];
  /** The lane's clock; starts at wall time so it keeps moving forward across restarts. */
  clock = Date.now();
  safeHead: number;
  private readonly stack: LaneStack;

  constructor(readonly dir: string, o: HarnessOptions = {}) {
    const log = o.log ?? silent;
    const stack = createLaneStack({
      dataDir: dir,
      app: (o.app ?? newApp)(),
      submitter: hexToBytes(SUBMITTER, 20),
      snapshots: { now: () => this.clock, ...(o.writer ? { writer: o.writer } : {}), registerDelayMs: 0 },
      // A fresh dir needs one stored safe head before the lane can open a frame.
      prepare: ({ reader }) => {
        if (!reader.heads()) reader.append([], { safeBlock: 10, finalizedBlock: 10, scannedThroughBlock: 10 }, this.clock);
      },
      hooks: {
        maxBatchOpenMs: 1000,
        queueCapacity: 1 << 20,
        maxChunk: o.maxChunk ?? 1024,
        now: () => this.clock,
        log,
        onCommitted: (e: SequencedTx[]) => {
          for (const x of e) this.committed.push(x);
        },
        onFatal: (e: LaneFatalError) => this.fatal.push(e),
        ...(o.wrapSeal ? { wrapSeal: o.wrapSeal } : {}),
      },
    });
    this.stack = stack;
    this.db = stack.db;
    this.reader = stack.reader;
    this.history = stack.history;
    this.app = stack.app;
    this.snapshots = stack.snapshots!;
    this.rebuilt = stack.rebuilt;
    this.lane = stack.lane;
    this.safeHead = stack.reader.heads()!.safeBlock;
  }

  /** Stores ether deposits as safe inputs (one block) and lets the lane drain them. */
  async deposit(items: { to: Addr; amount: bigint }[]): Promise<void> {
    const head = this.safeHead + 5;
    let index = this.reader.nextInputIndex();
    const inputs = items.map((d) => ({
      inputIndex: index++,
      sender: hexToBytes(PORTAL, 20),
      blockNumber: head,
      blockTimestamp: 0,
      txHash: new Uint8Array(32),
      payload: hexToBytes(encodePacked(["address", "uint256"], [d.to, d.amount])),
    }));
    const target = this.lane.headOffset + items.length;
    this.reader.append(inputs, { safeBlock: head, finalizedBlock: head, scannedThroughBlock: head }, this.clock);
    this.safeHead = head;
    this.lane.observeSafeHead(head);
    await this.until(() => this.lane.headOffset >= target, "deposits drained");
  }

  /** A user op with a dummy signature and a unique hash. */
  op(sender: Addr, nonce: number, data: Uint8Array): SignedOp {
    const signature = new Uint8Array(65);
    return {
      sender,
      senderBytes: hexToBytes(sender, 20),
      nonce,
      maxFee: 65535,
      data,
      signature,
      txHash: hexToBytes(keccak256(encodePacked(["address", "uint32"], [sender, nonce]))),
    };
  }

  submit(op: SignedOp): Promise<LaneResult> {
    if (!this.lane.tryReserve()) throw new Error("lane queue full");
    return this.lane.submit(op);
  }

  /** Closes the open batch on time (it must hold something); resolves once it is sealed. */
  async seal(): Promise<void> {
    const before = this.sealedCount();
    const open = this.db.query("SELECT MAX(opened_at_ms) AS t FROM batches WHERE closed_at_ms IS NULL").get() as { t: number };
    this.clock = Math.max(this.clock, open.t) + 1000;
    this.lane.tick();
    await this.until(() => this.sealedCount() > before || this.fatal.length > 0, "batch sealed");
    await this.snapshots.whenIdle();
  }

  sealedCount(): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM batches WHERE closed_at_ms IS NOT NULL").get() as { n: number }).n;
  }

  /**
   * Posts our sealed batch `nonce` as L1 would show it: a safe input from the submitter in a
   * new safe block, judged by the real acceptance tracking, stored through ReaderStore.append.
   */
  land(nonce: number): number {
    const b = this.db.query("SELECT batch_id AS id FROM batches WHERE nonce = ? AND invalidated_at_ms IS NULL").get(nonce) as { id: number };
    const payload = encodeBatch(this.history.batchContents(b.id, nonce));
    const block = this.safeHead + 1;
    const input = {
      inputIndex: this.reader.nextInputIndex(),
      sender: hexToBytes(SUBMITTER, 20),
      blockNumber: block,
      blockTimestamp: 0,
      txHash: hexToBytes(keccak256(payload)),
      payload,
    };
    const r = trackAcceptance([input], {
      submitter: hexToBytes(SUBMITTER, 20),
      nextBatchNonce: this.reader.nextBatchNonce(),
      sealed: (n) => this.reader.sealedBatch(n),
      alreadyDiverged: false,
      nowMs: this.clock,
    });
    if (r.divergence || r.landings[0]?.batchId == null) throw new Error(`batch ${nonce} was not accepted as ours: ${JSON.stringify(r.landings)}`);
    this.reader.append([input], { safeBlock: block, finalizedBlock: block, scannedThroughBlock: block }, this.clock, r.landings, r.divergence);
    this.safeHead = block;
    this.lane.observeSafeHead(block);
    return block;
  }

  dumpHex(): string {
    return bytesToHex(this.app.dump());
  }

  async until(f: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!f()) {
      if (this.fatal.length > 0) throw this.fatal[0]!;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await Bun.sleep(1);
    }
  }

  close(): void {
    this.stack.close();
  }
}
