/**
 * The one place native addons are loaded: libsecp256k1 (signature recovery and signing) and
 * XKCP keccak. `src/core` stays pure (no I/O, no environment); it computes with @noble until
 * a process entry point calls `installNativeCrypto`, which hands core a lazy factory for each
 * addon and the signature backend chosen by SEQ_SIG_BACKEND.
 *
 * Both backends compute the same functions (core's tests cross-check them), so a process that
 * never installs them is slower, never different.
 *
 * The addons are required by literal path so that `bun build --compile` embeds them (it does
 * not follow node-gyp-build's dynamic lookup; a compiled binary loads a `.node` file only by
 * path). Only the linux-x64 glibc builds are shipped; elsewhere the JS backends run.
 *
 * They load at first use, not here: Bun aborts the process when a Worker is terminated while
 * a node-addon-api module is being registered, and pools create and terminate workers that may
 * never hash anything.
 */
import { ConfigError } from "../core/errors.ts";
import { provideNativeKeccak, type Keccak256 } from "../core/keccak.ts";
import { provideNativeSecp256k1, selectSignatureBackend, type NativeSecp256k1, type SignatureBackendChoice } from "../core/signature.ts";

interface NativeKeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Uint8Array): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Uint8Array;
}

interface Loaded<T> {
  value: T | null;
  error: unknown;
}

/** Loads once and remembers the failure, so the startup log can say why JS runs. */
function once<T>(load: () => T): () => Loaded<T> {
  let r: Loaded<T> | undefined;
  return () => {
    if (r) return r;
    try {
      r = { value: load(), error: undefined };
    } catch (error) {
      r = { value: null, error };
    }
    return r;
  };
}

const secp256k1Addon = once((): NativeSecp256k1 => {
  const mod = require("../../node_modules/secp256k1/prebuilds/linux-x64/secp256k1.glibc.node") as {
    Secp256k1: new () => NativeSecp256k1;
  };
  return new mod.Secp256k1();
});

const keccakAddon = once((): Keccak256 => {
  const KeccakState = require("../../node_modules/keccak/prebuilds/linux-x64/node.napi.glibc.node") as new () => NativeKeccakState;
  const s = new KeccakState();
  // Prove it computes keccak256("") before trusting it.
  s.initialize(1088, 512);
  s.absorbLastFewBits(0x01);
  const empty = Buffer.from(s.squeeze(32)).toString("hex");
  if (empty !== "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470") {
    throw new Error(`native keccak256("") returned ${empty}`);
  }
  // One state, reset per call: hashing is synchronous, so calls never interleave.
  return (data) => {
    s.initialize(1088, 512);
    s.absorb(data);
    s.absorbLastFewBits(0x01);
    const out = s.squeeze(32);
    return new Uint8Array(out.buffer, out.byteOffset, 32);
  };
});

/** The native keccak256, or null with `nativeKeccakLoadError` saying why. */
export function nativeKeccak256(): Keccak256 | null {
  return keccakAddon().value;
}

export function nativeKeccakLoadError(): unknown {
  return keccakAddon().error;
}

export function nativeSecp256k1LoadError(): unknown {
  return secp256k1Addon().error;
}

/** SEQ_SIG_BACKEND: js | native | auto (default: native when the addon loads). */
export function parseSignatureBackend(v: string | undefined): SignatureBackendChoice {
  const wanted = (v ?? "auto").trim().toLowerCase();
  if (wanted === "js" || wanted === "native" || wanted === "auto") return wanted;
  if (wanted === "") return "auto";
  throw new ConfigError("SEQ_SIG_BACKEND", `must be js, native or auto, got ${JSON.stringify(wanted)}`);
}

/**
 * Gives core the native addons and the signature backend. Every process and worker entry
 * point calls it once, before it hashes or recovers anything.
 * @throws ConfigError naming SEQ_SIG_BACKEND when its value is not one of the three.
 */
export function installNativeCrypto(env: Record<string, string | undefined> = process.env): void {
  const choice = parseSignatureBackend(env.SEQ_SIG_BACKEND);
  provideNativeKeccak(() => keccakAddon().value);
  provideNativeSecp256k1(() => {
    const r = secp256k1Addon();
    return r.value ?? { error: r.error };
  });
  selectSignatureBackend(choice);
}
