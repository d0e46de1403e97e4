import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { hashDomain, hashTypedData, recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex, hexToBytes, type Address } from "./bytes.ts";
import {
  DOMAIN_NAME,
  DOMAIN_VERSION,
  USER_OP_PRIMARY_TYPE,
  USER_OP_TYPES,
  USER_OP_TYPE_STRING,
  domainSeparator,
  eip712Domain,
  userOpDigest,
} from "./eip712.ts";
import { EncodeError } from "./protocol-errors.ts";
import { ANVIL_ADDRESS_0, ANVIL_KEY_0, VECTOR_APP, VECTOR_CHAIN_ID, VECTOR_DIGEST, VECTOR_SIGNATURE, VECTOR_TRANSFER_DATA } from "./spec-vectors.ts";

const transfer = hexToBytes(VECTOR_TRANSFER_DATA, 53);

describe("EIP-712 constants", () => {
  test("type string and domain", () => {
    expect(USER_OP_TYPE_STRING).toBe("UserOp(uint32 nonce,uint16 max_fee,bytes data)");
    expect(DOMAIN_NAME).toBe("CartesiAppSequencer");
    expect(DOMAIN_VERSION).toBe("1");
    expect(eip712Domain(31337n, "0xABCDEF0000000000000000000000000000000001" as Address)).toEqual({
      name: "CartesiAppSequencer",
      version: "1",
      chainId: 31337n,
      verifyingContract: "0xabcdef0000000000000000000000000000000001",
    });
  });

  test("domain separator equals viem's hashDomain", () => {
    const domain = eip712Domain(VECTOR_CHAIN_ID, VECTOR_APP);
    const viemSep = hashDomain({
      domain,
      types: { EIP712Domain: [
        { name: "name", type: "string" },
        { name: "version", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ] },
    });
    expect(bytesToHex(domainSeparator(VECTOR_CHAIN_ID, VECTOR_APP))).toBe(viemSep);
  });
});

describe("SPEC 2.1 vector", () => {
  const sep = domainSeparator(VECTOR_CHAIN_ID, VECTOR_APP);

  test("digest", () => {
    expect(bytesToHex(userOpDigest(sep, 0, 2000, transfer))).toBe(VECTOR_DIGEST);
  });

  test("anvil account 0 signs it to the given signature", async () => {
    const account = privateKeyToAccount(ANVIL_KEY_0);
    expect(account.address.toLowerCase()).toBe(ANVIL_ADDRESS_0);
    const sig = await account.signTypedData({
      domain: eip712Domain(VECTOR_CHAIN_ID, VECTOR_APP),
      types: USER_OP_TYPES,
      primaryType: USER_OP_PRIMARY_TYPE,
      message: { nonce: 0, max_fee: 2000, data: VECTOR_TRANSFER_DATA },
    });
    expect(sig).toBe(VECTOR_SIGNATURE);
  });

  test("any field change changes the digest", () => {
    const base = bytesToHex(userOpDigest(sep, 0, 2000, transfer));
    expect(bytesToHex(userOpDigest(sep, 1, 2000, transfer))).not.toBe(base);
    expect(bytesToHex(userOpDigest(sep, 0, 2001, transfer))).not.toBe(base);
    expect(bytesToHex(userOpDigest(sep, 0, 2000, transfer.subarray(0, 52)))).not.toBe(base);
    expect(bytesToHex(userOpDigest(domainSeparator(1n, VECTOR_APP), 0, 2000, transfer))).not.toBe(base);
  });

  test("out-of-range fields are rejected, not truncated", () => {
    expect(() => userOpDigest(sep, 2 ** 32, 0, transfer)).toThrow(EncodeError);
    expect(() => userOpDigest(sep, -1, 0, transfer)).toThrow(EncodeError);
    expect(() => userOpDigest(sep, 0, 65536, transfer)).toThrow(EncodeError);
    expect(() => userOpDigest(sep.subarray(0, 31), 0, 0, transfer)).toThrow(EncodeError);
  });
});

describe("cross-check with viem", () => {
  const keys: Hex[] = [
    ANVIL_KEY_0,
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  ];
  const accounts = keys.map((k) => privateKeyToAccount(k));

  test("hashTypedData and recoverTypedDataAddress agree on random ops", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: 0xffff }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: accounts.length - 1 }),
        async (chainId, appBytes, nonce, maxFee, data, who) => {
          const app = bytesToHex(appBytes) as Address;
          const domain = eip712Domain(chainId, app);
          const message = { nonce, max_fee: maxFee, data: bytesToHex(data) };
          const ours = bytesToHex(userOpDigest(domainSeparator(chainId, app), nonce, maxFee, data));
          const theirs = hashTypedData({ domain, types: USER_OP_TYPES, primaryType: "UserOp", message });
          expect(ours).toBe(theirs);
          const account = accounts[who]!;
          const signature = await account.signTypedData({ domain, types: USER_OP_TYPES, primaryType: "UserOp", message });
          const recovered = await recoverTypedDataAddress({ domain, types: USER_OP_TYPES, primaryType: "UserOp", message, signature });
          expect(recovered).toBe(account.address);
        },
      ),
      { numRuns: 150 },
    );
  });
});
