/**
 * The batch submitter's account: viem's local account, except that transactions are hashed
 * and signed through core/keccak.ts and core/signature.ts (native when the addons load).
 *
 * Why: a batch transaction carries ~32 KB of calldata. viem hashes it with @noble/hashes
 * (~2 ms per 32 KB in JSC) on the thread the inclusion lane shares, for every broadcast.
 * The bytes produced are identical: same serializer, same RFC 6979 deterministic signature
 * (signer.test.ts compares against viem's own account).
 */
import { serializeTransaction, type Hex, type PrivateKeyAccount, type TransactionSerializable } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex, hexToBytes } from "../core/bytes.ts";
import { keccak256 } from "../core/keccak.ts";
import { signDigest } from "../core/signature.ts";

export function submitterAccount(privateKey: Hex): PrivateKeyAccount {
  const base = privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey, 32);
  const signTransaction: PrivateKeyAccount["signTransaction"] = async (transaction, options) => {
    const serializer = options?.serializer ?? serializeTransaction;
    // viem strips blob sidecars before hashing; batches never carry blobs, so refuse them
    // rather than sign something viem would have signed differently.
    if ((transaction as { type?: string }).type === "eip4844") {
      throw new Error("the batch submitter does not sign blob transactions");
    }
    const unsigned = await serializer(transaction as TransactionSerializable);
    const sig = signDigest(keccak256(hexToBytes(unsigned)), key);
    const r = bytesToHex(sig.compact.subarray(0, 32));
    const s = bytesToHex(sig.compact.subarray(32, 64));
    const yParity = sig.recovery;
    return (await serializer(transaction as TransactionSerializable, { r, s, yParity, v: BigInt(27 + yParity) })) as never;
  };
  return { ...base, signTransaction };
}
