/**
 * The SDK's collections (app-wasm/sdk/collections.ts) against a model in TypeScript: random
 * inserts, updates and deletes on a BytesMap, an IntMap and an AddressSet, then the dump must
 * be exactly the canonical bytes the model computes (sorted keys, no empty values), whatever
 * the order of operations; load(dump) must give the same bytes back, and load must refuse
 * every non-canonical variant with the state untouched.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compileSdkApp } from "../../test/support/sdk-app.ts";
import { AppHost } from "./host.ts";
import { CONFIG, ETHER_PORTAL } from "../../scripts/lib/app-fixtures.ts";

// Direct inputs drive the collections: op byte, then arguments.
//   1 key(u8 len, bytes) value u64 → names.set     2 key → names.delete
//   3 u64 key, u64 value → ints.set                 4 address → members.add    5 address → members.delete
const SOURCE = `
import { AddressSet, App, BytesMap, Fields, Input, IntMap, Op, Reader, Struct, run } from "../sdk";
export * from "../sdk/abi";
class V extends Struct {
  v: u64 = 0;
  fields(f: Fields): void { this.v = f.u64(this.v); }
}
class T extends App {
  names: BytesMap<V> = new BytesMap<V>();
  ints: IntMap<V> = new IntMap<V>();
  members: AddressSet = new AddressSet();
  constructor() { super("TEST", 3, 8); this.persist(this.names); this.persist(this.ints); this.persist(this.members); }
  execute(op: Op): void {}
  onInput(i: Input): void {
    const r = new Reader(i.payload);
    const cmd = r.u8();
    if (cmd == 1 || cmd == 2) {
      const k = r.bytes(<i32>r.u8());
      if (cmd == 2) { this.names.delete(k); return; }
      const v = new V(); v.v = r.u64(); this.names.set(k, v);
    } else if (cmd == 3) {
      const k = r.u64(); const v = new V(); v.v = r.u64(); this.ints.set(k, v);
    } else if (cmd == 4) this.members.add(r.address());
    else if (cmd == 5) this.members.delete(r.address());
  }
}
run(new T());
`;

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileSdkApp(SOURCE);
});

type Cmd =
  | { k: "set"; key: Uint8Array; v: bigint }
  | { k: "del"; key: Uint8Array }
  | { k: "int"; key: bigint; v: bigint }
  | { k: "add"; a: Uint8Array }
  | { k: "rm"; a: Uint8Array };

const u64 = (v: bigint) => Buffer.from(new BigUint64Array([v]).buffer); // LE
const u64be = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };

function payload(c: Cmd): Uint8Array {
  switch (c.k) {
    case "set": return Buffer.concat([Buffer.from([1, c.key.length]), c.key, u64(c.v)]);
    case "del": return Buffer.concat([Buffer.from([2, c.key.length]), c.key]);
    case "int": return Buffer.concat([Buffer.from([3]), u64(c.key), u64(c.v)]);
    case "add": return Buffer.concat([Buffer.from([4]), c.a]);
    case "rm": return Buffer.concat([Buffer.from([5]), c.a]);
  }
}

/** The canonical dump the model says the app must produce (accounts map empty). */
function modelDump(cmds: Cmd[]): Buffer {
  const names = new Map<string, bigint>();
  const ints = new Map<bigint, bigint>();
  const members = new Set<string>();
  for (const c of cmds) {
    if (c.k === "set") c.v === 0n ? names.delete(Buffer.from(c.key).toString("hex")) : names.set(Buffer.from(c.key).toString("hex"), c.v);
    if (c.k === "del") names.delete(Buffer.from(c.key).toString("hex"));
    if (c.k === "int") c.v === 0n ? ints.delete(c.key) : ints.set(c.key, c.v);
    if (c.k === "add") members.add(Buffer.from(c.a).toString("hex"));
    if (c.k === "rm") members.delete(Buffer.from(c.a).toString("hex"));
  }
  // bytes keys: u16 BE length || bytes, ordered as those encoded bytes
  const nameKeys = [...names.keys()].map((h) => { const b = Buffer.from(h, "hex"); const k = Buffer.alloc(2 + b.length); k.writeUInt16BE(b.length); b.copy(k, 2); return { k, v: names.get(h)! }; });
  nameKeys.sort((a, b) => Buffer.compare(a.k, b.k));
  const intKeys = [...ints.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const memberKeys = [...members].sort();
  return Buffer.concat([
    Buffer.from("TEST"), u32(3),
    u32(0), // accounts
    u32(nameKeys.length), ...nameKeys.flatMap((e) => [e.k, u64(e.v)]),
    u32(intKeys.length), ...intKeys.flatMap((k) => [u64be(k), u64(ints.get(k)!)]),
    u32(memberKeys.length), ...memberKeys.map((h) => Buffer.from(h, "hex")),
  ]);
}

const key = fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 6 }), fc.constantFrom(Uint8Array.of(1), Uint8Array.of(1, 0), Uint8Array.of(0), new Uint8Array(0)));
const addr = fc.constantFrom(...[0, 1, 2, 0xff, 0x80].map((b) => { const a = new Uint8Array(20); a[19] = b; a[0] = b ^ 0x0f; return a; }));
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant("set" as const), key, v: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })) }),
  fc.record({ k: fc.constant("del" as const), key }),
  fc.record({ k: fc.constant("int" as const), key: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 255n, 256n, (1n << 64n) - 1n)), v: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 1000n })) }),
  fc.record({ k: fc.constant("add" as const), a: addr }),
  fc.record({ k: fc.constant("rm" as const), a: addr }),
);

