/**
 * EIP-712 signing domain and the UserOp digest (SPEC 2.1).
 *
 * The digest is computed by hand with keccak because it runs for every POST /tx; viem's
 * generic typed-data encoder is used only in tests, as the cross-check.
 */
import { keccak256 } from "./keccak.ts";
import { hexToBytes, normalizeAddress, u256BE, U16_MAX, U32_MAX, type Address } from "./bytes.ts";
import { EncodeError } from "./protocol-errors.ts";

export const USER_OP_TYPE_STRING = "UserOp(uint32 nonce,uint16 max_fee,bytes data)";
export const DOMAIN_NAME = "CartesiAppSequencer";
export const DOMAIN_VERSION = "1";
const DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/** viem-compatible `types` for signTypedData / hashTypedData, with primaryType "UserOp". */
export const USER_OP_TYPES = {
  UserOp: [
    { name: "nonce", type: "uint32" },
    { name: "max_fee", type: "uint16" },
    { name: "data", type: "bytes" },
  ],
} as const;

export const USER_OP_PRIMARY_TYPE = "UserOp" as const;

export interface Eip712Domain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

const utf8 = new TextEncoder();
// Computed at first use, not at import: hashing at import would load the native keccak addon
// in every worker as it starts (keccak.ts says why that must wait for the first real hash).
let typeHashes: { userOp: Uint8Array; domain: Uint8Array } | undefined;
const typeHash = () =>
  (typeHashes ??= { userOp: keccak256(utf8.encode(USER_OP_TYPE_STRING)), domain: keccak256(utf8.encode(DOMAIN_TYPE_STRING)) });

/** The domain object, as viem expects it and as GET /domain serves it (chainId as bigint). */
export function eip712Domain(chainId: bigint, app: Address): Eip712Domain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract: normalizeAddress(app) };
}

/** hashStruct(EIP712Domain); computed once per process (chain and app are fixed by config). */
export function domainSeparator(chainId: bigint, app: Address): Uint8Array {
  const enc = new Uint8Array(5 * 32);
  enc.set(typeHash().domain, 0);
  enc.set(keccak256(utf8.encode(DOMAIN_NAME)), 32);
  enc.set(keccak256(utf8.encode(DOMAIN_VERSION)), 64);
  enc.set(u256BE(chainId), 96);
  enc.set(hexToBytes(normalizeAddress(app), 20), 128 + 12);
  return keccak256(enc);
}

/** keccak256(0x1901 || domainSeparator || hashStruct(UserOp)), the digest the user signs. */
export function userOpDigest(domainSep: Uint8Array, nonce: number, maxFee: number, data: Uint8Array): Uint8Array {
  if (domainSep.length !== 32) throw new EncodeError(`domain separator must be 32 bytes, got ${domainSep.length}`);
  if (!Number.isInteger(nonce) || nonce < 0 || nonce > U32_MAX) throw new EncodeError(`nonce out of uint32 range: ${nonce}`);
  if (!Number.isInteger(maxFee) || maxFee < 0 || maxFee > U16_MAX) throw new EncodeError(`max_fee out of uint16 range: ${maxFee}`);

  // One buffer for both preimages: [0x19 0x01 | domainSep | structHash] then the struct words.
  const buf = new Uint8Array(66 + 128);
  const struct = buf.subarray(66);
  struct.set(typeHash().userOp, 0);
  writeWordU32BE(struct, 32, nonce);
  writeWordU32BE(struct, 64, maxFee);
  struct.set(keccak256(data), 96);
  const structHash = keccak256(struct);

  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(domainSep, 2);
  buf.set(structHash, 34);
  return keccak256(buf.subarray(0, 66));
}

/** Writes a uint32 right-aligned in a zeroed 32-byte ABI word at `at`. */
function writeWordU32BE(buf: Uint8Array, at: number, v: number): void {
  buf[at + 28] = v >>> 24;
  buf[at + 29] = (v >>> 16) & 0xff;
  buf[at + 30] = (v >>> 8) & 0xff;
  buf[at + 31] = v & 0xff;
}
