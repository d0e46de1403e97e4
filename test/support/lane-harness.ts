/**
 * An in-process inclusion lane over real SQLite and the real wallet WASM (wired by the
 * product's createLaneStack, src/ingress/lane-stack.ts), with L1 driven
 * through the input reader's own storage writer (ReaderStore.append + observeSafeHead) —
 * what the reader does after reading L1. Shared by the lane and recovery tests.
 */
import { afterEach, expect } from "bun:test";
import type { Database } from "bun:sqlite";
import { encodePacked, type Hex } from "viem";
import { AppHost } from "../../src/app/host.ts";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { hexToBytes } from "../../src/core/bytes.ts";
import type { SequencedTx } from "../../src/core/l2tx.ts";
import { txHash } from "../../src/core/ssz.ts";
import type { InclusionLane, LaneFatalError, SignedOp } from "../../src/ingress/lane.ts";
import { createLaneStack } from "../../src/ingress/lane-stack.ts";
import { createLogger } from "../../src/observability/log.ts";
import type { ReaderStore } from "../../src/storage/reader-store.ts";
import { signOp, transferData } from "./client.ts";
import { tempDir } from "./sequencer.ts";
import { ANVIL_2, ANVIL_3, FIXTURE_APP, FIXTURE_PORTAL, SUBMITTER as FIXTURE_SUBMITTER, ZERO } from "../../scripts/lib/fixture-addresses.ts";

export const APP: Hex = FIXTURE_APP;
export const CHAIN = 31337n;
export const PORTAL: Hex = FIXTURE_PORTAL;
export const SUBMITTER: Hex = FIXTURE_SUBMITTER;
export const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" as Hex; // anvil #2
export const USER: Hex = ANVIL_2;
export const TO: Hex = ANVIL_3;
const silent = createLogger({ write: () => {} });

export interface Harness {
  db: Database;
  lane: InclusionLane;
  reader: ReaderStore;
  app: AppHost;
  committed: SequencedTx[][];
  /** Every commit the lane timed (onCommitTimed), in order. */
  commitTimes: { seconds: number; ops: number }[];
  fatal: LaneFatalError[];
  nextIndex: number;
  deposit(block: number, amount: bigint, safeHead: number): void;
  op(nonce: number, maxFee?: number, data?: Hex): Promise<SignedOp>;
}

export const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

export function newHarness(
  safeHead = 10,
  opts: {
    maxBatchOpenMs?: number;
    queueCapacity?: number;
    dir?: string;
    preexisting?: { block: number; amount: bigint }[];
    guard?: () => string | null;
  } = {},
): Harness {
  const dir = opts.dir ?? tempDir().path;
  const committed: SequencedTx[][] = [];
  const commitTimes: { seconds: number; ops: number }[] = [];
  const fatal: LaneFatalError[] = [];
  const stack = createLaneStack({
    dataDir: dir,
    app: AppHost.create(loadDefaultAppBytes(), {
      feeRecipient: SUBMITTER,
      etherPortal: PORTAL,
      erc20Portal: ZERO,
      erc20Token: ZERO,
    }),
    submitter: hexToBytes(SUBMITTER, 20),
    safeHead,
    // Inputs the reader stored before the lane existed (e.g. deposits made before first start).
    prepare: ({ reader }) => {
      const pre = (opts.preexisting ?? []).map((d, i) => ({
        inputIndex: reader.nextInputIndex() + i,
        sender: hexToBytes(PORTAL, 20),
        blockNumber: d.block,
        blockTimestamp: 0,
        txHash: new Uint8Array(32),
        payload: hexToBytes(encodePacked(["address", "uint256"], [USER, d.amount])),
      }));
      reader.append(pre, { safeBlock: safeHead, finalizedBlock: safeHead, scannedThroughBlock: safeHead }, Date.now());
    },
    hooks: {
      maxBatchOpenMs: opts.maxBatchOpenMs ?? 3_600_000,
      queueCapacity: opts.queueCapacity ?? 10_000,
      maxChunk: 1024,
      now: Date.now,
      log: silent,
      onCommitted: (e) => committed.push(e),
      onCommitTimed: (seconds, ops) => commitTimes.push({ seconds, ops }),
      onFatal: (e) => fatal.push(e),
      ...(opts.guard ? { guard: opts.guard } : {}),
    },
  });
  const { db, reader, lane, app } = stack;
  cleanups.push(() => {
    try {
      stack.close();
    } catch {}
  });
  const h: Harness = {
    db,
    lane,
    reader,
    app,
    committed,
    commitTimes,
    fatal,
    nextIndex: reader.nextInputIndex(),
    deposit(block, amount, head) {
      const payload = hexToBytes(encodePacked(["address", "uint256"], [USER, amount]));
      reader.append(
        [{ inputIndex: h.nextIndex++, sender: hexToBytes(PORTAL, 20), blockNumber: block, blockTimestamp: 0, txHash: new Uint8Array(32), payload }],
        { safeBlock: head, finalizedBlock: head, scannedThroughBlock: head },
        Date.now(),
      );
      lane.observeSafeHead(head);
    },
    async op(nonce, maxFee = 1409, data = transferData(1n, TO)) {
      const b = await signOp(KEY, { nonce, maxFee, data }, CHAIN, APP);
      const sig = hexToBytes(b.signature);
      const d = hexToBytes(b.message.data);
      return {
        sender: USER,
        senderBytes: hexToBytes(USER, 20),
        nonce,
        maxFee,
        data: d,
        signature: sig,
        txHash: txHash({ nonce, maxFee, data: d, signature: sig }),
      };
    },
  };
  return h;
}

export async function submit(h: Harness, op: SignedOp) {
  expect(h.lane.tryReserve()).toBe(true);
  return h.lane.submit(op);
}

export const rows = (db: Database, sql: string, ...args: (string | number)[]) => db.query(sql).all(...args) as any[];