function apply(cmds: Cmd[]): AppHost {
  const h = AppHost.create(wasm, CONFIG);
  for (const c of cmds) expect(h.applyDirectInput(ETHER_PORTAL.replace("c7", "c8") as `0x${string}`, 1n, payload(c)).failure).toBeNull();
  return h;
}

describe("SDK collections", () => {
  test("the dump is the model's canonical bytes, and load(dump) gives it back", () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 80 }), (cmds) => {
        const h = apply(cmds);
        const expected = modelDump(cmds);
        const got = Buffer.from(h.dump());
        expect(got.toString("hex")).toBe(expected.toString("hex"));
        const again = AppHost.create(wasm, CONFIG);
        again.load(got, h.position);
        expect(Buffer.from(again.dump()).toString("hex")).toBe(expected.toString("hex"));
      }),
      { numRuns: 120, seed: 9 },
    );
  });

  test("load refuses non-canonical bytes and keeps the state", () => {
    const h = apply([
      { k: "set", key: Uint8Array.of(1), v: 5n },
      { k: "set", key: Uint8Array.of(2), v: 6n },
      { k: "int", key: 3n, v: 7n },
      { k: "add", a: new Uint8Array(20).fill(9) },
    ]);
    const good = Buffer.from(h.dump());
    // layout: TEST v3 | accounts 0 | names 2 × (00 01 kk | u64) | ints 1 × (u64be | u64) | members 1 × 20
    const namesAt = 12;
    const e1 = namesAt + 4;
    const e2 = e1 + 11;
    const swapped = Buffer.from(good);
    good.copy(swapped, e1, e2, e2 + 11);
    good.copy(swapped, e2, e1, e1 + 11);
    const zeroValue = Buffer.from(good);
    zeroValue.fill(0, e1 + 3, e1 + 11);
    const duplicate = Buffer.from(good);
    good.copy(duplicate, e2, e1, e1 + 11);
    const bad = [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]), swapped, zeroValue, duplicate];
    for (const b of bad) {
      const t = apply([{ k: "int", key: 1n, v: 1n }]);
      const before = Buffer.from(t.dump());
      expect(() => t.load(b, h.position)).toThrow(/dump refused/);
      expect(Buffer.from(t.dump())).toEqual(before);
    }
    const ok = apply([]);
    ok.load(good, h.position);
    expect(Buffer.from(ok.dump())).toEqual(good);
  });
});
