/**
 * A hostile app module for SPEC 2.8 tests, compiled from AssemblyScript in the test. Every
 * op and every direct input is accepted; applying one runs what its first byte selects:
 *
 *   0 nothing   1 an infinite loop   2 unbounded recursion   3 memory growth to the cap
 *   4 `unreachable`   5 a non-zero result   6 grow memory by 24 pages and succeed
 *   7 (ops only) run the u32 little-endian count that follows the mode byte of loop
 *     iterations and succeed: a valid op as heavy as the test wants (fuel is linear in it)
 *
 * Growth is charged (65,536 units a page), so one call cannot reach the page cap from a small
 * memory: mode 6, which succeeds, is how a test grows memory first (GROW_CALLS_TO_NEAR_CAP
 * calls bring it within a few pages of the cap). State: a u32 counter in a global and a u32 cell
 * in memory, both bumped by every apply before it looks at its mode (so a failing call has
 * already written something a restore must undo). dump() = counter || cell || memory pages.
 */
import { compileAs, fixtureSource } from "../../scripts/lib/app-fixtures.ts";
import { MAX_MEMORY_PAGES, type FailureClass } from "../../src/core/execution-limits.ts";

/** Calls of mode 6 that take a fresh instance to within 16 pages of MAX_MEMORY_PAGES. */
export const GROW_CALLS_TO_NEAR_CAP = Math.ceil((MAX_MEMORY_PAGES - 16) / 24);

export const MODE = { ok: 0, loop: 1, recursion: 2, memory: 3, unreachable: 4, nonZero: 5, grow: 6, burn: 7 } as const;

/** Op data for MODE.burn: `iterations` loop iterations. */
export function burnData(iterations: number): Uint8Array {
  const d = new Uint8Array(5);
  d[0] = MODE.burn;
  new DataView(d.buffer).setUint32(1, iterations, true);
  return d;
}

/** Each failing mode and the class the host must report for it. */
export const FAILING_MODES: readonly (readonly [mode: number, failure: FailureClass])[] = [
  [MODE.loop, "fuel"],
  [MODE.recursion, "depth"],
  [MODE.memory, "memory"],
  [MODE.unreachable, "trap"],
  [MODE.nonZero, "result"],
];

export const HOSTILE_SOURCE = fixtureSource(
  {
    apply_user_op:
      "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { return l >= 5 && load<u8>(d) == 7 ? burn(load<u32>(d + 1)) : run(l > 0 ? load<u8>(d) : 0); }",
    apply_direct_input:
      "export function apply_direct_input(s: usize, b: i64, p: usize, l: usize): i32 { return run(l > 0 ? load<u8>(p) : 0); }",
    dump: "export function dump(): i32 { store<u32>(OUT, counter); store<u32>(OUT, load<u32>(CELL), 4); store<u32>(OUT, <u32>memory.size(), 8); return 0; }",
    dump_ptr: "export function dump_ptr(): usize { return OUT; }",
    dump_len: "export function dump_len(): usize { return 12; }",
  },
  `
let counter: u32 = 0;
const CELL = memory.data(8);
const OUT = memory.data(16);
function deeper(n: i32): i32 { return n < 0 ? 0 : deeper(n + 1) + 1; }
function burn(k: u32): i32 { for (let i: u32 = 0; i < k; i++) store<u32>(CELL, load<u32>(CELL) + 1); return 0; }
function run(mode: u8): i32 {
  counter++;
  store<u32>(CELL, load<u32>(CELL) + 1);
  if (mode == 1) { let x: u32 = 0; while (true) { x++; store<u32>(CELL, x); } }
  if (mode == 2) { return deeper(1); }
  if (mode == 3) { while (memory.grow(4) >= 0) {} unreachable(); }
  if (mode == 4) { unreachable(); }
  if (mode == 5) { return 7; }
  if (mode == 6) { memory.grow(24); }
  return 0;
}
`,
);

export function compileHostileApp(): Promise<Uint8Array> {
  return compileAs(HOSTILE_SOURCE);
}
