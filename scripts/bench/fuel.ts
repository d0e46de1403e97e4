/**
 * Fuel calibration (SPEC 2.8, core/execution-limits.ts): how long one call that burns its
 * whole budget takes with the most expensive instruction mixes we know, and how much fuel
 * the wallet's ops use. The default budget is chosen from these two numbers.
 *
 * Run: node_modules/.bin/bun scripts/bench/fuel.ts [--runs N]
 * Prints one JSON line per case: the median, min and max milliseconds of a full-budget call
 * (including the restore that follows the failure), and the fuel used per wallet op.
 */
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { AppHost } from "../../src/app/host.ts";
import { compileAs, etherDeposit, fixtureSource, transferData, withdrawalData } from "../lib/app-fixtures.ts";
import { EXECUTION_LIMITS, ExecutionFailedError, MAX_MEMORY_PAGES } from "../../src/core/execution-limits.ts";
import { loadMeteringPass } from "../../src/app/metering.ts";
import { ANVIL_3, SUBMITTER, ZERO } from "../lib/fixture-addresses.ts";

// Hosts are built synchronously below: load the on-demand metering pass first.
await loadMeteringPass();

const runsAt = process.argv.indexOf("--runs");
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;
const FEE = 1356;
const CONFIG = {
  feeRecipient: ANVIL_3,
  etherPortal: "0xc70074bdd26d8cf983ca6a5b89b8db52d5850051",
  erc20Portal: ZERO,
  erc20Token: ZERO,
} as const;
const ALICE = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266" as const;
const BOB = SUBMITTER;

// Each mode loops until the fuel runs out. Before modes 4-6, successful calls of mode 7 grow
// memory close to the cap (one call cannot: growth is charged), so that loads miss the
// caches and bulk operations move as many bytes as their charge allows.
const ADVERSARY = fixtureSource(
  {
    apply_user_op:
      "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { return run(load<u8>(d)); }",
  },
  `
const CELL = memory.data(16);
function leaf(x: u64): u64 { return x * 6364136223846793005 + 1442695040888963407; }
function deeper(n: i32): i32 { return n <= 0 ? 0 : deeper(n - 1) + 1; }
function big(): usize { return <usize>memory.size() << 16; }
function run(mode: u8): i32 {
  let x: u64 = 12345;
  if (mode == 0) { while (true) { x++; store<u64>(CELL, x); } }
  if (mode == 1) { while (true) { x = x / 3 + (x % 1000003) + 1000003; store<u64>(CELL, x); } }
  if (mode == 2) { while (true) { x = leaf(x); store<u64>(CELL, x); } }
  if (mode == 3) { while (true) { x += <u64>deeper(${EXECUTION_LIMITS.maxCallDepth - 10}); store<u64>(CELL, x); } }
  if (mode == 4) { const top = big() - 8; while (true) { x = x * 6364136223846793005 + 1; x += load<u64>(<usize>((x >> 20) % <u64>top)); store<u64>(CELL, x); } }
  if (mode == 5) { const top = big(); while (true) { memory.fill(64, <u8>x, top - 64); x++; } }
  if (mode == 6) { const top = big(); while (true) { memory.copy(64, (top >> 1), (top >> 1) - 64); x++; } }
  if (mode == 8) { memory.grow(1); while (true) { x++; store<u64>(CELL, x); } }
  if (mode == 7) { const want = min(24, ${MAX_MEMORY_PAGES - 8} - memory.size()); if (want > 0) memory.grow(want); }
  return 0;
}
`,
);
/** [mode, what it does]; mode 7 only grows memory (the helper for the modes from 4 on). */
const CASES: [number, string][] = [
  [0, "tight loop"],
  [1, "division loop"],
  [2, "call loop"],
  [3, "max-depth recursion loop"],
  [4, "random loads over a full memory"],
  [5, "memory.fill up to the budget"],
  [6, "memory.copy up to the budget"],
  [8, "grow one page, then loop (the restore needs a fresh instance)"],
];

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const wasm = await compileAs(ADVERSARY);
for (const [mode, name] of CASES) {
  const h = AppHost.create(wasm, CONFIG);
  if (mode >= 4) for (let i = 0; i < MAX_MEMORY_PAGES / 24 + 1; i++) h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(7), 1n);
  const ms: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    try {
      h.applyUserOp(ALICE, 0, FEE, Uint8Array.of(mode), 1n);
      throw new Error(`mode ${mode} returned`);
    } catch (e) {
      if (!(e instanceof ExecutionFailedError) || e.failure !== "fuel") throw e;
    }
    if (i > 0) ms.push(performance.now() - t0); // the first run compiles
  }
  console.log(JSON.stringify({ case: name, budget: EXECUTION_LIMITS.fuelPerCall.toString(), ms_p50: +median(ms).toFixed(2), ms_min: +Math.min(...ms).toFixed(2), ms_max: +Math.max(...ms).toFixed(2), restore_ms_mean: +(h.restoreMs / h.restores).toFixed(2) }));
}

// The wallet: fuel of each kind of op, with 10k accounts in the tree.
const w = AppHost.create(loadDefaultAppBytes(), CONFIG);
for (let i = 0; i < 10_000; i++) {
  const a = `0x${(0x1000 + i * 2654435761).toString(16).padStart(40, "0")}` as const;
  w.applyDirectInput(CONFIG.etherPortal, 1n, etherDeposit(a, 10n ** 18n));
}
w.applyDirectInput(CONFIG.etherPortal, 1n, etherDeposit(ALICE, 10n ** 18n));
const deposit = w.lastFuelUsed;
const fuel: Record<string, string> = { deposit: deposit.toString() };
let nonce = 0;
for (const [name, data] of [
  ["transfer to a new account", transferData(1n, BOB)],
  ["transfer to an existing account", transferData(1n, BOB)],
  ["withdrawal", withdrawalData(1n)],
  ["overdraft transfer (no-op)", transferData(10n ** 30n, BOB)],
  ["undecodable data (no-op)", Uint8Array.of(7, 7)],
] as const) {
  const v = w.validate(ALICE, nonce, FEE, data);
  if (!v.ok) throw new Error(v.reason);
  const vf = w.lastFuelUsed;
  w.applyUserOp(ALICE, nonce++, FEE, data, 2n);
  fuel[name] = `${vf} validate + ${w.lastFuelUsed} apply`;
}
console.log(JSON.stringify({ case: "wallet fuel per op (10k accounts)", ...fuel }));
