/**
 * Pre-signing of `POST /tx` bodies for the load generator. Signing happens before any timed
 * section, so its speed only affects how long the bench takes: the native libsecp256k1 addon
 * (~19k signatures/s on one core) is used when it loads, @noble/curves (~3k/s) otherwise.
 * Both produce the same RFC 6979 low-s signature.
 */
import { encodeTransfer } from "../../../src/app/wallet-payloads.ts";
import { nativeBackendAvailable, signDigest } from "../../../src/core/signature.ts";
import { installNativeCrypto } from "../../../src/runtime/native-addons.ts";
import { bytesToHex, hexToBytes } from "../../../src/core/bytes.ts";
import { userOpDigest } from "../../../src/core/eip712.ts";
import { txHash } from "../../../src/core/ssz.ts";

// The product's signer (libsecp256k1 through src/runtime/native-addons.ts, the one addon
// loader, else @noble): a bench process installs the addons like any entry point.
installNativeCrypto();
const signer = {
  name: nativeBackendAvailable() ? "native" : "noble",
  sign: (d: Uint8Array, k: Uint8Array) => {
    const s = signDigest(d, k);
    return { sig64: s.compact, recid: s.recovery };
  },
};
export const signerName = signer.name;

/** Wallet Transfer{amount u256 LE, to} with selector 0x01 (53 bytes), as the default app expects. */
export function transferData(amount: bigint, to: string): Uint8Array {
  return encodeTransfer(amount, to);
}

export interface SenderKey {
  /** 32-byte private key. */
  key: Uint8Array;
  /** Lowercase 0x address. */
  address: string;
}

export interface PreSignedOp {
  /** The exact JSON request body. */
  body: string;
  /** 0x tx_hash as the feed reports it. */
  hash: string;
  sender: number;
  nonce: number;
}

export function signOp(
  domainSep: Uint8Array,
  s: SenderKey,
  senderIndex: number,
  nonce: number,
  maxFee: number,
  data: Uint8Array,
  dataHex: string,
): PreSignedOp {
  const digest = userOpDigest(domainSep, nonce, maxFee, data);
  const { sig64, recid } = signer.sign(digest, s.key);
  const sig = new Uint8Array(65);
  sig.set(sig64);
  sig[64] = 27 + recid;
  const hash = bytesToHex(txHash({ nonce, maxFee, data, signature: sig }));
  const body =
    `{"message":{"nonce":${nonce},"max_fee":${maxFee},"data":"${dataHex}"},` +
    `"signature":"${bytesToHex(sig)}","sender":"${s.address}"}`;
  return { body, hash, sender: senderIndex, nonce };
}
