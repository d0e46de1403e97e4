/**
 * Synthetic L1 input streams for replay tests and the fold benchmark: EtherPortal deposits
 * and batches of really signed wallet transfers, with a sprinkle of the things L1 can hold
 * that the scheduler must survive (a malformed batch, a duplicate posting, a bad signature).
 * Deterministic for given options. Not used by the product itself.
 */
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak256 as keccak_256 } from "../../src/core/keccak.ts";
import { nativeBackendAvailable, signDigest } from "../../src/core/signature.ts";
import { addressFromBytes, bytesToHex, type Address, type Hex } from "../../src/core/bytes.ts";
import { domainSeparator, userOpDigest } from "../../src/core/eip712.ts";
import { encodeBatch, type WireUserOp } from "../../src/core/ssz.ts";
import type { L1InputRecord } from "../../src/replay/files.ts";

export interface SyntheticOptions {
  chainId: bigint;
  app: Address;
  submitter: Address;
  etherPortal: Address;
  users: number;
  batches: number;
  opsPerBatch: number;
  /** Frame fee exponent of every frame. */
  fee?: number;
  /** Add a malformed batch, a duplicate posting and a badly signed op. Default true. */
  adversarial?: boolean;
}

export type Signer = (digest: Uint8Array, key: Uint8Array) => Uint8Array;

/** r || s || v(27/28), low-s; libsecp256k1 (native) when it loads, else @noble/curves. */
export function makeSigner(): { sign: Signer; backend: "native" | "js" } {
  const sign: Signer = (digest, key) => {
    const s = signDigest(digest, key);
    const sig = new Uint8Array(65);
    sig.set(s.compact);
    sig[64] = 27 + s.recovery;
    return sig;
  };
  return { sign, backend: nativeBackendAvailable() ? "native" : "js" };
}

export interface SyntheticUser {
  key: Uint8Array;
  address: Address;
}

export function syntheticUsers(n: number): SyntheticUser[] {
  return Array.from({ length: n }, (_, i) => {
    const key = keccak_256(new TextEncoder().encode(`synthetic user ${i}`));
    const pub = secp256k1.getPublicKey(key, false);
    return { key, address: addressFromBytes(keccak_256(pub.subarray(1)).subarray(12)) };
  });
}

function u256BE(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function depositPayload(user: Address, value: bigint): Uint8Array {
  const out = new Uint8Array(52);
  out.set(Buffer.from(user.slice(2), "hex"), 0);
  out.set(u256BE(value), 20);
  return out;
}

function transfer(amount: bigint, to: Address): Uint8Array {
  const out = new Uint8Array(53);
  out[0] = 1;
  for (let i = 0; i < 32; i++) out[1 + i] = Number((amount >> BigInt(8 * i)) & 0xffn);
  out.set(Buffer.from(to.slice(2), "hex"), 33);
  return out;
}

const fakeTxHash = (i: number): Hex => bytesToHex(keccak_256(new TextEncoder().encode(`tx ${i}`)));

/** The input stream, from index 0, one or more inputs per block, in L1 order. */
export function syntheticInputs(o: SyntheticOptions, sign: Signer = makeSigner().sign): L1InputRecord[] {
  const fee = o.fee ?? 1000;
  const adversarial = o.adversarial ?? true;
  const sep = domainSeparator(o.chainId, o.app);
  const users = syntheticUsers(o.users);
  const nonces = new Array<number>(o.users).fill(0);
  const out: L1InputRecord[] = [];
  let block = 10;
  const push = (sender: Address, payload: Uint8Array) =>
    out.push({
      inputIndex: out.length,
      sender,
      blockNumber: block,
      blockTimestamp: 1_700_000_000 + block * 12,
      transactionHash: fakeTxHash(out.length),
      payload,
    });
  for (const u of users) {
    push(o.etherPortal, depositPayload(u.address, 10n ** 18n));
    if (out.length % 4 === 0) block++;
  }
  let nextUser = 0;
  for (let b = 0; b < o.batches; b++) {
    block += 2;
    const ops: WireUserOp[] = [];
    for (let i = 0; i < o.opsPerBatch; i++) {
      const from = nextUser++ % o.users;
      const u = users[from]!;
      const to = users[(from + 1) % o.users]!.address;
      const data = transfer(BigInt(1 + i), to);
      const nonce = nonces[from]!;
      const signature = sign(userOpDigest(sep, nonce, fee + 53, data), u.key);
      if (adversarial && i === 1 && b % 7 === 3) {
        signature[64] = 30; // bad v: skipped by every scheduler, nonce not consumed
      } else {
        nonces[from] = nonce + 1;
      }
      ops.push({ nonce, maxFee: fee + 53, data, signature });
    }
    const payload = encodeBatch({ nonce: BigInt(b), frames: [{ userOps: ops, safeBlock: BigInt(block - 1), feePrice: fee }] });
    push(o.submitter, payload);
    if (adversarial && b % 5 === 2) {
      push(o.submitter, payload); // a duplicate posting: wrong nonce
      push(o.submitter, Uint8Array.of(1, 2, 3)); // malformed
    }
    if (b % 3 === 0) push(o.etherPortal, depositPayload(users[b % o.users]!.address, 1000n));
  }
  return out;
}
