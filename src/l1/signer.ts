/**
 * The batch submitter's account: viem's local account, except that transactions are
 * serialized, hashed and signed through our own code (native keccak and libsecp256k1 when
 * the addons load).
 *
 * Why: a batch transaction carries ~32 KB of calldata. viem serializes it as hex strings
 * (RLP over hex, twice per signature) and hashes it with @noble/hashes (~2 ms per 32 KB in
 * JSC), all on the thread the inclusion lane shares, for every broadcast. The bytes produced
 * are identical: EIP-1559 RLP by hand for the one shape the submitter and the flush sign
 * (no access list), viem's serializer for anything else, and the same RFC 6979
 * deterministic signature (signer.test.ts compares against viem's own account).
 */
import { serializeTransaction, type Hex, type PrivateKeyAccount, type TransactionSerializable } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex, hexToBytes } from "../core/bytes.ts";
import { keccak256 } from "../core/keccak.ts";
import { signDigest } from "../core/signature.ts";

interface Signature {
  r: Uint8Array;
  s: Uint8Array;
  yParity: number;
}

export function submitterAccount(privateKey: Hex): PrivateKeyAccount {
  const base = privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey, 32);
  const sign = (digest: Uint8Array): Signature => {
    const sig = signDigest(digest, key);
    return { r: sig.compact.subarray(0, 32), s: sig.compact.subarray(32, 64), yParity: sig.recovery };
  };
  const signTransaction: PrivateKeyAccount["signTransaction"] = async (transaction, options) => {
    const tx = transaction as TransactionSerializable;
    // viem strips blob sidecars before hashing; batches never carry blobs, so refuse them
    // rather than sign something viem would have signed differently.
    if ((tx as { type?: string }).type === "eip4844") {
      throw new Error("the batch submitter does not sign blob transactions");
    }
    if (!options?.serializer && isPlainEip1559(tx)) {
      const sig = sign(keccak256(serializeEip1559(tx)));
      return bytesToHex(serializeEip1559(tx, sig)) as never;
    }
    const serializer = options?.serializer ?? serializeTransaction;
    const unsigned = await serializer(tx);
    const sig = sign(keccak256(hexToBytes(unsigned)));
    const signature = { r: bytesToHex(sig.r), s: bytesToHex(sig.s), yParity: sig.yParity, v: BigInt(27 + sig.yParity) };
    return (await serializer(tx, signature)) as never;
  };
  return { ...base, signTransaction };
}

type Eip1559 = TransactionSerializable & {
  type: "eip1559";
  chainId: number;
};

function isPlainEip1559(tx: TransactionSerializable): tx is Eip1559 {
  const t = tx as Record<string, unknown>;
  return (
    t.type === "eip1559" &&
    typeof t.chainId === "number" &&
    (t.accessList === undefined || (Array.isArray(t.accessList) && t.accessList.length === 0)) &&
    t.authorizationList === undefined
  );
}

/**
 * EIP-1559 envelope: 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas,
 * to, value, data, accessList = [], (yParity, r, s)]). Integers are minimal big-endian
 * (zero is the empty string), as viem and every node encode them.
 */
export function serializeEip1559(tx: Eip1559, sig?: Signature): Uint8Array {
  const items: Uint8Array[] = [
    rlpString(uint(BigInt(tx.chainId))),
    rlpString(uint(BigInt(tx.nonce ?? 0))),
    rlpString(uint(tx.maxPriorityFeePerGas ?? 0n)),
    rlpString(uint(tx.maxFeePerGas ?? 0n)),
    rlpString(uint(tx.gas ?? 0n)),
    rlpString(tx.to ? hexToBytes(tx.to, 20) : new Uint8Array(0)),
    rlpString(uint(tx.value ?? 0n)),
    rlpString(tx.data ? hexToBytes(tx.data) : new Uint8Array(0)),
    rlpList([]),
  ];
  if (sig) {
    items.push(rlpString(uint(BigInt(sig.yParity))), rlpString(stripZeros(sig.r)), rlpString(stripZeros(sig.s)));
  }
  const body = rlpList(items);
  const out = new Uint8Array(1 + body.length);
  out[0] = 0x02;
  out.set(body, 1);
  return out;
}

function uint(n: bigint): Uint8Array {
  if (n < 0n) throw new Error("RLP integers are unsigned");
  if (n === 0n) return new Uint8Array(0);
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return hexToBytes(`0x${hex}`);
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function lengthPrefix(len: number, short: number): Uint8Array {
  if (len <= 55) return new Uint8Array([short + len]);
  const l = uint(BigInt(len));
  const out = new Uint8Array(1 + l.length);
  out[0] = short + 55 + l.length;
  out.set(l, 1);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function rlpString(b: Uint8Array): Uint8Array {
  if (b.length === 1 && b[0]! < 0x80) return b;
  return concat([lengthPrefix(b.length, 0x80), b]);
}

function rlpList(items: Uint8Array[]): Uint8Array {
  const payload = concat(items);
  return concat([lengthPrefix(payload.length, 0xc0), payload]);
}
