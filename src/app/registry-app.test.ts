/**
 * The name registry example (app-wasm/registry, on the SDK) through LocalApp: the real host,
 * the committed registry.wasm, no chain.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { feeToLinear } from "../core/fees.ts";
import { LocalApp, type Address } from "./local-app.ts";

const WASM = join(import.meta.dir, "../../app-wasm/build/registry.wasm");
const ALICE: Address = "0x00000000000000000000000000000000000a11ce";
const BOB: Address = "0x0000000000000000000000000000000000000b0b";
const ETH = 10n ** 18n;
const PRICE = 10n ** 15n;
const FEE = feeToLinear(0); // LocalApp runs ops at fee exponent 0 unless told
const enc = (s: string) => new TextEncoder().encode(s);
const addr = (a: Address) => Buffer.from(a.slice(2), "hex");
const op = (method: number, ...parts: Uint8Array[]) => Uint8Array.from([method, ...parts.flatMap((p) => [...p])]);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function nameQuery(app: LocalApp, name: string) {
  const r = app.inspect(op(1, enc(name)));
  if (r.status !== "accepted") return { status: r.status, why: r.reports.map(text).join() };
  const b = Buffer.from(r.reports[0]!);
  return { owner: `0x${b.subarray(0, 20).toString("hex")}`, target: `0x${b.subarray(20, 40).toString("hex")}`, expiry: b.readBigUInt64BE(40), expired: b[48] === 1 };
}

function balance(app: LocalApp, who: Address): bigint {
  const r = app.inspect(op(2, addr(who)));
  return BigInt(`0x${Buffer.from(r.reports[0]!.subarray(0, 32)).toString("hex")}`);
}

describe("name registry", () => {
  test("register, point, transfer, renew, expire and re-register by another, release", () => {
    const app = LocalApp.fromFile(WASM);
    app.deposit(ALICE, ETH);
    app.deposit(BOB, ETH);
    app.advance(10);
    const reg = app.op(ALICE, op(1, enc("alice")));
    expect(reg.status).toBe("included");
    expect(nameQuery(app, "alice")).toEqual({ owner: ALICE, target: ALICE, expiry: 11n + 2_628_000n, expired: false });
    expect(balance(app, ALICE)).toBe(ETH - PRICE - FEE);
    expect(balance(app, app.config.feeRecipient)).toBe(PRICE + FEE);

    // taken: Bob is refused (422 on the sequencer), pays nothing
    const taken = app.op(BOB, op(1, enc("alice")));
    expect(taken).toEqual({ status: "rejected", reason: `register: the name is taken until block ${11n + 2_628_000n}` });
    expect(app.nonceOf(BOB)).toBe(0);
    // only the owner may point or transfer
    expect(app.op(BOB, op(4, addr(BOB), enc("alice")))).toEqual({ status: "rejected", reason: "only the owner may do this" });
    expect(app.op(ALICE, op(4, addr(BOB), enc("alice"))).status).toBe("included");
    expect(nameQuery(app, "alice")).toMatchObject({ owner: ALICE, target: BOB });
    // anyone may renew; the period adds to the current expiry
    expect(app.op(BOB, op(2, enc("alice"))).status).toBe("included");
    expect(nameQuery(app, "alice")).toMatchObject({ expiry: 11n + 2n * 2_628_000n });
    // expiry by app clock: once past it, the name is free for Bob
    app.advance(2 * 2_628_000 + 5); // past 11 + 2 periods
    // inspect answers at the app clock, which moves with executed inputs, not with L1 alone
    expect(nameQuery(app, "alice")).toMatchObject({ expired: false });
    app.deposit(BOB, 0n);
    expect(nameQuery(app, "alice")).toMatchObject({ expired: true });
    expect(app.op(ALICE, op(3, addr(BOB), enc("alice")))).toMatchObject({ status: "rejected" });
    expect(app.op(BOB, op(1, enc("alice"))).status).toBe("included");
    expect(nameQuery(app, "alice")).toMatchObject({ owner: BOB, target: BOB, expired: false });
    // transfer, then release by the new owner
    expect(app.op(BOB, op(3, addr(ALICE), enc("alice"))).status).toBe("included");
    expect(app.op(ALICE, op(5, enc("alice"))).status).toBe("included");
    expect(nameQuery(app, "alice")).toEqual({ status: "rejected", why: "the name is not registered" });
  });

  test("bad names and undecodable data are refused; withdraw pays a voucher", () => {
    const app = LocalApp.fromFile(WASM);
    app.deposit(ALICE, ETH);
    for (const bad of ["ab", "-abc", "abc-", "ABC", "a b c", "x".repeat(33)]) {
      expect(app.op(ALICE, op(1, enc(bad)))).toMatchObject({ status: "rejected" });
    }
    expect(app.op(ALICE, Uint8Array.of(9, 1, 2, 3))).toMatchObject({ status: "rejected" });
    expect(app.op(ALICE, new Uint8Array(0))).toMatchObject({ status: "rejected" });
    const amount = new Uint8Array(32);
    amount[31] = 7;
    const w = app.op(ALICE, op(0, amount));
    expect(w.status).toBe("included");
    if (w.status !== "included") return;
    expect(w.outputs).toHaveLength(1);
    expect(w.outputs[0]!.kind).toBe("voucher");
    expect(Buffer.from(w.outputs[0]!.payload).toString("hex")).toBe(`${ALICE.slice(2)}${"00".repeat(31)}07`);
    expect(balance(app, ALICE)).toBe(ETH - 7n - FEE);
    // more than the balance: refused
    amount.fill(0xff);
    expect(app.op(ALICE, op(0, amount))).toEqual({ status: "rejected", reason: "withdraw: insufficient balance" });
  });

  test("app config sets the price and period; a bad config is a load error", () => {
    const cfg = new Uint8Array(40);
    cfg[31] = 5; // price 5 wei
    cfg[39] = 100; // period 100 blocks
    const app = LocalApp.fromFile(WASM, { appConfig: cfg });
    app.deposit(ALICE, 1000n);
    expect(app.op(ALICE, op(1, enc("cheap"))).status).toBe("included");
    expect(balance(app, ALICE)).toBe(995n - FEE);
    expect(nameQuery(app, "cheap")).toMatchObject({ expiry: 101n });
    expect(() => LocalApp.fromFile(WASM, { appConfig: new Uint8Array(3) })).toThrow(/app config refused: expected price/);
  });

  test("the dump round-trips and two insertion orders give the same bytes", () => {
    const build = (names: string[]) => {
      const app = LocalApp.fromFile(WASM);
      app.deposit(ALICE, ETH);
      for (const n of names) expect(app.op(ALICE, op(1, enc(n))).status).toBe("included");
      return app;
    };
    const a = build(["zeta", "alpha", "mid", "alpha-2"]);
    const b = build(["alpha-2", "mid", "zeta", "alpha"]);
    // nonces differ by nothing (same count), balances equal: same state, same bytes
    expect(Buffer.from(a.dump()).toString("hex")).toBe(Buffer.from(b.dump()).toString("hex"));
    const c = LocalApp.fromFile(WASM);
    c.host.load(a.dump(), a.host.position);
    expect(c.dump()).toEqual(a.dump());
    expect(nameQuery(c, "mid")).toMatchObject({ owner: ALICE });
  });
});
