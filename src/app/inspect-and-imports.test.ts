/**
 * The host's additions for apps (issue #15): inspect (read-only, own budget, reports only),
 * the debug log (never consensus), the app clock (env.clock) and the app's own config.
 * Modules are written against the SDK and compiled in the test.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { compileSdkApp } from "../../test/support/sdk-app.ts";
import { AppHost, MAX_APP_CONFIG } from "./host.ts";
import { AppConfigRefusedError, AppLoadError } from "./errors.ts";
import { CONFIG, ETHER_PORTAL, etherDeposit } from "../../scripts/lib/app-fixtures.ts";

const SOURCE = `
import { App, Cell, IntMap, Op, Query, Reader, Record, Writer, clock, debug, notice, report, reportBytes, run } from "../sdk";
export * from "../sdk/abi";

class Counter extends Record {
  n: u64 = 0;
  encode(w: Writer): void { w.u64(this.n); }
  decode(r: Reader): void { this.n = r.u64(); }
  isEmpty(): bool { return this.n == 0; }
}

let grown: usize = 0;

class Probe extends App {
  hits: IntMap<Counter> = new IntMap<Counter>();
  config: Uint8Array = new Uint8Array(0);
  constructor() { super("PRBE", 1, 64); this.persist(this.hits); }
  configure(c: Uint8Array): string | null { this.config = c; return c.length == 1 && c[0] == 0xff ? "0xff is refused" : null; }
  check(op: Op): string | null { debug("check at " + op.block.toString()); return null; }
  execute(op: Op): void {
    const c = this.hits.get(1); c.n += 1; this.hits.set(1, c);
    debug("execute at " + op.block.toString());
    notice(new Writer(8).u64BE(<u64>op.block).finish());
  }
  query(q: Query): bool {
    // mutate on purpose: the host must discard it
    const c = this.hits.get(1); c.n += 1000; this.hits.set(1, c);
    const mode = q.payload.length > 0 ? q.payload[0] : 0;
    if (mode == 1) { notice(new Uint8Array(1)); return true; }
    if (mode == 2) { while (true) { c.n++; this.hits.set(2, c); } }
    if (mode == 3) { grown = heap.alloc(8 << 20); store<u8>(grown + (8 << 20) - 1, 1); unreachable(); }
    if (mode == 4) { reportBytes(this.config); return true; }
    if (mode == 5) return false;
    reportBytes(new Writer(16).u64BE(<u64>q.block).u64BE(c.n).finish());
    report("second report");
    return true;
  }
}
run(new Probe());
`;

const ALICE = "0x00000000000000000000000000000000000a11ce";
let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileSdkApp(SOURCE);
});

function probe(logs?: string[], appConfig?: Uint8Array): AppHost {
  const h = AppHost.create(wasm, CONFIG, { ...(logs ? { onLog: (l: string) => logs.push(l) } : {}), ...(appConfig ? { appConfig } : {}) });
  h.applyDirectInput(ETHER_PORTAL, 7n, etherDeposit(ALICE, 10n ** 18n));
  return h;
}

const u64 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(at);

describe("inspect", () => {
  test("answers with reports at the state's clock, and discards whatever the query changed", () => {
    const h = probe();
    h.validate(ALICE, 0, 0, new Uint8Array(), { safeBlock: 20n });
    h.applyUserOp(ALICE, 0, 0, new Uint8Array(), 20n);
    const before = h.dump();
    for (let i = 0; i < 3; i++) {
      const r = h.inspect(new Uint8Array());
      expect(r.status).toBe("accepted");
      expect(r.reports).toHaveLength(2);
      expect(u64(r.reports[0]!, 0)).toBe(20n); // clock
      expect(u64(r.reports[0]!, 8)).toBe(1001n); // one execute + this query's own +1000, never kept
      expect(new TextDecoder().decode(r.reports[1]!)).toBe("second report");
    }
    expect(h.dump()).toEqual(before);
    expect(h.inspect(Uint8Array.of(5))).toEqual({ status: "rejected", reports: [] });
  });

  test("failures are exceptions with their class, and the state stays as it was", () => {
    const h = probe();
    const before = h.dump();
    const notice = h.inspect(Uint8Array.of(1));
    expect(notice).toMatchObject({ status: "exception", failure: "import" });
    expect(notice.error).toContain("during inspect, which may emit reports only");
    expect(h.inspect(Uint8Array.of(2))).toMatchObject({ status: "exception", failure: "fuel" });
    expect(h.lastFuelUsed).toBeGreaterThan(2_000_000n);
    const grew = h.inspect(Uint8Array.of(3)); // grows memory by 8 MiB, then traps
    expect(grew).toMatchObject({ status: "exception", failure: "trap" });
    expect(h.dump()).toEqual(before);
    // the instance goes on: ops, deposits and queries as before
    expect(h.validate(ALICE, 0, 0, new Uint8Array(), { safeBlock: 9n })).toEqual({ ok: true });
    expect(h.applyUserOp(ALICE, 0, 0, new Uint8Array(), 9n)).toHaveLength(1);
    expect(u64(h.inspect(new Uint8Array()).reports[0]!, 8)).toBe(1001n);
  });

  test("a module without inspect is answered rejected, with a report saying so", async () => {
    const wallet = AppHost.create((await import("./default-app.ts")).loadDefaultAppBytes(), CONFIG);
    expect(wallet.hasInspect).toBe(true);
    const plain = AppHost.create(new Uint8Array(await Bun.file(`${import.meta.dir}/../../app-wasm/build/wallet-v1.wasm`).arrayBuffer()), CONFIG);
    expect(plain.hasInspect).toBe(false);
    const r = plain.inspect(new Uint8Array(21));
    expect(r.status).toBe("rejected");
    expect(new TextDecoder().decode(r.reports[0]!)).toBe("this app exports no inspect");
  });
});

describe("env.clock", () => {
  test("validate and apply of one op see the same clock: max(clock, the op's safe block)", () => {
    const logs: string[] = [];
    const h = probe(logs);
    expect(h.validate(ALICE, 0, 0, new Uint8Array(), { safeBlock: 30n })).toEqual({ ok: true });
    const out = h.applyUserOp(ALICE, 0, 0, new Uint8Array(), 30n);
    expect(u64(out[0]!.payload, 0)).toBe(30n);
    // an older safe block does not move the clock back
    h.validate(ALICE, 1, 0, new Uint8Array(), { safeBlock: 25n });
    const out2 = h.applyUserOp(ALICE, 1, 0, new Uint8Array(), 25n);
    expect(u64(out2[0]!.payload, 0)).toBe(30n);
    expect(logs).toEqual(["check at 30", "check at 30", "execute at 30", "check at 30", "check at 30", "execute at 30"]);
  });
});

describe("debug log", () => {
  test("reaches onLog when given, changes nothing either way", () => {
    const logs: string[] = [];
    const a = probe(logs);
    const b = probe();
    for (const h of [a, b]) {
      h.validate(ALICE, 0, 0, new Uint8Array(), { safeBlock: 3n });
      h.applyUserOp(ALICE, 0, 0, new Uint8Array(), 3n);
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(a.dump()).toEqual(b.dump());
    expect(a.lastFuelUsed).toBe(b.lastFuelUsed);
  });
});

describe("app config", () => {
  test("the app's own bytes follow the host's 80, and the app may refuse them", () => {
    const h = probe(undefined, Uint8Array.of(1, 2, 3));
    expect([...h.inspect(Uint8Array.of(4)).reports[0]!]).toEqual([1, 2, 3]);
    expect(() => probe(undefined, Uint8Array.of(0xff))).toThrow(/app config refused: 0xff is refused/);
    // typed, so the sequencer names SEQ_APP_CONFIG (exit 78) without matching message text
    expect(() => probe(undefined, Uint8Array.of(0xff))).toThrow(AppConfigRefusedError);
    expect(() => probe(undefined, new Uint8Array(MAX_APP_CONFIG + 1))).toThrow(AppLoadError);
  });
});
