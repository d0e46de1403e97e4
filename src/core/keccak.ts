/**
 * keccak256, the one implementation every module uses (digests, tx_hash, batch hashes,
 * acceptance checks, L1 transaction hashes).
 *
 * Native (the prebuilt `keccak` addon, the XKCP code) when it loads, else @noble/hashes. Both
 * compute the same function; `keccak.test.ts` cross-checks them and viem on random inputs.
 * Why native: in JSC, noble's keccak takes ~2 ms for a 32 KB batch and ~17 µs for one
 * block; the addon ~0.13 ms and ~3 µs (`scripts/bench/keccak.ts`). Batches are hashed
 * several times on their way to L1, and user ops three times each.
 */
import { keccak_256 } from "@noble/hashes/sha3";

interface NativeKeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Uint8Array): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Uint8Array;
}

export type KeccakBackend = "native" | "js";
export type Keccak256 = (data: Uint8Array) => Uint8Array;

let nativeState: NativeKeccakState | null | undefined;
let nativeLoadError: unknown;

/**
 * Loads the prebuilt addon by literal path so that `bun build --compile` embeds it (it does
 * not follow node-gyp-build's dynamic lookup). Only the linux-x64 glibc build is shipped;
 * anywhere else this returns null and the JS implementation runs.
 */
function loadNative(): NativeKeccakState | null {
  if (nativeState !== undefined) return nativeState;
  try {
    const KeccakState = require("../../node_modules/keccak/prebuilds/linux-x64/node.napi.glibc.node") as new () => NativeKeccakState;
    const s = new KeccakState();
    // Prove it computes keccak256("") before trusting it.
    s.initialize(1088, 512);
    s.absorbLastFewBits(0x01);
    const empty = Buffer.from(s.squeeze(32)).toString("hex");
    if (empty !== "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470") {
      throw new Error(`native keccak256("") returned ${empty}`);
    }
    nativeState = s;
  } catch (e) {
    nativeLoadError = e;
    nativeState = null;
  }
  return nativeState;
}

/** Why the native addon did not load, for the startup log; undefined when it loaded. */
export function nativeKeccakLoadError(): unknown {
  loadNative();
  return nativeLoadError;
}

const keccakJs: Keccak256 = (data) => keccak_256(data);

function keccakNative(s: NativeKeccakState): Keccak256 {
  // One state, reset per call: hashing is synchronous, so calls never interleave.
  return (data) => {
    s.initialize(1088, 512);
    s.absorb(data);
    s.absorbLastFewBits(0x01);
    const out = s.squeeze(32);
    return new Uint8Array(out.buffer, out.byteOffset, 32);
  };
}

/** A keccak256 on the given backend ("native" throws if the addon is unavailable). */
export function createKeccak256(backend: KeccakBackend): Keccak256 {
  if (backend === "js") return keccakJs;
  const s = loadNative();
  if (!s) throw new Error(`the native keccak addon is not available: ${(nativeLoadError as Error)?.message}`);
  return keccakNative(s);
}

/** The backend `keccak256` uses (loads the addon if that has not happened yet). */
export function keccakBackend(): KeccakBackend {
  return loadNative() ? "native" : "js";
}

let active: Keccak256 | undefined;

/**
 * keccak256 of `data` (32 bytes). The addon is loaded at the first call, not at import: Bun
 * aborts the process when a Worker is terminated while a node-addon-api module is being
 * registered, and pools create and terminate workers that may never hash anything.
 */
export function keccak256(data: Uint8Array): Uint8Array {
  if (active === undefined) {
    const s = loadNative();
    active = s ? keccakNative(s) : keccakJs;
  }
  return active(data);
}
