/**
 * The canonical scheduler (SPEC §2.4) against the real wallet WASM, with real EIP-712
 * signatures and EtherPortal deposits, so that order actually matters for balances.
 */
import { describe, expect, test } from "bun:test";
import { privateKeyToAccount } from "viem/accounts";
import { CONFIG, decodeDump, etherDeposit, ETHER_PORTAL, newWallet, transferData, withdrawalData } from "../../scripts/lib/app-fixtures.ts";
import { AppFatalError } from "../app/errors.ts";
import { bytesToHex, type Address, type Hex } from "./bytes.ts";
import { domainSeparator, eip712Domain, USER_OP_PRIMARY_TYPE, USER_OP_TYPES } from "./eip712.ts";
import { feeToLinear } from "./fees.ts";
import { feedMessage } from "./l2tx.ts";
import {
  Scheduler,
  SchedulerFatalError,
  SchedulerInputError,
  type ExecutedEntry,
  type InputOutcome,
  type SchedulerApp,
} from "./scheduler.ts";
import { encodeBatch, txHash, type Frame, type WireUserOp } from "./ssz.ts";

// anvil's well-known development keys (public)
const KEYS = {
  submitter: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  alice: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  bob: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  carol: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
} as const;
const addr = (k: Hex) => privateKeyToAccount(k).address.toLowerCase() as Address;
const SUBMITTER = addr(KEYS.submitter);
const ALICE = addr(KEYS.alice);
const BOB = addr(KEYS.bob);
const CAROL = addr(KEYS.carol);
const OTHER: Address = "0x000000000000000000000000000000000000abcd";

const CHAIN_ID = 31337n;
const APP: Address = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9";
const SEP = domainSeparator(CHAIN_ID, APP);
const FEE = 1000; // frame fee exponent: 2397 wei
const FEE_WEI = feeToLinear(FEE);
const ETH = 10n ** 18n;

async function sign(key: Hex, nonce: number, data: Uint8Array, maxFee = 1409): Promise<WireUserOp> {
  const sig = await privateKeyToAccount(key).signTypedData({
    domain: eip712Domain(CHAIN_ID, APP),
    types: USER_OP_TYPES,
    primaryType: USER_OP_PRIMARY_TYPE,
    message: { nonce, max_fee: maxFee, data: bytesToHex(data) },
  });
  return { nonce, maxFee, data, signature: new Uint8Array(Buffer.from(sig.slice(2), "hex")) };
}

const frame = (safeBlock: bigint, userOps: WireUserOp[] = [], feePrice = FEE): Frame => ({ userOps, safeBlock, feePrice });
const batch = (nonce: bigint, ...frames: Frame[]) => encodeBatch({ nonce, frames });

/** A fresh wallet + scheduler, with helpers that number inputs like the InputBox does. */
function harness(app?: SchedulerApp) {
  const wallet = newWallet({ ...CONFIG, feeRecipient: SUBMITTER });
  const executed: ExecutedEntry[] = [];
  const s = new Scheduler({
    app: app ?? wallet,
    batchSubmitter: SUBMITTER,
    domainSeparator: SEP,
    onExecuted: (e) => executed.push(e),
  });
  let next = 0;
  const names = new Map<number, string>();
  return {
    wallet,
    s,
    executed,
    /** An EtherPortal deposit (or any direct input) at `block`; returns the input index. */
    direct(block: bigint, name: string, payload = etherDeposit(ALICE, ETH), sender: Address = ETHER_PORTAL): InputOutcome {
      names.set(next, name);
      return s.processInput({ sender, inclusionBlock: block, payload, inputIndex: next++ });
    },
    post(block: bigint, payload: Uint8Array, sender: Address = SUBMITTER): InputOutcome {
      return s.processInput({ sender, inclusionBlock: block, payload, inputIndex: next++ });
    },
    /** Executed sequence as names: directs by their given name, ops as `sender-short:nonce`. */
    order(opNames: Record<string, string> = {}): string[] {
      return executed.map((e) =>
        e.kind === "direct_input" ? names.get(e.inputIndex)! : (opNames[bytesToHex(e.txHash)] ?? `${e.sender.slice(0, 6)}:${e.nonce}`),
      );
    },
    balance(who: Address): bigint {
      return decodeDump(wallet.dump()).get(who)?.balance ?? 0n;
    },
    nonce(who: Address): number {
      return wallet.nonceOf(who);
    },
  };
}

