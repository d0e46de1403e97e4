/**
 * Signature rules (SPEC 2.1) and signer recovery.
 *
 * Rules: 65 bytes r || s || v, v in {0, 1, 27, 28}, 0 < r < n, 0 < s <= n/2 (low-s only, so
 * one operation has exactly one valid signature and therefore one tx_hash).
 *
 * Backends: the native libsecp256k1 addon (≈10x faster, used by the live sequencer) and
 * @noble/curves (pure JS, used when the addon cannot load or SEQ_SIG_BACKEND=js). The addon
 * and the choice come from the process entry point (src/runtime/native-addons.ts): core does
 * no I/O and reads no environment. Both sit behind the same parse step, so the acceptance
 * rules never depend on the backend.
 */
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak256 } from "./keccak.ts";
import { bytesToHex, type Address } from "./bytes.ts";
import { ConfigError, SignatureError } from "./errors.ts";

export const SIGNATURE_LENGTH = 65;

/** secp256k1 group order n and floor(n/2), as 32-byte big-endian for allocation-free compares. */
const N_BYTES = hexWord("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const HALF_N_BYTES = hexWord("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");

function hexWord(h: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Compares two 32-byte big-endian words: -1, 0 or 1. */
function cmpWord(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function isZeroWord(a: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== 0) return false;
  return true;
}

export interface ParsedSignature {
  /** 32-byte big-endian views into the input (not copies). */
  r: Uint8Array;
  s: Uint8Array;
  /** r || s, the 64-byte compact form both backends take. */
  compact: Uint8Array;
  recovery: 0 | 1;
}

/** Applies every acceptance rule; what passes is a well-formed low-s recoverable signature. */
export function parseSignature(sig: Uint8Array): ParsedSignature {
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_LENGTH) {
    throw new SignatureError(`signature must be ${SIGNATURE_LENGTH} bytes, got ${sig instanceof Uint8Array ? sig.length : typeof sig}`);
  }
  const v = sig[64]!;
  let recovery: 0 | 1;
  if (v === 0 || v === 27) recovery = 0;
  else if (v === 1 || v === 28) recovery = 1;
  else throw new SignatureError(`signature v must be 0, 1, 27 or 28, got ${v}`);

  const r = sig.subarray(0, 32);
  const s = sig.subarray(32, 64);
  if (isZeroWord(r) || cmpWord(r, N_BYTES) >= 0) throw new SignatureError("signature r is zero or not below the curve order");
  if (isZeroWord(s)) throw new SignatureError("signature s is zero");
  if (cmpWord(s, HALF_N_BYTES) > 0) throw new SignatureError("signature s is high (s > n/2); use the low-s form");
  return { r, s, compact: sig.subarray(0, 64), recovery };
}

/** Ethereum address of an uncompressed public key (0x04 || X || Y). */
function addressOfUncompressed(pub65: Uint8Array): Address {
  return bytesToHex(keccak256(pub65.subarray(1, 65)).subarray(12)) as Address;
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new SignatureError("digest must be 32 bytes");
}

// ---- backends -----------------------------------------------------------------------------
export type SignatureBackend = "native" | "js";
/** What SEQ_SIG_BACKEND asks for; "auto" is native when the addon loads. */
export type SignatureBackendChoice = SignatureBackend | "auto";
export type Recoverer = (digest: Uint8Array, sig: Uint8Array) => Address;

/** The libsecp256k1 binding's calls that core uses. */
export interface NativeSecp256k1 {
  ecdsaRecover(output: Uint8Array, sig64: Uint8Array, recid: number, msg32: Uint8Array): number;
  ecdsaSign(out: { signature: Uint8Array; recid: number }, msg32: Uint8Array, key: Uint8Array): number;
}

/** Set by the process entry point (src/runtime/native-addons.ts); core loads nothing itself. */
let nativeFactory: (() => NativeSecp256k1 | { error: unknown }) | null = null;
let nativeAddon: NativeSecp256k1 | null | undefined;
let nativeLoadError: unknown;
let choice: SignatureBackendChoice = "auto";
let active: { kind: SignatureBackend; recover: Recoverer } | undefined;

/** Offers the native addon; the factory runs at first use (see native-addons.ts). */
export function provideNativeSecp256k1(factory: () => NativeSecp256k1 | { error: unknown }): void {
  nativeFactory = factory;
  nativeAddon = undefined;
  active = undefined;
}

/** Which backend `recoverSigner` uses; "native" fails at first use when the addon is missing. */
export function selectSignatureBackend(c: SignatureBackendChoice): void {
  choice = c;
  active = undefined;
}

function loadNative(): NativeSecp256k1 | null {
  if (nativeAddon !== undefined) return nativeAddon;
  if (!nativeFactory) {
    nativeLoadError = new Error("no native secp256k1 was provided (src/runtime/native-addons.ts)");
    nativeAddon = null;
    return null;
  }
  const r = nativeFactory();
  if ("error" in r) {
    nativeLoadError = r.error;
    nativeAddon = null;
  } else {
    nativeAddon = r;
  }
  return nativeAddon;
}

/** Why the native addon is not in use, for the startup log; undefined when it loaded. */
export function nativeBackendLoadError(): unknown {
  loadNative();
  return nativeLoadError;
}

export function nativeBackendAvailable(): boolean {
  return loadNative() !== null;
}

function createNative(addon: NativeSecp256k1): Recoverer {
  return (digest, sig) => {
    checkDigest(digest);
    const p = parseSignature(sig);
    const pub = new Uint8Array(65);
    // 0 = ok; 1 = unparsable, 2 = no point recovers (both impossible to tell apart usefully).
    const rc = addon.ecdsaRecover(pub, p.compact, p.recovery, digest);
    if (rc !== 0) throw new SignatureError("signature does not recover to a public key");
    return addressOfUncompressed(pub);
  };
}

function createJs(): Recoverer {
  return (digest, sig) => {
    checkDigest(digest);
    const p = parseSignature(sig);
    let pub: Uint8Array;
    try {
      pub = secp256k1.Signature.fromCompact(p.compact).addRecoveryBit(p.recovery).recoverPublicKey(digest).toRawBytes(false);
    } catch (cause) {
      throw new SignatureError("signature does not recover to a public key", { cause });
    }
    return addressOfUncompressed(pub);
  };
}

/**
 * A recoverer on an explicit backend (tests, benchmarks).
 * @throws ConfigError when "native" is asked for and the addon cannot load.
 */
export function createRecoverer(kind: SignatureBackend): Recoverer {
  if (kind === "js") return createJs();
  const addon = loadNative();
  if (addon === null) {
    throw new ConfigError("SEQ_SIG_BACKEND", `native secp256k1 addon unavailable: ${String(nativeLoadError)}`);
  }
  return createNative(addon);
}

/** Resolves the selected backend once. */
function activeBackend(): { kind: SignatureBackend; recover: Recoverer } {
  if (active !== undefined) return active;
  const kind: SignatureBackend = choice === "auto" ? (nativeBackendAvailable() ? "native" : "js") : choice;
  active = { kind, recover: createRecoverer(kind) };
  return active;
}


export function signatureBackend(): SignatureBackend {
  return activeBackend().kind;
}

/**
 * Signs a 32-byte digest: r || s (low-s, RFC 6979 nonce) and the recovery id. Native when
 * the addon loads, else @noble/curves; both are deterministic, so they give the same bytes.
 * Used for L1 transactions and by test and benchmark tooling, never on user ops.
 */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): { compact: Uint8Array; recovery: number } {
  checkDigest(digest);
  const addon = loadNative();
  if (addon) {
    const out = { signature: new Uint8Array(64), recid: 0 };
    const rc = addon.ecdsaSign(out, digest, privateKey);
    if (rc !== 0) throw new SignatureError(`cannot sign with this key (libsecp256k1 code ${rc})`);
    return { compact: out.signature, recovery: out.recid };
  }
  const s = secp256k1.sign(digest, privateKey);
  return { compact: s.toCompactRawBytes(), recovery: s.recovery };
}

/**
 * The signer of `digest` (lowercase address).
 * @throws SignatureError when the signature breaks a rule or recovers nothing.
 */
export function recoverSigner(digest: Uint8Array, sig: Uint8Array): Address {
  return activeBackend().recover(digest, sig);
}
