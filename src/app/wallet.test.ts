/**
 * The wallet app (SPEC 2.7) through the real host and the committed wallet.wasm.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { hexToBytes } from "../core/bytes.ts";
import { feeToLinear } from "../core/fees.ts";
import { AppSnapshotError } from "./errors.ts";
import type { AppHost } from "./host.ts";
import {
  ALICE,
  BOB,
  CAROL,
  CONFIG,
  ERC20_PORTAL,
  ETHER_PORTAL,
  FEE_RECIPIENT,
  TOKEN,
  U256_MAX,
  ZERO,
  balanceOf,
  decodeDump,
  erc20Deposit,
  etherDeposit,
  newWallet,
  readBE,
  transferData,
  u256BE,
  withdrawalData,
  type Addr,
} from "../../scripts/lib/app-fixtures.ts";

const FEE = 1356; // default recommended fee exponent
const FEE_LINEAR = 38276n; // SPEC 2.3 vector
const ETH = 10n ** 18n;

function funded(who: Addr = ALICE, amount = ETH): AppHost {
  const w = newWallet();
  w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(who, amount));
  return w;
}

describe("deposits", () => {
  test("every deposit that does nothing says why in a report (SPEC 2.8 outputs)", () => {
    const w = newWallet();
    const reportOf = (r: { outputs: readonly { kind: string; payload: Uint8Array }[] }) =>
      r.outputs.map((o) => `${o.kind}:${new TextDecoder().decode(o.payload)}`);
    expect(reportOf(w.applyDirectInput(ETHER_PORTAL, 1n, new Uint8Array(51)))).toEqual(["report:ether deposit: payload shorter than 52 bytes"]);
    expect(reportOf(w.applyDirectInput(ERC20_PORTAL, 1n, new Uint8Array(71)))).toEqual(["report:erc20 deposit: payload shorter than 72 bytes"]);
    expect(reportOf(w.applyDirectInput(ERC20_PORTAL, 1n, erc20Deposit(CAROL, BOB, 1n)))).toEqual(["report:erc20 deposit: not the configured token"]);
    expect(reportOf(w.applyDirectInput(CAROL, 1n, etherDeposit(BOB, 1n)))).toEqual(["report:input ignored: not from a configured portal"]);
    w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(BOB, U256_MAX));
    expect(reportOf(w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(BOB, 1n)))).toEqual(["report:deposit refused: the balance would overflow"]);
    expect(balanceOf(w, BOB)).toBe(U256_MAX);
  });

  test("the fee vector the wallet is charged is the core's fee_to_linear", () => {
    expect(feeToLinear(FEE)).toBe(FEE_LINEAR);
  });

  test("EtherPortal payload credits the sender, extra bytes are ignored", () => {
    const w = newWallet();
    // the notice is shaped like a transfer's: portal || owner || amount (big-endian)
    expect(w.applyDirectInput(ETHER_PORTAL, 5n, etherDeposit(ALICE, 123n))).toEqual({
      outputs: [{ kind: "notice", payload: Uint8Array.of(...hexToBytes(ETHER_PORTAL), ...hexToBytes(ALICE), ...u256BE(123n)) }],
      failure: null,
    });
    w.applyDirectInput(ETHER_PORTAL, 6n, etherDeposit(ALICE, 7n, "0xdeadbeef"));
    expect(balanceOf(w, ALICE)).toBe(130n);
  });

  test("portal sender matching ignores hex case", () => {
    const w = newWallet();
    w.applyDirectInput(ETHER_PORTAL.toUpperCase().replace("0X", "0x") as Addr, 1n, etherDeposit(ALICE, 1n));
    expect(balanceOf(w, ALICE)).toBe(1n);
  });

  test("ERC20Portal credits only for the configured token", () => {
    const w = newWallet();
    w.applyDirectInput(ERC20_PORTAL, 1n, erc20Deposit(TOKEN, BOB, 500n));
    w.applyDirectInput(ERC20_PORTAL, 2n, erc20Deposit(CAROL, BOB, 1000n)); // wrong token
    expect(balanceOf(w, BOB)).toBe(500n);
    expect(w.executedInputCount).toBe(2n);
  });

  test("ERC20 deposits are refused when no token is configured", () => {
    const w = newWallet({ ...CONFIG, erc20Token: ZERO });
    w.applyDirectInput(ERC20_PORTAL, 1n, erc20Deposit(ZERO, BOB, 500n));
    expect(balanceOf(w, BOB)).toBe(0n);
  });

  test("a zero ether portal disables ether deposits (zero sender does not match)", () => {
    const w = newWallet({ ...CONFIG, etherPortal: ZERO });
    w.applyDirectInput(ZERO, 1n, etherDeposit(ALICE, 500n));
    w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(ALICE, 500n));
    expect(balanceOf(w, ALICE)).toBe(0n);
  });

  test("other senders, short or empty portal payloads are included no-ops", () => {
    const w = newWallet();
    const before = w.dump();
    w.applyDirectInput(ALICE, 1n, etherDeposit(ALICE, 5n)); // not a portal
    w.applyDirectInput(ETHER_PORTAL, 2n, etherDeposit(ALICE, 5n).subarray(0, 51));
    w.applyDirectInput(ETHER_PORTAL, 3n, new Uint8Array());
    w.applyDirectInput(ERC20_PORTAL, 4n, erc20Deposit(TOKEN, ALICE, 5n).subarray(0, 71));
    w.applyDirectInput(ETHER_PORTAL, 5n, etherDeposit(ALICE, 0n)); // zero value creates nothing
    expect(w.dump()).toEqual(before);
    expect(w.executedInputCount).toBe(5n);
  });

  test("a large direct input payload grows the host's input region", () => {
    const w = newWallet();
    const extra = `0x${"ab".repeat(100_000)}` as Addr;
    w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(ALICE, 9n, extra));
    w.applyDirectInput(ETHER_PORTAL, 2n, etherDeposit(ALICE, 1n));
    expect(balanceOf(w, ALICE)).toBe(10n);
  });

  test("a deposit that would overflow 2^256-1 is refused, and max value is reachable", () => {
    const w = newWallet();
    w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(ALICE, U256_MAX - 1n));
    w.applyDirectInput(ETHER_PORTAL, 2n, etherDeposit(ALICE, 2n)); // overflow → refused
    expect(balanceOf(w, ALICE)).toBe(U256_MAX - 1n);
    w.applyDirectInput(ETHER_PORTAL, 3n, etherDeposit(ALICE, 1n));
    expect(balanceOf(w, ALICE)).toBe(U256_MAX);
  });
});

describe("validate", () => {
  test("accepts the right nonce with enough balance for the fee", () => {
    expect(funded().validate(ALICE, 0, FEE, transferData(1n, BOB))).toEqual({ ok: true });
  });

  test("bad nonce reason is exact", () => {
    const w = funded();
    expect(w.validate(ALICE, 3, FEE, transferData(1n, BOB))).toEqual({ ok: false, reason: "bad nonce: expected 0, got 3" });
    w.applyUserOp(ALICE, 0, FEE, transferData(1n, BOB), 10n);
    expect(w.validate(ALICE, 0, FEE, new Uint8Array())).toEqual({ ok: false, reason: "bad nonce: expected 1, got 0" });
    expect(w.validate(ALICE, 4294967295, FEE, new Uint8Array())).toEqual({
      ok: false,
      reason: "bad nonce: expected 1, got 4294967295",
    });
  });

  test("insufficient balance for the fee, including an unknown sender", () => {
    expect(newWallet().validate(BOB, 0, FEE, new Uint8Array())).toEqual({ ok: false, reason: "insufficient balance for fee" });
    const w = funded(ALICE, FEE_LINEAR - 1n);
    expect(w.validate(ALICE, 0, FEE, new Uint8Array())).toEqual({ ok: false, reason: "insufficient balance for fee" });
    const exact = funded(ALICE, FEE_LINEAR);
    expect(exact.validate(ALICE, 0, FEE, new Uint8Array())).toEqual({ ok: true });
  });

  test("data longer than 53 bytes is rejected, and max_data_len says 53", () => {
    const w = funded();
    expect(w.maxDataLength).toBe(53);
    expect(w.validate(ALICE, 0, FEE, new Uint8Array(54))).toEqual({ ok: false, reason: "data too long: max 53, got 54" });
    expect(w.validate(ALICE, 0, FEE, new Uint8Array(53))).toEqual({ ok: true });
  });

  test("validate is read-only", () => {
    const w = funded();
    const before = w.dump();
    for (let i = 0; i < 5; i++) w.validate(ALICE, i, FEE, transferData(1n, BOB));
    expect(w.dump()).toEqual(before);
    expect(w.executedInputCount).toBe(1n);
  });
});

describe("apply_user_op", () => {
  test("transfer moves the amount, pays the fee and emits the notice", () => {
    const w = funded();
    const out = w.applyUserOp(ALICE, 0, FEE, transferData(1000n, BOB), 10n);
    expect(out).toHaveLength(1);
    expect(out[0]!.kind).toBe("notice");
    // from(20) || to(20) || amount(32 BE)
    expect(out[0]!.payload).toEqual(Uint8Array.of(...hexToBytes(ALICE), ...hexToBytes(BOB), ...u256BE(1000n)));
    expect(balanceOf(w, ALICE)).toBe(ETH - 1000n - FEE_LINEAR);
    expect(balanceOf(w, BOB)).toBe(1000n);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(FEE_LINEAR);
    expect(w.nonceOf(ALICE)).toBe(1);
  });

  test("transfer without funds is a no-op, but the nonce is consumed and the fee paid", () => {
    const w = funded(ALICE, 50_000n);
    const out = w.applyUserOp(ALICE, 0, FEE, transferData(50_000n, BOB), 10n); // 50000 - fee < amount
    expect(out).toEqual([{ kind: "report", payload: new TextEncoder().encode("transfer: insufficient balance") }]);
    expect(balanceOf(w, ALICE)).toBe(50_000n - FEE_LINEAR);
    expect(balanceOf(w, BOB)).toBe(0n);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(FEE_LINEAR);
    expect(w.nonceOf(ALICE)).toBe(1);
    expect(w.executedInputCount).toBe(2n);
  });

  test("transfer of the whole remaining balance and self-transfer", () => {
    const w = funded(ALICE, FEE_LINEAR * 3n);
    w.applyUserOp(ALICE, 0, FEE, transferData(FEE_LINEAR, ALICE), 10n); // self: no change
    expect(balanceOf(w, ALICE)).toBe(FEE_LINEAR * 2n);
    const out = w.applyUserOp(ALICE, 1, FEE, transferData(FEE_LINEAR, BOB), 10n);
    expect(out).toHaveLength(1);
    expect(balanceOf(w, ALICE)).toBe(0n);
    expect(decodeDump(w.dump()).get(ALICE)).toEqual({ nonce: 2, balance: 0n }); // kept: nonce 2
  });

  test("transfer that would overflow the recipient is a no-op", () => {
    const w = funded(ALICE, ETH);
    w.applyDirectInput(ETHER_PORTAL, 2n, etherDeposit(BOB, U256_MAX));
    expect(w.applyUserOp(ALICE, 0, FEE, transferData(1n, BOB), 10n)).toEqual([{ kind: "report", payload: new TextEncoder().encode("transfer: the recipient's balance would overflow") }]);
    expect(balanceOf(w, BOB)).toBe(U256_MAX);
    expect(balanceOf(w, ALICE)).toBe(ETH - FEE_LINEAR);
  });

  test("withdrawal debits and emits the voucher (destination, value BE, empty payload)", () => {
    const w = funded();
    const out = w.applyUserOp(ALICE, 0, FEE, withdrawalData(12345n), 10n);
    expect(out).toEqual([{ kind: "voucher", payload: Uint8Array.of(...hexToBytes(ALICE), ...u256BE(12345n)) }]);
    expect(readBE(out[0]!.payload.subarray(20))).toBe(12345n);
    expect(balanceOf(w, ALICE)).toBe(ETH - 12345n - FEE_LINEAR);
  });

  test("withdrawal beyond the balance is a no-op with the fee paid", () => {
    const w = funded(ALICE, 100_000n);
    expect(w.applyUserOp(ALICE, 0, FEE, withdrawalData(100_000n), 10n)).toEqual([{ kind: "report", payload: new TextEncoder().encode("withdrawal: insufficient balance") }]);
    expect(balanceOf(w, ALICE)).toBe(100_000n - FEE_LINEAR);
  });

  test("undecodable methods are no-ops with the fee paid and the nonce consumed", () => {
    const w = funded();
    const cases = [
      new Uint8Array(),
      Uint8Array.of(0x02, ...new Uint8Array(32)), // unknown selector
      withdrawalData(1n).subarray(0, 32), // short withdrawal
      Uint8Array.of(...withdrawalData(1n), 0), // withdrawal with a trailing byte
      transferData(1n, BOB).subarray(0, 52),
      Uint8Array.of(0x00, ...new Uint8Array(52)), // transfer-sized withdrawal selector
    ];
    cases.forEach((data, i) => expect(w.applyUserOp(ALICE, i, FEE, data, 10n)).toEqual([{ kind: "report", payload: new TextEncoder().encode("undecodable data: neither a withdrawal (0x00, 33 bytes) nor a transfer (0x01, 53 bytes)") }]));
    expect(balanceOf(w, ALICE)).toBe(ETH - FEE_LINEAR * BigInt(cases.length));
    expect(balanceOf(w, BOB)).toBe(0n);
    expect(w.nonceOf(ALICE)).toBe(cases.length);
  });

  test("the fee recipient may itself send ops (fee goes back to itself)", () => {
    const w = funded(FEE_RECIPIENT, ETH);
    w.applyUserOp(FEE_RECIPIENT, 0, FEE, transferData(1n, BOB), 10n);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(ETH - 1n);
  });

  test("the fee charged is fee_to_linear of the exponent given", () => {
    const w = funded();
    w.applyUserOp(ALICE, 0, 2000, new Uint8Array(), 10n);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(5747530n);
    w.applyUserOp(ALICE, 1, 0, new Uint8Array(), 10n);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(5747531n);
  });

  test("the largest fee exponent works with u256 math", () => {
    const big = feeToLinear(17101);
    const w = funded(ALICE, big * 2n);
    expect(w.validate(ALICE, 0, 17101, new Uint8Array())).toEqual({ ok: true });
    w.applyUserOp(ALICE, 0, 17101, new Uint8Array(), 1n);
    expect(balanceOf(w, ALICE)).toBe(big);
    expect(balanceOf(w, FEE_RECIPIENT)).toBe(big);
  });
});

describe("snapshots", () => {
  test("dump is canonical: different insertion orders give identical bytes", () => {
    const a = newWallet();
    const b = newWallet();
    const people: Addr[] = [ALICE, BOB, CAROL, FEE_RECIPIENT, "0x0000000000000000000000000000000000000001"];
    people.forEach((p, i) => a.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(p, BigInt(i + 1))));
    [...people].reverse().forEach((p) =>
      b.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(p, BigInt(people.indexOf(p) + 1))),
    );
    expect(a.dump()).toEqual(b.dump());
    const keys = [...decodeDump(a.dump()).keys()];
    expect(keys).toEqual([...keys].sort());
  });

  test("empty state dumps to the bare header", () => {
    expect(newWallet().dump()).toEqual(Uint8Array.of(0x43, 0x57, 0x41, 0x4c, 1, 0, 0, 0, 0, 0, 0, 0));
  });

  test("load(dump()) restores an equal state and the given position", () => {
    const a = funded();
    a.applyUserOp(ALICE, 0, FEE, transferData(77n, BOB), 12n);
    const bytes = a.dump();
    const b = newWallet();
    b.load(bytes, a.position);
    expect(b.dump()).toEqual(bytes);
    expect(b.nonceOf(ALICE)).toBe(1);
    expect(b.executedInputCount).toBe(2n);
    expect(b.clock).toBe(12n);
    // and both evolve identically afterwards
    for (const w of [a, b]) w.applyUserOp(ALICE, 1, FEE, withdrawalData(5n), 13n);
    expect(b.dump()).toEqual(a.dump());
  });

  test("load of malformed bytes fails with AppSnapshotError and leaves state untouched", () => {
    const w = funded();
    w.applyUserOp(ALICE, 0, FEE, transferData(77n, BOB), 12n);
    const before = w.dump();
    const pos = w.position;
    const valid = before;
    const swapped = valid.slice();
    swapped.set(valid.subarray(12, 68), 68);
    swapped.set(valid.subarray(68, 124), 12);
    const emptyEntry = Uint8Array.of(...valid.subarray(0, 8), 1, 0, 0, 0, ...new Uint8Array(56));
    const badVersion = valid.slice();
    badVersion[4] = 2;
    const garbage = [
      new Uint8Array(),
      Uint8Array.of(1, 2, 3),
      new TextEncoder().encode("definitely not a wallet dump"),
      valid.subarray(0, valid.length - 1),
      Uint8Array.of(...valid, 0),
      badVersion,
      swapped,
      emptyEntry,
      Uint8Array.of(...valid.subarray(0, 8), 0xff, 0xff, 0xff, 0xff),
    ];
    for (const g of garbage) {
      expect(() => w.load(g, { executedInputCount: 99n, clock: 99n })).toThrow(AppSnapshotError);
      expect(w.dump()).toEqual(before);
      expect(w.position).toEqual(pos);
    }
    expect(w.isDead).toBe(false);
  });

  test("determinism: the same sequence twice gives the same dump bytes", () => {
    const run = () => {
      const w = newWallet();
      for (let i = 0; i < 200; i++) {
        const who = `0x${(i * 7919).toString(16).padStart(40, "0")}` as Addr;
        w.applyDirectInput(ETHER_PORTAL, BigInt(i), etherDeposit(who, BigInt(i) * ETH + 1n));
        if (i > 0) w.applyUserOp(who, 0, FEE, transferData(BigInt(i), `0x${(i * 31).toString(16).padStart(40, "0")}`), BigInt(i));
      }
      return w.dump();
    };
    expect(run()).toEqual(run());
  });

  test("many accounts: memory grows, dump stays sorted and round-trips", () => {
    const w = newWallet();
    const n = 20_000;
    let x = 0x12345678n;
    for (let i = 0; i < n; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 160n) - 1n); // LCG addresses
      w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(`0x${x.toString(16).padStart(40, "0")}`, 1n));
    }
    const dump = w.dump();
    expect(dump.length).toBe(12 + 56 * n);
    const keys = [...decodeDump(dump).keys()];
    expect(keys).toEqual([...keys].sort());
    const v = newWallet();
    v.load(dump, w.position);
    expect(v.dump()).toEqual(dump);
  });
});

// A bigint reference model of the wallet; random op sequences must agree with the WASM.
describe("model check", () => {
  const people: Addr[] = [
    ALICE,
    BOB,
    CAROL,
    FEE_RECIPIENT,
    "0x0000000000000000000000000000000000000001",
    "0xff00000000000000000000000000000000000000",
    "0xff00000000000000000000000000000000000001",
  ];
  const amount = fc.oneof(
    fc.bigInt({ min: 0n, max: 200_000n }),
    fc.bigInt({ min: 0n, max: U256_MAX }),
    fc.constantFrom(0n, 1n, U256_MAX, U256_MAX - 1n, 1n << 64n, (1n << 64n) - 1n, 1n << 128n),
  );
  const action = fc.oneof(
    fc.record({ t: fc.constant("deposit" as const), who: fc.nat(people.length - 1), v: amount }),
    fc.record({ t: fc.constant("transfer" as const), who: fc.nat(people.length - 1), to: fc.nat(people.length - 1), v: amount, fee: fc.constantFrom(0, 1356, 2000) }),
    fc.record({ t: fc.constant("withdraw" as const), who: fc.nat(people.length - 1), v: amount, fee: fc.constantFrom(0, 1356) }),
  );

  test("random sequences agree with a bigint model", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const w = newWallet();
        const bal = new Map<Addr, bigint>();
        const nonce = new Map<Addr, number>();
        const get = (a: Addr) => bal.get(a) ?? 0n;
        for (const a of actions) {
          const who = people[a.who]!;
          if (a.t === "deposit") {
            w.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(who, a.v));
            if (get(who) + a.v <= U256_MAX) bal.set(who, get(who) + a.v);
            continue;
          }
          const data = a.t === "transfer" ? transferData(a.v, people[a.to]!) : withdrawalData(a.v);
          const n = nonce.get(who) ?? 0;
          const fee = feeToLinear(a.fee);
          const v = w.validate(who, n, a.fee, data);
          expect(v.ok).toBe(get(who) >= fee);
          if (!v.ok) continue;
          w.applyUserOp(who, n, a.fee, data, 1n);
          nonce.set(who, n + 1);
          bal.set(who, get(who) - fee);
          bal.set(FEE_RECIPIENT, get(FEE_RECIPIENT) + fee > U256_MAX ? U256_MAX : get(FEE_RECIPIENT) + fee);
          if (get(who) < a.v) continue;
          if (a.t === "withdraw") bal.set(who, get(who) - a.v);
          else {
            const to = people[a.to]!;
            if (to !== who && get(to) + a.v <= U256_MAX) {
              bal.set(who, get(who) - a.v);
              bal.set(to, get(to) + a.v);
            }
          }
        }
        const state = decodeDump(w.dump());
        for (const p of people) {
          expect(state.get(p)?.balance ?? 0n).toBe(get(p));
          expect(state.get(p)?.nonce ?? 0).toBe(nonce.get(p) ?? 0);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
