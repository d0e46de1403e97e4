/**
 * Bounded execution of the app (SPEC §2.8): the consensus parameters that bound every call
 * into the WASM module, and the cost model the instrumentation charges against them.
 *
 * These are protocol constants, like MAX_WAIT_BLOCKS: the inclusion lane, the canonical
 * scheduler (`verify`) and every later reader of the app run the module instrumented with
 * exactly these numbers, so the same input fails at the same point everywhere. Changing any
 * of them changes which inputs fail, i.e. the history L1 executes: it is a new deployment.
 *
 * Numbers only, no I/O. The instrumentation that applies them lives in src/app/metering.ts.
 */
import { SequencerError } from "./errors.ts";

/**
 * Fuel of one call of `validate`, `apply_user_op`, `apply_direct_input` or `inspect`.
 *
 * One unit is about one WASM instruction (see FUEL_COSTS). Chosen by measurement
 * (docs/app-abi.md §9, scripts/bench/fuel.ts): the wallet's heaviest op uses ≈ 4,700 units
 * (validate + apply), and the most expensive instruction mix found (random loads over a full
 * memory) burns this budget in ≈ 12–14 ms of one core of the reference machine, restore
 * included. The slowest failure is not a fuel matter (see MAX_MEMORY_PAGES).
 */
export const FUEL_PER_CALL = 2_000_000n;

/**
 * Fuel of the host's maintenance calls (`init`, `alloc`, `dealloc`, `dump`, `load`,
 * `nonce_of`, ...). Their cost grows with the state, not with one input; a failure there is
 * fatal (docs/app-abi.md), so the bound is generous: it only turns a hang into an error.
 */
export const FUEL_PER_MAINTENANCE_CALL = 1n << 40n;

/** Largest app config (SEQ_APP_CONFIG) a deployment may hand its app's init, in bytes. */
export const MAX_APP_CONFIG_BYTES = 64 * 1024;

/**
 * Fuel of one `inspect` call: its own budget, the same size as an apply's. Not consensus (an
 * inspect changes nothing), but fixed, so that the same query on the same state gives the
 * same answer on every reader.
 */
export const FUEL_PER_INSPECT = FUEL_PER_CALL;

/**
 * Deepest WASM call nesting. The engines' own limits depend on frame sizes and differ
 * (Bun's native stack gives out near 10k small frames, Node's near 16k), so the injected
 * limit must fire far below the smallest of them for any frame the module may declare
 * (MAX_LOCALS_PER_FUNCTION bounds the frame).
 */
export const MAX_CALL_DEPTH = 1_000;

/** A function with more params + locals than this is refused at load (it bounds frame size). */
export const MAX_LOCALS_PER_FUNCTION = 1_000;

/**
 * Cap on linear memory, in 64 KiB pages (16 MiB: about 150k wallet accounts). `memory.grow`
 * beyond it returns -1. It bounds what a failing call costs, which is the worst case of all:
 * a call that grows memory and then fails is restored into a fresh instance, whose pages
 * fault in on first touch (≈ 3 ms per MiB on the reference machine, ≈ 50 ms at this cap;
 * 64 MiB measured ≈ 195 ms). docs/app-abi.md §9.
 */
export const MAX_MEMORY_PAGES = 256;

/** Outputs one apply call may emit, and their total payload bytes; beyond, the call fails. */
export const MAX_OUTPUTS_PER_CALL = 256;
export const MAX_OUTPUT_BYTES_PER_CALL = 256 * 1024;

/**
 * What the instrumentation charges. Static costs are summed per straight-line region and
 * charged on entering it (function entry, loop header), so a charge is an upper bound of
 * the instructions run until the next charge point.
 */
export interface FuelCosts {
  instruction: bigint;
  call: bigint;
  division: bigint;
  bulkBytesShift: bigint;
  growPage: bigint;
}

const FUEL_COSTS_V2: FuelCosts = {
  /** Every instruction not listed below. */
  instruction: 1n,
  /** call and call_indirect, on top of the callee's own charge. */
  call: 2n,
  /** Integer division and remainder, the slowest scalar instructions. */
  division: 4n,
  /** memory.copy / memory.fill: one unit per 2^bulkBytesShift bytes (per byte), plus `instruction`. */
  bulkBytesShift: 0n,
  /**
   * memory.grow: per page requested. Allocators double memory when they grow (AssemblyScript's
   * TLSF does), so one call must be able to afford the last doubling, 128 pages to 256, with
   * room left for its own work: 8,192 × 128 = 1,048,576, about half the budget. Growth is
   * paid once per instance (memory never shrinks); docs/decisions.md has the history.
   */
  growPage: 8_192n,
};

/** Bumped whenever the instrumentation's output changes for the same input module. */
export const METERING_VERSION = 2;

