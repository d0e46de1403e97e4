/**
 * Worker side of SignaturePool: recovers signers for one packed batch of requests, so that a
 * burst of POST /tx costs one postMessage per worker instead of one per request.
 */
import { readU16LE, readU32LE } from "../core/bytes.ts";
import { userOpDigest } from "../core/eip712.ts";
import { SignatureError } from "../core/errors.ts";
import { SIGNATURE_LENGTH, recoverSigner } from "../core/signature.ts";
import { txHash } from "../core/ssz.ts";
import { installNativeCrypto } from "../runtime/native-addons.ts";

export const DIGEST_BYTES = 32;

/** count digests (32 bytes each) and count signatures (65 bytes each), packed back to back. */
export interface RecoverRequestMessage {
  id: number;
  count: number;
  digests: ArrayBuffer;
  sigs: ArrayBuffer;
}

/**
 * outcome[i]: the lowercase signer address, or an error. `bad` marks a SignatureError; any
 * other failure is a bug reported as `internal` so the caller is never left waiting.
 */
export type RecoverOutcome = string | { bad: string } | { internal: string };

export interface RecoverResponseMessage {
  id: number;
  outcomes: RecoverOutcome[];
}

export function recoverPacked(msg: RecoverRequestMessage): RecoverResponseMessage {
  const digests = new Uint8Array(msg.digests);
  const sigs = new Uint8Array(msg.sigs);
  const outcomes: RecoverOutcome[] = new Array(msg.count);
  for (let i = 0; i < msg.count; i++) {
    const digest = digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
    const sig = sigs.subarray(i * SIGNATURE_LENGTH, (i + 1) * SIGNATURE_LENGTH);
    try {
      outcomes[i] = recoverSigner(digest, sig);
    } catch (e) {
      outcomes[i] = e instanceof SignatureError ? { bad: e.message } : { internal: e instanceof Error ? e.message : String(e) };
    }
  }
  return { id: msg.id, outcomes };
}

/**
 * Whole user ops, so the worker also does the EIP-712 digest and the tx_hash (two keccaks of
 * work the main thread would otherwise do per op). Packed per op, back to back:
 * nonce u32 LE | max_fee u16 LE | data length u32 LE | data | signature (65).
 */
export interface OpsRequestMessage {
  kind: "ops";
  id: number;
  count: number;
  domainSeparator: ArrayBuffer;
  packed: ArrayBuffer;
}

export interface OpsResponseMessage {
  id: number;
  outcomes: RecoverOutcome[];
  /** count × 32 bytes: the tx_hash of each op (zeros where the outcome is not a signer). */
  txHashes: ArrayBuffer;
}

export const OP_HEADER_BYTES = 10;

/**
 * One op's EIP-712 signer and tx_hash: what the worker computes per op, and what SignaturePool
 * computes on the caller's thread when it takes the idle path. Throws SignatureError.
 */
export function recoverOne(
  domainSeparator: Uint8Array,
  op: { nonce: number; maxFee: number; data: Uint8Array; signature: Uint8Array },
): { signer: string; txHash: Uint8Array } {
  return {
    signer: recoverSigner(userOpDigest(domainSeparator, op.nonce, op.maxFee, op.data), op.signature),
    txHash: txHash(op),
  };
}

export function recoverOpsPacked(msg: OpsRequestMessage): OpsResponseMessage {
  const sep = new Uint8Array(msg.domainSeparator);
  const packed = new Uint8Array(msg.packed);
  const outcomes: RecoverOutcome[] = new Array(msg.count);
  const hashes = new Uint8Array(msg.count * 32);
  let at = 0;
  for (let i = 0; i < msg.count; i++) {
    const nonce = readU32LE(packed, at);
    const maxFee = readU16LE(packed, at + 4);
    const len = readU32LE(packed, at + 6);
    const data = packed.subarray(at + OP_HEADER_BYTES, at + OP_HEADER_BYTES + len);
    const signature = packed.subarray(at + OP_HEADER_BYTES + len, at + OP_HEADER_BYTES + len + SIGNATURE_LENGTH);
    at += OP_HEADER_BYTES + len + SIGNATURE_LENGTH;
    try {
      const r = recoverOne(sep, { nonce, maxFee, data, signature });
      outcomes[i] = r.signer;
      hashes.set(r.txHash, i * 32);
    } catch (e) {
      outcomes[i] = e instanceof SignatureError ? { bad: e.message } : { internal: e instanceof Error ? e.message : String(e) };
    }
  }
  return { id: msg.id, outcomes, txHashes: hashes.buffer };
}

// Only wire up the message handler when running as a worker: the main thread imports this
// module for `recoverOne` (the inline path), and tests import the functions.
declare const self: Worker;
if (typeof self !== "undefined" && !Bun.isMainThread) {
  // A worker is its own entry point: it gets the native addons like the main thread does.
  installNativeCrypto();
  self.onmessage = (event: MessageEvent<RecoverRequestMessage | OpsRequestMessage>) => {
    const m = event.data;
    if ("kind" in m && m.kind === "ops") {
      const reply = recoverOpsPacked(m);
      self.postMessage(reply, [reply.txHashes]);
    } else {
      self.postMessage(recoverPacked(m as RecoverRequestMessage));
    }
  };
}
