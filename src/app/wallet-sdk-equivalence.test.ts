/**
 * The wallet rebuilt on the app SDK behaves exactly as the wallet before it (issue #15):
 * for the same random history, both modules give byte-identical dumps after every step, the
 * same outputs, the same rejections and reasons, and the same nonces. The pre-SDK module is
 * committed as app-wasm/build/wallet-v1.wasm (built from the sources at 526c998).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { AppHost } from "./host.ts";
import { loadDefaultAppBytes } from "./default-app.ts";
import { CONFIG, ERC20_PORTAL, ETHER_PORTAL, FEE_RECIPIENT, TOKEN, U256_MAX, erc20Deposit, etherDeposit, transferData, withdrawalData, type Addr } from "../../scripts/lib/app-fixtures.ts";

const V1 = readFileSync(join(import.meta.dir, "../../app-wasm/build/wallet-v1.wasm"));
const PEOPLE: Addr[] = [
  FEE_RECIPIENT,
  "0x00000000000000000000000000000000000000a1",
  "0x00000000000000000000000000000000000000b2",
  "0xff000000000000000000000000000000000000c3",
  "0x0000000000000000000000000000000000000001",
];

type Step =
  | { k: "eth"; who: number; amount: bigint }
  | { k: "erc20"; who: number; amount: bigint; token: boolean }
  | { k: "raw"; from: number; bytes: Uint8Array }
  | { k: "op"; who: number; nonceDelta: number; fee: number; data: Uint8Array };

const amount = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.constantFrom(0n, 1n, U256_MAX, U256_MAX - 1n, 1n << 128n));
const who = fc.integer({ min: 0, max: PEOPLE.length - 1 });
const data = fc.oneof(
  fc.tuple(amount, who).map(([a, w]) => transferData(a, PEOPLE[w]!)),
  amount.map((a) => withdrawalData(a)),
  fc.uint8Array({ maxLength: 60 }),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant("eth" as const), who, amount }),
  fc.record({ k: fc.constant("erc20" as const), who, amount, token: fc.boolean() }),
  fc.record({ k: fc.constant("raw" as const), from: fc.integer({ min: 0, max: 2 }), bytes: fc.uint8Array({ maxLength: 80 }) }),
  fc.record({ k: fc.constant("op" as const), who, nonceDelta: fc.constantFrom(0, 0, 0, 1, -1), fee: fc.constantFrom(0, 1356, 2000, 17101), data }),
);

const text = (o: readonly { kind: string; payload: Uint8Array }[]) => o.map((x) => `${x.kind}:${Buffer.from(x.payload).toString("hex")}`);

describe("the SDK wallet is the wallet", () => {
  test("random histories: identical dumps, outputs, rejections and nonces at every step", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const a = AppHost.create(V1, CONFIG);
        const b = AppHost.create(loadDefaultAppBytes(), CONFIG);
        let block = 1n;
        for (const s of steps) {
          block += 1n;
          if (s.k === "op") {
            const sender = PEOPLE[s.who]!;
            const nonce = Math.max(0, a.nonceOf(sender) + s.nonceDelta);
            const va = a.validate(sender, nonce, s.fee, s.data);
            const vb = b.validate(sender, nonce, s.fee, s.data);
            expect(vb).toEqual(va);
            if (va.ok) expect(text(b.applyUserOp(sender, nonce, s.fee, s.data, block))).toEqual(text(a.applyUserOp(sender, nonce, s.fee, s.data, block)));
          } else {
            const [from, payload] =
              s.k === "eth"
                ? [ETHER_PORTAL, etherDeposit(PEOPLE[s.who]!, s.amount)]
                : s.k === "erc20"
                  ? [ERC20_PORTAL, erc20Deposit(s.token ? TOKEN : PEOPLE[1]!, PEOPLE[s.who]!, s.amount)]
                  : [[ETHER_PORTAL, ERC20_PORTAL, PEOPLE[2]!][s.from]!, s.bytes];
            const ra = a.applyDirectInput(from, block, payload);
            const rb = b.applyDirectInput(from, block, payload);
            expect(rb.failure).toBe(ra.failure);
            expect(text(rb.outputs)).toEqual(text(ra.outputs));
          }
          expect(Buffer.from(b.dump()).toString("hex")).toBe(Buffer.from(a.dump()).toString("hex"));
          for (const p of PEOPLE) expect(b.nonceOf(p)).toBe(a.nonceOf(p));
        }
        // and each loads the other's dump
        const d = a.dump();
        const c = AppHost.create(loadDefaultAppBytes(), CONFIG);
        c.load(d, a.position);
        expect(c.dump()).toEqual(d);
      }),
      { numRuns: 150, seed: 15 },
    );
  });

  test("a dump the old wallet refuses, the SDK wallet refuses too", () => {
    const good = (() => {
      const a = AppHost.create(V1, CONFIG);
      a.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(PEOPLE[1]!, 5n));
      a.applyDirectInput(ETHER_PORTAL, 1n, etherDeposit(PEOPLE[2]!, 7n));
      return a.dump();
    })();
    const bad: Uint8Array[] = [
      good.slice(0, good.length - 1), // truncated
      Uint8Array.of(...good, 0), // trailing byte
      (() => { const x = good.slice(); x[0] = x[0]! ^ 1; return x; })(), // magic
      (() => { const x = good.slice(); x[4] = 2; return x; })(), // version
      (() => { const x = good.slice(); x.set(good.subarray(12, 32), 68); x.set(good.subarray(68, 88), 12); return x; })(), // order
      (() => { const x = good.slice(); x.fill(0, 32, 68); return x; })(), // an empty entry
    ];
    for (const x of bad) {
      for (const bytes of [V1, loadDefaultAppBytes()]) {
        const h = AppHost.create(bytes, CONFIG);
        expect(() => h.load(x, { executedInputCount: 0n, clock: 0n })).toThrow();
        expect(h.dump()).toEqual(AppHost.create(bytes, CONFIG).dump());
      }
    }
  });
});
