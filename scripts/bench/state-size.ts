/**
 * What a growing state costs the embedded wallet, in process (no sequencer, no L1):
 *
 *   bun scripts/bench/state-size.ts [largest account count = 150000]
 *
 * Deposits to fresh addresses grow the wallet's state. At each step it prints the dump size,
 * the time of one inspect (a balance query; each one puts the whole memory image back) and
 * whether `dump` still succeeds. Stops at the first failed dump. A dump is taken at every
 * batch seal. A failed one (AppDumpError) now costs that seal's snapshot, where it used to stop
 * the lane (docs/app-abi.md, docs/perf-log.md 2026-12-04).
 */
import { ETHER_PORTAL, etherDeposit, newWallet } from "../lib/app-fixtures.ts";
import { prepareAppRuntime } from "../../src/app/host.ts";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";

const LARGEST = Number(process.argv[2] ?? 150_000);
const STEPS = [0, 1_000, 10_000, 20_000, 30_000, 40_000, 50_000, 55_000, 60_000, 80_000, 100_000, 150_000].filter((n) => n <= LARGEST);

await prepareAppRuntime(loadDefaultAppBytes(), {});
const wallet = newWallet();
const query = new Uint8Array(21);
query[20] = 7; // the balance of 0x…07
const addressOf = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as const;

let accounts = 0;
for (const target of STEPS) {
  let failedDeposits = 0;
  for (; accounts < target; accounts++) {
    if (wallet.applyDirectInput(ETHER_PORTAL, 7n, etherDeposit(addressOf(accounts + 1), 1n)).failure) failedDeposits++;
  }
  let dumpBytes: number | null = null;
  let dumpError: string | null = null;
  try {
    dumpBytes = wallet.dump().length;
  } catch (e) {
    dumpError = e instanceof Error ? e.message : String(e);
  }
  let inspectUs: number | null = null;
  if (dumpError === null) {
    for (let i = 0; i < 200; i++) wallet.inspect(query); // warm
    const n = 1_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) wallet.inspect(query);
    inspectUs = +(((performance.now() - t0) * 1000) / n).toFixed(1);
  }
  console.log(JSON.stringify({ accounts, failed_deposits: failedDeposits, dump_bytes: dumpBytes, inspect_us: inspectUs, ...(dumpError ? { dump_error: dumpError } : {}) }));
  if (dumpError !== null) break;
}
