/**
 * keccak256, the one implementation every module uses (digests, tx_hash, batch hashes,
 * acceptance checks, L1 transaction hashes).
 *
 * Native (the prebuilt `keccak` addon, the XKCP code, provided by src/runtime/native-addons.ts)
 * when the process installed it and it loads, else @noble/hashes. Both
 * compute the same function; `keccak.test.ts` cross-checks them and viem on random inputs.
 * Why native: in JSC, noble's keccak takes ~2 ms for a 32 KB batch and ~17 µs for one
 * block; the addon ~0.13 ms and ~3 µs (`scripts/bench/keccak.ts`). Batches are hashed
 * several times on their way to L1, and user ops three times each.
 */
import { keccak_256 } from "@noble/hashes/sha3";

export type KeccakBackend = "native" | "js";
export type Keccak256 = (data: Uint8Array) => Uint8Array;

const keccakJs: Keccak256 = (data) => keccak_256(data);

/** Set by the process entry point (src/runtime/native-addons.ts); core loads nothing itself. */
let nativeFactory: (() => Keccak256 | null) | null = null;
let active: { backend: KeccakBackend; fn: Keccak256 } | undefined;

/**
 * Offers a native keccak256. The factory runs at the first hash, not now (see
 * native-addons.ts); when it returns null, the JS implementation is used.
 */
export function provideNativeKeccak(factory: () => Keccak256 | null): void {
  nativeFactory = factory;
  active = undefined;
}

function resolveActive(): { backend: KeccakBackend; fn: Keccak256 } {
  if (active === undefined) {
    const native = nativeFactory?.() ?? null;
    active = native ? { backend: "native", fn: native } : { backend: "js", fn: keccakJs };
  }
  return active;
}

/** A keccak256 on the given backend ("native" throws when none was provided or it failed). */
export function createKeccak256(backend: KeccakBackend): Keccak256 {
  if (backend === "js") return keccakJs;
  const native = nativeFactory?.() ?? null;
  if (!native) throw new Error("no native keccak256 is available (src/runtime/native-addons.ts)");
  return native;
}

/** The backend `keccak256` uses (resolves it if that has not happened yet). */
export function keccakBackend(): KeccakBackend {
  return resolveActive().backend;
}

/** keccak256 of `data` (32 bytes). */
export function keccak256(data: Uint8Array): Uint8Array {
  return (active ?? resolveActive()).fn(data);
}