const verdictOf = (o: InputOutcome) => (o.kind === "batch" ? o.verdict.verdict : "direct");

describe("SPEC §2.4 worked example", () => {
  test("D0, U0, D1, D2, D3 (forced at 1230), U1; D4 queued; next nonce 2", async () => {
    const h = harness();
    // D0 funds Alice (U0 needs it: proves drain-before-ops); D1 funds Carol (U1 needs it:
    // proves the backstop forced D1 before batch 1).
    const u0 = await sign(KEYS.alice, 0, transferData(ETH / 10n, BOB));
    const u1 = await sign(KEYS.carol, 0, transferData(ETH / 100n, BOB));
    const names = { [bytesToHex(txHash(u0))]: "U0", [bytesToHex(txHash(u1))]: "U1" };

    expect(h.direct(5n, "D0", etherDeposit(ALICE, ETH))).toEqual({ kind: "direct", inputIndex: 0, forced: 0 });
    h.direct(12n, "D1", etherDeposit(CAROL, ETH));
    const b0 = h.post(20n, batch(0n, frame(10n, [u0])));
    expect(b0).toMatchObject({ kind: "batch", forced: 0, drained: 1, executedUserOps: 1, skipped: [] });
    expect(verdictOf(b0)).toBe("accepted");
    expect(h.order(names)).toEqual(["D0", "U0"]);
    h.direct(20n, "D2", etherDeposit(BOB, 1n));
    h.direct(24n, "D3", etherDeposit(BOB, 2n));
    const bad = h.post(1230n, Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    expect(bad).toMatchObject({ kind: "batch", forced: 3 });
    expect(verdictOf(bad)).toBe("malformed");
    const b1 = h.post(1232n, batch(1n, frame(1228n, [u1])));
    expect(b1).toMatchObject({ kind: "batch", forced: 0, drained: 0, executedUserOps: 1, skipped: [] });
    expect(verdictOf(b1)).toBe("accepted");
    h.direct(1235n, "D4", etherDeposit(BOB, 3n));

    expect(h.order(names)).toEqual(["D0", "U0", "D1", "D2", "D3", "U1"]);
    expect(h.executed.map((e) => e.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.executed.filter((e) => e.kind === "direct_input").map((e) => (e as { cause: string }).cause)).toEqual([
      "drained",
      "forced",
      "forced",
      "forced",
    ]);
    expect(h.s.nextBatchNonce).toBe(2n);
    expect(h.s.queuedDirectCount).toBe(1);
    expect(h.s.queuedDirects()).toMatchObject([{ inputIndex: 7, blockNumber: 1235n, sender: ETHER_PORTAL }]);
    expect(h.s.verdicts().map((v) => [v.inputIndex, v.verdict])).toEqual([
      [2, "accepted"],
      [5, "malformed"],
      [6, "accepted"],
    ]);
    // The ops really ran, against the right balances, at the frame fee.
    expect(h.balance(ALICE)).toBe(ETH - ETH / 10n - FEE_WEI);
    expect(h.balance(CAROL)).toBe(ETH - ETH / 100n - FEE_WEI);
    expect(h.balance(BOB)).toBe(ETH / 10n + ETH / 100n + 3n);
    expect(h.balance(SUBMITTER)).toBe(2n * FEE_WEI);
    expect(h.wallet.executedInputCount).toBe(6n);
  });

  test("executed entries render to the live feed's exact JSON", async () => {
    const h = harness();
    const u0 = await sign(KEYS.alice, 0, transferData(5n, BOB));
    h.direct(5n, "D0");
    h.post(20n, batch(0n, frame(10n, [u0])));
    const lines = h.executed.map(feedMessage);
    expect(lines[0]).toBe(
      `{"kind":"direct_input","offset":0,"sender":"${ETHER_PORTAL}","block_number":5,"input_index":0,` +
        `"payload":"${bytesToHex(etherDeposit(ALICE, ETH))}",` +
        `"outputs":[{"kind":"notice","payload":"${ETHER_PORTAL}${ALICE.slice(2)}${ETH.toString(16).padStart(64, "0")}"}],"failure":null}`,
    );
    expect(lines[1]).toBe(
      `{"kind":"user_op","offset":1,"sender":"${ALICE}","fee":${FEE},"data":"${bytesToHex(u0.data)}",` +
        `"nonce":0,"tx_hash":"${bytesToHex(txHash(u0))}",` +
        `"outputs":[{"kind":"notice","payload":"${ALICE}${BOB.slice(2)}${(5n).toString(16).padStart(64, "0")}"}]}`,
    );
  });
});

describe("rule 1: backstop", () => {
  test("1199 blocks of waiting is not forced, 1200 is — before any kind of input", () => {
    const h = harness();
    h.direct(100n, "D0");
    expect(h.direct(1299n, "D1").kind === "direct" && h.executed.length).toBe(0);
    // an input at exactly 100 + 1200 forces D0 (only D0: D1 waited 1 block)
    const o = h.direct(1300n, "D2");
    expect(o).toEqual({ kind: "direct", inputIndex: 2, forced: 1 });
    expect(h.order()).toEqual(["D0"]);
    expect(h.s.queuedDirectCount).toBe(2);
    // a wrong-nonce batch still triggers the backstop first
    const b = h.post(2500n, batch(7n));
    expect(verdictOf(b)).toBe("wrong_nonce");
    expect(b.forced).toBe(2);
    expect(h.order()).toEqual(["D0", "D1", "D2"]);
    expect(h.s.nextBatchNonce).toBe(0n);
  });

  test("forced directs run before the batch that triggered them, even when it drains", async () => {
    const h = harness();
    h.direct(10n, "D0", etherDeposit(ALICE, ETH));
    h.direct(700n, "D1", etherDeposit(BOB, ETH));
    const u = await sign(KEYS.alice, 0, transferData(1n, CAROL));
    // lands at 1210: D0 is forced (1200 old), then frame 1205 drains D1, then U
    const b = h.post(1210n, batch(0n, frame(1205n, [u])));
    expect(b).toMatchObject({ forced: 1, drained: 1, executedUserOps: 1 });
    expect(h.order()).toEqual(["D0", "D1", `${ALICE.slice(0, 6)}:0`]);
  });

  test("inputs from the submitter never enter the direct queue", () => {
    const h = harness();
    h.post(5n, Uint8Array.of(1));
    h.post(6n, batch(5n, frame(1n)));
    expect(h.s.queuedDirectCount).toBe(0);
    h.direct(3000n, "D0");
    expect(h.executed).toEqual([]);
  });
});

describe("rule 2: classification by sender only", () => {
  test("a well-formed batch from anyone else is a direct input (a no-op for the wallet)", async () => {
    const h = harness();
    const u = await sign(KEYS.alice, 0, transferData(1n, BOB));
    h.direct(1n, "D0");
    const o = h.direct(2n, "fake", batch(0n, frame(1n, [u])), OTHER);
    expect(o.kind).toBe("direct");
    expect(h.s.nextBatchNonce).toBe(0n);
    // the real submitter's nonce 0 is still available, and drains both directs first
    h.post(3n, batch(0n, frame(2n, [u])));
    expect(h.order()).toEqual(["D0", "fake", `${ALICE.slice(0, 6)}:0`]);
    expect(h.s.nextBatchNonce).toBe(1n);
  });

  test("sender comparison is case-insensitive", () => {
    const h = harness();
    const o = h.post(1n, batch(0n), SUBMITTER.toUpperCase().replace("0X", "0x") as Address);
    expect(verdictOf(o)).toBe("accepted");
  });
});

describe("rules 3–7: the gates", () => {
  test("malformed payloads from the submitter are rejected; the nonce is unchanged", () => {
    const h = harness();
    for (const p of [new Uint8Array(0), Uint8Array.of(0), new Uint8Array(11), Uint8Array.of(...batch(0n), 0), new Uint8Array(64).fill(0xff)]) {
      const o = h.post(1n, p);
      expect(verdictOf(o)).toBe("malformed");
      expect(o.kind === "batch" && o.verdict.nonce).toBeNull();
    }
    expect(h.s.nextBatchNonce).toBe(0n);
    expect(verdictOf(h.post(1n, batch(0n)))).toBe("accepted");
  });

  test("duplicates: the same nonce twice executes once", async () => {
    const h = harness();
    h.direct(1n, "D0");
    const u = await sign(KEYS.alice, 0, transferData(1n, BOB));
    const payload = batch(0n, frame(1n, [u]));
    expect(verdictOf(h.post(2n, payload))).toBe("accepted");
    const dup = h.post(3n, payload);
    expect(dup).toMatchObject({ kind: "batch", verdict: { verdict: "wrong_nonce", nonce: 0n }, executedUserOps: 0 });
    expect(h.executed).toHaveLength(2);
    expect(h.nonce(ALICE)).toBe(1);
    expect(h.s.nextBatchNonce).toBe(1n);
    // a future nonce is rejected too
    expect(verdictOf(h.post(4n, batch(2n)))).toBe("wrong_nonce");
  });

  test("empty batch: accepted no-op, nonce advances, drains nothing", () => {
    const h = harness();
    h.direct(1n, "D0");
    const o = h.post(50n, batch(0n));
    expect(o).toMatchObject({ verdict: { verdict: "accepted", nonce: 0n }, drained: 0, executedUserOps: 0 });
    expect(h.executed).toEqual([]);
    expect(h.s.queuedDirectCount).toBe(1);
    expect(h.s.nextBatchNonce).toBe(1n);
    // a batch whose only frame is empty does drain
    h.post(51n, batch(1n, frame(2n)));
    expect(h.order()).toEqual(["D0"]);
    expect(h.s.nextBatchNonce).toBe(2n);
  });

  test("safe_block == inclusion_block is accepted and drains directs of that same block", () => {
    const h = harness();
    h.direct(40n, "D0");
    const o = h.post(40n, batch(0n, frame(40n)));
    expect(verdictOf(o)).toBe("accepted");
    expect(h.order()).toEqual(["D0"]);
  });

  test("a frame from the future is invalid; nothing runs, nonce unchanged", async () => {
    const h = harness();
    h.direct(1n, "D0");
    const u = await sign(KEYS.alice, 0, transferData(1n, BOB));
    const o = h.post(40n, batch(0n, frame(5n, [u]), frame(41n)));
    expect(verdictOf(o)).toBe("invalid_structure");
    expect(h.executed).toEqual([]);
    expect(h.s.nextBatchNonce).toBe(0n);
  });

  test("non-monotonic frames are invalid (even the good first frame does not run); equal is fine", async () => {
    const h = harness();
    h.direct(1n, "D0");
    const u = await sign(KEYS.alice, 0, transferData(1n, BOB));
    expect(verdictOf(h.post(40n, batch(0n, frame(10n, [u]), frame(9n))))).toBe("invalid_structure");
    expect(h.executed).toEqual([]);
    expect(verdictOf(h.post(41n, batch(0n, frame(10n, [u]), frame(10n))))).toBe("accepted");
    expect(h.order()).toEqual(["D0", `${ALICE.slice(0, 6)}:0`]);
  });

  test("staleness boundary: 1199 blocks accepted, 1200 stale", () => {
    const a = harness();
    a.direct(1n, "D0");
    expect(verdictOf(a.post(1199n + 10n, batch(0n, frame(10n))))).toBe("accepted");
    expect(a.order()).toEqual(["D0"]);
    const b = harness();
    b.direct(11n, "D0");
    const o = b.post(1200n + 10n, batch(0n, frame(10n)));
    expect(o).toMatchObject({ verdict: { verdict: "stale", nonce: 0n }, drained: 0 });
    expect(b.executed).toEqual([]);
    expect(b.s.nextBatchNonce).toBe(0n);
  });

  test("staleness looks at the first frame only", () => {
    const h = harness();
    expect(verdictOf(h.post(1300n, batch(0n, frame(99n), frame(1300n))))).toBe("stale");
    expect(verdictOf(h.post(1300n, batch(0n, frame(101n), frame(1300n))))).toBe("accepted");
  });

  test("nonce poisoning: after a stale N, N+1 is rejected until a fresh N lands", async () => {
    const h = harness();
    h.direct(1n, "D0", etherDeposit(ALICE, ETH));
    const u0 = await sign(KEYS.alice, 0, transferData(1n, BOB));
    const u1 = await sign(KEYS.alice, 1, transferData(2n, BOB));
    expect(verdictOf(h.post(1300n, batch(0n, frame(50n, [u0]))))).toBe("stale");
    expect(h.order()).toEqual(["D0"]); // forced by the backstop at 1300, not by the stale batch
    expect(verdictOf(h.post(1301n, batch(1n, frame(1290n, [u1]))))).toBe("wrong_nonce");
    expect(verdictOf(h.post(1302n, batch(1n, frame(1291n, [u1]))))).toBe("wrong_nonce");
    expect(h.nonce(ALICE)).toBe(0);
    expect(verdictOf(h.post(1303n, batch(0n, frame(1295n, [u0]))))).toBe("accepted");
    expect(verdictOf(h.post(1304n, batch(1n, frame(1295n, [u1]))))).toBe("accepted");
    expect(h.nonce(ALICE)).toBe(2);
    expect(h.s.nextBatchNonce).toBe(2n);
    expect(h.s.counters().batches).toEqual({ accepted: 2, malformed: 0, wrong_nonce: 2, invalid_structure: 0, stale: 1 });
  });
});

describe("rule 8: frames", () => {
  test("each frame drains its directs (FIFO, block <= safe_block) before its own ops", async () => {
    const h = harness();
    h.direct(5n, "D0", etherDeposit(ALICE, ETH));
    h.direct(12n, "D1", etherDeposit(BOB, ETH));
    h.direct(15n, "D2", etherDeposit(CAROL, ETH));
    const a = await sign(KEYS.alice, 0, transferData(1n, CAROL));
    const b = await sign(KEYS.bob, 0, transferData(1n, CAROL));
    const c = await sign(KEYS.carol, 0, transferData(1n, ALICE));
    h.post(30n, batch(0n, frame(5n, [a]), frame(14n, [b]), frame(20n, [c])));
    expect(h.order()).toEqual(["D0", `${ALICE.slice(0, 6)}:0`, "D1", `${BOB.slice(0, 6)}:0`, "D2", `${CAROL.slice(0, 6)}:0`]);
  });

  test("an op needing a direct that its frame does not drain yet is skipped (insufficient balance)", async () => {
    const h = harness();
    h.direct(12n, "D0", etherDeposit(ALICE, ETH));
    const a = await sign(KEYS.alice, 0, transferData(1n, BOB));
    const o = h.post(30n, batch(0n, frame(11n, [a]), frame(12n)));
    expect(o).toMatchObject({ drained: 1, executedUserOps: 0, skipped: [{ reason: "app_rejected", sender: ALICE }] });
    expect(h.order()).toEqual(["D0"]);
  });

  test("silent skips: bad signatures, max_fee below the frame fee, app rejections", async () => {
    const h = harness();
    h.direct(1n, "D0", etherDeposit(ALICE, ETH));
    const good0 = await sign(KEYS.alice, 0, transferData(1n, BOB));
    const tampered = { ...good0, signature: good0.signature.slice() };
    tampered.signature[40]! ^= 1;
    const highS = await sign(KEYS.alice, 0, transferData(7n, BOB));
    // s -> n - s, v flipped: same signer, but the high-s form is not accepted
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(bytesToHex(highS.signature.subarray(32, 64)));
    const hs = { ...highS, signature: Uint8Array.of(...highS.signature.subarray(0, 32), ...Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"), highS.signature[64] === 27 ? 28 : 27) };
    const shortSig = { ...good0, signature: good0.signature.subarray(0, 64) };
    const cheap = await sign(KEYS.alice, 0, transferData(1n, BOB), FEE - 1);
    const wrongNonce = await sign(KEYS.alice, 5, transferData(1n, BOB));
    const broke = await sign(KEYS.bob, 0, transferData(1n, ALICE)); // Bob has no balance for the fee
    const good1 = await sign(KEYS.alice, 1, withdrawalData(ETH / 2n));
    const o = h.post(5n, batch(0n, frame(1n, [shortSig, hs, cheap, wrongNonce, broke, good0, good0, good1])));
    expect(o.kind === "batch" && o.skipped.map((x) => [x.opIndex, x.reason])).toEqual([
      [0, "bad_signature"],
      [1, "bad_signature"],
      [2, "fee_below_frame"],
      [3, "app_rejected"],
      [4, "app_rejected"],
      [6, "app_rejected"], // the same op again: its nonce is used now
    ]);
    expect(o).toMatchObject({ executedUserOps: 2, verdict: { verdict: "accepted" } });
    // A tampered s still recovers (to some other, unfunded address), which the app then rejects.
    const t = h.post(6n, batch(1n, frame(1n, [tampered])));
    expect(t.kind === "batch" && t.skipped.map((x) => x.reason)).toEqual(["app_rejected"]);
    expect(h.order()).toEqual(["D0", `${ALICE.slice(0, 6)}:0`, `${ALICE.slice(0, 6)}:1`]);
    expect(h.nonce(ALICE)).toBe(2);
    expect(h.balance(ALICE)).toBe(ETH - 1n - ETH / 2n - 2n * FEE_WEI);
    expect(h.s.counters().skippedOps).toEqual({ bad_signature: 2, fee_below_frame: 1, app_rejected: 4, app_failed: 0 });
    expect(h.s.nextBatchNonce).toBe(2n); // skips never reject the batch
  });

  test("the signer is recovered, never assumed; v in {0,1} works; the frame fee is charged, not max_fee", async () => {
    const h = harness();
    h.direct(1n, "D0", etherDeposit(BOB, ETH));
    const op = await sign(KEYS.bob, 0, transferData(10n, CAROL), 4000);
    const v01 = { ...op, signature: Uint8Array.of(...op.signature.subarray(0, 64), op.signature[64]! - 27) };
    h.post(2n, batch(0n, frame(1n, [v01], 1356)));
    const e = h.executed[1]!;
    expect(e).toMatchObject({ kind: "user_op", sender: BOB, fee: 1356, nonce: 0, batchNonce: 0n, frameIndex: 0, opIndex: 0 });
    expect(e.kind === "user_op" && bytesToHex(e.txHash)).toBe(bytesToHex(txHash(v01)));
    expect(h.balance(SUBMITTER)).toBe(feeToLinear(1356));
    expect(h.balance(BOB)).toBe(ETH - 10n - feeToLinear(1356));
  });
});

describe("API contract", () => {
  test("an app error is fatal: typed error, no successor state", () => {
    const wallet = newWallet();
    const app: SchedulerApp = {
      validate: (...a) => wallet.validate(...a),
      applyUserOp: (...a) => wallet.applyUserOp(...a),
      applyDirectInput: () => {
        throw new AppFatalError("boom");
      },
    };
    const h = harness(app);
    h.direct(1n, "D0");
    let err: unknown;
    try {
      h.post(2n, batch(0n, frame(1n)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedulerFatalError);
    expect((err as SchedulerFatalError).inputIndex).toBe(1);
    expect((err as SchedulerFatalError).cause).toBeInstanceOf(AppFatalError);
    expect(h.s.fatal).toBe(err as SchedulerFatalError);
    expect(() => h.direct(3n, "D1")).toThrow(SchedulerInputError);
  });

  test("inputs out of L1 order are refused without touching state", () => {
    const h = harness();
    h.direct(10n, "D0");
    expect(() => h.s.processInput({ sender: OTHER, inclusionBlock: 9n, payload: new Uint8Array(), inputIndex: 5 })).toThrow(SchedulerInputError);
    expect(() => h.s.processInput({ sender: OTHER, inclusionBlock: 11n, payload: new Uint8Array(), inputIndex: 0 })).toThrow(SchedulerInputError);
    expect(h.s.queuedDirectCount).toBe(1);
    expect(h.s.position).toEqual({ inclusionBlock: 10n, inputIndex: 0 });
  });

  test("a long queue keeps FIFO order across compaction", () => {
    const h = harness();
    for (let i = 0; i < 3000; i++) h.direct(BigInt(i), `D${i}`, new Uint8Array(), OTHER);
    h.post(3000n, batch(0n, frame(2999n)));
    expect(h.order()).toEqual(Array.from({ length: 3000 }, (_, i) => `D${i}`));
    expect(h.executed.every((e, i) => e.offset === i)).toBe(true);
  });
});