/**
 * Every metering version this binary can still run, so that `verify` of an export recorded
 * under an older one folds with the costs it was sequenced with. Version 1 (issue #14)
 * charged 65,536 units per page of memory.grow; nothing else differs.
 */
export const FUEL_COSTS_BY_VERSION: Readonly<Record<number, FuelCosts>> = Object.freeze({
  1: Object.freeze({ ...FUEL_COSTS_V2, growPage: 65_536n }),
  2: Object.freeze(FUEL_COSTS_V2),
});

/** The costs of the current version (what the sequencer runs). */
export const FUEL_COSTS: FuelCosts = FUEL_COSTS_BY_VERSION[METERING_VERSION]!;

export function isSupportedMeteringVersion(v: unknown): v is number {
  return typeof v === "number" && Object.hasOwn(FUEL_COSTS_BY_VERSION, v);
}

/** The limits as one record, for /info, the export header and reports. */
export interface ExecutionLimits {
  fuelPerCall: bigint;
  maxCallDepth: number;
  maxMemoryPages: number;
  maxOutputsPerCall: number;
  maxOutputBytesPerCall: number;
  meteringVersion: number;
}

export const EXECUTION_LIMITS: ExecutionLimits = Object.freeze({
  fuelPerCall: FUEL_PER_CALL,
  maxCallDepth: MAX_CALL_DEPTH,
  maxMemoryPages: MAX_MEMORY_PAGES,
  maxOutputsPerCall: MAX_OUTPUTS_PER_CALL,
  maxOutputBytesPerCall: MAX_OUTPUT_BYTES_PER_CALL,
  meteringVersion: METERING_VERSION,
});

/** The limits with an older metering version (for verify of an old export). */
export function limitsFor(meteringVersion: number): ExecutionLimits {
  if (!isSupportedMeteringVersion(meteringVersion)) throw new RangeError(`metering version ${meteringVersion} is not supported`);
  return meteringVersion === METERING_VERSION ? EXECUTION_LIMITS : Object.freeze({ ...EXECUTION_LIMITS, meteringVersion });
}

/** The JSON shape of the limits (snake_case, numbers), as /info and reports show them. */
export function limitsJson(l: ExecutionLimits = EXECUTION_LIMITS): Record<string, number | string> {
  return {
    fuel_per_call: l.fuelPerCall.toString(),
    max_call_depth: l.maxCallDepth,
    max_memory_pages: l.maxMemoryPages,
    max_outputs_per_call: l.maxOutputsPerCall,
    max_output_bytes_per_call: l.maxOutputBytesPerCall,
    metering_version: l.meteringVersion,
  };
}

/**
 * Why a call into the app failed (SPEC §2.8). The class is deterministic; an engine's
 * message text is not, so only the class (and text the app itself wrote) may reach the feed.
 *
 * - fuel: the budget ran out;        - depth: MAX_CALL_DEPTH exceeded;
 * - memory: a trap after memory.grow was refused at MAX_MEMORY_PAGES;
 * - trap: any other trap (unreachable, out-of-bounds, AssemblyScript abort, ...);
 * - result: apply_* returned non-zero;
 * - import: the app misused a host import (emit outside apply, unknown kind, bad range,
 *   too many outputs).
 */
export type FailureClass = "fuel" | "depth" | "memory" | "trap" | "result" | "import";

export const FAILURE_CLASSES: readonly FailureClass[] = ["fuel", "depth", "memory", "trap", "result", "import"];

/** Human text for a failure class, with the limit it hit. */
export function describeFailure(c: FailureClass, limits: ExecutionLimits = EXECUTION_LIMITS): string {
  switch (c) {
    case "fuel":
      return `fuel exhausted (budget ${limits.fuelPerCall} per call)`;
    case "depth":
      return `call depth over ${limits.maxCallDepth}`;
    case "memory":
      return `memory cap of ${limits.maxMemoryPages} pages reached`;
    case "trap":
      return "trapped";
    case "result":
      return "returned a non-zero result";
    case "import":
      return "misused a host import";
  }
}

/**
 * A call into the app failed (SPEC §2.8). Not fatal: the host has already restored the app
 * to its state before the call. The lane answers 422, the scheduler skips the op.
 * `detail` may hold engine text and must never reach anything consensus-relevant.
 */
export class ExecutionFailedError extends SequencerError {
  readonly failure: FailureClass;
  readonly call: string;
  readonly detail: string;
  constructor(call: string, failure: FailureClass, detail: string, options?: { cause?: unknown }) {
    super("EXECUTION_FAILED", `execution failed in ${call}: ${describeFailure(failure)}${detail ? ` (${detail})` : ""}`, options);
    this.failure = failure;
    this.call = call;
    this.detail = detail;
  }
}
