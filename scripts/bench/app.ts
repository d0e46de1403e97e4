/**
 * Per-op cost of the WASM wallet through AppHost: validate + apply of a transfer, the
 * inclusion lane's hot path. Run: node_modules/.bin/bun scripts/bench/app.ts [ops] [accounts]
 */
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { AppHost } from "../../src/app/host.ts";
import { loadMeteringPass } from "../../src/app/metering.ts";
import { ANVIL_3, ZERO } from "../lib/fixture-addresses.ts";

// Hosts are built synchronously below: load the on-demand metering pass first.
await loadMeteringPass();

const OPS = Number(process.argv[2] ?? 200_000);
const ACCOUNTS = Number(process.argv[3] ?? 10_000);
const FEE = 1356;

const ETHER_PORTAL = "0xc70074bdd26d8cf983ca6a5b89b8db52d5850051";
const host = AppHost.create(loadDefaultAppBytes(), {
  feeRecipient: ANVIL_3,
  etherPortal: ETHER_PORTAL,
  erc20Portal: ZERO,
  erc20Token: ZERO,
});

const addr = (i: number): `0x${string}` => `0x${(0x1000 + i * 2654435761).toString(16).padStart(40, "0")}`;
const senders = Array.from({ length: ACCOUNTS }, (_, i) => addr(i));
for (const s of senders) {
  const payload = new Uint8Array(52);
  payload.set(Buffer.from(s.slice(2), "hex"), 0);
  payload[20 + 31 - 8] = 1; // 2^64 units
  host.applyDirectInput(ETHER_PORTAL, 1n, payload);
}
// transfers of 1 unit to the next account: every op touches two existing accounts
const datas = senders.map((_, i) => {
  const d = new Uint8Array(53);
  d[0] = 1;
  d[1] = 1;
  d.set(Buffer.from(senders[(i + 1) % ACCOUNTS]!.slice(2), "hex"), 33);
  return d;
});
const nonces = new Array<number>(ACCOUNTS).fill(0);

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function run(n: number, record: Float64Array | null): number {
  const t0 = Bun.nanoseconds();
  for (let k = 0; k < n; k++) {
    const i = k % ACCOUNTS;
    const s = senders[i]!;
    const start = record ? Bun.nanoseconds() : 0;
    const v = host.validate(s, nonces[i]!, FEE, datas[i]!);
    if (!v.ok) throw new Error(v.reason);
    host.applyUserOp(s, nonces[i]!, FEE, datas[i]!, 2n);
    nonces[i]!++;
    if (record) record[k] = (Bun.nanoseconds() - start) / 1000;
  }
  return Bun.nanoseconds() - t0;
}

run(Math.min(OPS, 20_000), null); // warm up the JIT
const samples = new Float64Array(OPS);
run(OPS, samples);
const untimed = run(OPS, null);
samples.sort();
const fmt = (x: number) => x.toFixed(2);
console.log(`accounts=${ACCOUNTS} ops=${OPS} (validate + apply transfer, notice emitted)`);
console.log(`per op µs: p50=${fmt(percentile(samples, 0.5))} p99=${fmt(percentile(samples, 0.99))} max=${fmt(samples[samples.length - 1]!)}`);
console.log(`throughput (untimed loop): ${Math.round(OPS / (untimed / 1e9)).toLocaleString("en-US")} ops/s`);
console.log(`dump: ${host.dump().length} bytes`);
