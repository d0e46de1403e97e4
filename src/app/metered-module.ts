/**
 * What metering produces, and the names it injects: shared by the pass (metering-pass.ts),
 * the facade that caches its results (metering.ts) and the host that runs them.
 */
import { createHash } from "node:crypto";

/** Export names of the injected globals; a module that already uses one is refused. */
export const FUEL_EXPORT = "__seq_fuel";
export const DEPTH_EXPORT = "__seq_depth";
export const GROW_REFUSED_EXPORT = "__seq_grow_refused";
/** Mutable global number i of the module is exported as `${STATE_GLOBAL_PREFIX}${i}`. */
export const STATE_GLOBAL_PREFIX = "__seq_g";

export interface MeteredModule {
  /** The instrumented module's bytes. */
  bytes: Uint8Array;
  /** sha256 of the module as given (what an operator points SEQ_APP_WASM at). */
  moduleSha256: string;
  /** sha256 of `bytes`: the module that actually runs. */
  meteredSha256: string;
  /** Export names of the module's own mutable globals (host snapshot/restore). */
  stateGlobals: string[];
  /** Initial memory pages. */
  initialPages: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

