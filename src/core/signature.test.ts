import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { secp256k1 } from "@noble/curves/secp256k1";
import { recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex, hexToBytes, type Address } from "./bytes.ts";
import { domainSeparator, eip712Domain, USER_OP_TYPES, userOpDigest } from "./eip712.ts";
import { SignatureError } from "./errors.ts";
import {
  createRecoverer,
  nativeBackendAvailable,
  parseSignature,
  recoverSigner,
  signatureBackend,
  type Recoverer,
} from "./signature.ts";
import { ANVIL_ADDRESS_0, VECTOR_APP, VECTOR_CHAIN_ID, VECTOR_DIGEST, VECTOR_SIGNATURE } from "./spec-vectors.ts";

const N = secp256k1.CURVE.n;
const digest = hexToBytes(VECTOR_DIGEST, 32);
const goodSig = hexToBytes(VECTOR_SIGNATURE, 65);

function word(v: bigint): Uint8Array {
  return hexToBytes(`0x${v.toString(16).padStart(64, "0")}`, 32);
}
function withS(sig: Uint8Array, s: bigint, v?: number): Uint8Array {
  const out = sig.slice();
  out.set(word(s), 32);
  if (v !== undefined) out[64] = v;
  return out;
}
/** Smallest x with x^3 + 7 a quadratic non-residue mod p (Euler's criterion): no point has it. */
function firstNonResidueX(): bigint {
  const P = secp256k1.CURVE.Fp.ORDER;
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    b %= P;
    for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
    return r;
  };
  for (let x = 1n; ; x++) if (pow(x * x * x + 7n, (P - 1n) / 2n) === P - 1n) return x;
}
function sOf(sig: Uint8Array): bigint {
  return BigInt(bytesToHex(sig.subarray(32, 64)));
}

test("this machine loads the native addon (linux-x64 glibc is the shipping target)", () => {
  expect(nativeBackendAvailable()).toBe(true);
  expect(signatureBackend()).toBe(process.env.SEQ_SIG_BACKEND === "js" ? "js" : "native");
});

test("default recoverSigner recovers the SPEC vector", () => {
  expect(recoverSigner(digest, goodSig)).toBe(ANVIL_ADDRESS_0);
});

describe("parseSignature", () => {
  test("v in {0,1,27,28} maps to recovery 0/1", () => {
    for (const [v, rec] of [[27, 0], [28, 1], [0, 0], [1, 1]] as const) {
      const sig = goodSig.slice();
      sig[64] = v;
      expect(parseSignature(sig).recovery).toBe(rec);
    }
  });

  test("rejects other v values", () => {
    for (const v of [2, 3, 26, 29, 35, 36, 255]) {
      const sig = goodSig.slice();
      sig[64] = v;
      expect(() => parseSignature(sig)).toThrow(SignatureError);
    }
  });

  test("rejects wrong lengths", () => {
    for (const len of [0, 64, 66, 130]) expect(() => parseSignature(new Uint8Array(len))).toThrow(/65 bytes/);
  });

  test("rejects r or s equal to zero or >= n", () => {
    const rZero = goodSig.slice();
    rZero.fill(0, 0, 32);
    expect(() => parseSignature(rZero)).toThrow(SignatureError);
    const rN = goodSig.slice();
    rN.set(word(N), 0);
    expect(() => parseSignature(rN)).toThrow(SignatureError);
    const rNm1 = goodSig.slice();
    rNm1.set(word(N - 1n), 0);
    expect(parseSignature(rNm1).r.length).toBe(32);
    expect(() => parseSignature(withS(goodSig, 0n))).toThrow(/s is zero/);
    expect(() => parseSignature(withS(goodSig, N))).toThrow(SignatureError);
  });

  test("high-s boundary is n/2 (floor), inclusive for low", () => {
    expect(parseSignature(withS(goodSig, N / 2n)).s.length).toBe(32);
    expect(() => parseSignature(withS(goodSig, N / 2n + 1n))).toThrow(/high/);
  });
});

const backends: [string, Recoverer][] = [
  ["native", createRecoverer("native")],
  ["js", createRecoverer("js")],
];

for (const [name, recover] of backends) {
  describe(`${name} backend`, () => {
    test("SPEC vector", () => {
      expect(recover(digest, goodSig)).toBe(ANVIL_ADDRESS_0);
      const v0 = goodSig.slice();
      v0[64] = 1; // 0x1c = 28 -> recovery 1
      expect(recover(digest, v0)).toBe(ANVIL_ADDRESS_0);
    });

    test("the malleated high-s twin (n - s, flipped v) is rejected", () => {
      const s = sOf(goodSig);
      const twin = withS(goodSig, N - s, goodSig[64] === 27 ? 28 : 27);
      // The twin is a mathematically valid signature by the same key (noble accepts it)...
      const twinPub = secp256k1.Signature.fromCompact(twin.subarray(0, 64))
        .addRecoveryBit(twin[64]! - 27)
        .recoverPublicKey(digest)
        .toRawBytes(false);
      expect(twinPub.length).toBe(65);
      // ...but the protocol accepts only the low-s form.
      expect(() => recover(digest, twin)).toThrow(SignatureError);
    });

    test("a wrong recovery bit yields a different address, not an error", () => {
      const sig = goodSig.slice();
      sig[64] = sig[64] === 27 ? 28 : 27;
      let got: Address | SignatureError;
      try {
        got = recover(digest, sig);
      } catch (e) {
        got = e as SignatureError;
      }
      if (got instanceof SignatureError) expect(got.code).toBe("INVALID_SIGNATURE");
      else expect(got).not.toBe(ANVIL_ADDRESS_0);
    });

    test("an r that is no point's x-coordinate fails with SignatureError", () => {
      const sig = goodSig.slice();
      sig.set(word(firstNonResidueX()), 0);
      expect(() => recover(digest, sig)).toThrow(/does not recover/);
    });

    test("digest must be 32 bytes", () => {
      expect(() => recover(digest.subarray(0, 31), goodSig)).toThrow(SignatureError);
    });

    test("matches viem on random keys and ops", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => {
            const v = BigInt(bytesToHex(k));
            return v > 0n && v < N;
          }),
          fc.nat({ max: 0xffff_ffff }),
          fc.nat({ max: 0xffff }),
          fc.uint8Array({ maxLength: 100 }),
          fc.boolean(),
          async (key, nonce, maxFee, data, useV01) => {
            const account = privateKeyToAccount(bytesToHex(key));
            const domain = eip712Domain(VECTOR_CHAIN_ID, VECTOR_APP);
            const message = { nonce, max_fee: maxFee, data: bytesToHex(data) };
            const sigHex = await account.signTypedData({ domain, types: USER_OP_TYPES, primaryType: "UserOp", message });
            const sig = hexToBytes(sigHex, 65);
            if (useV01) sig[64] = sig[64]! - 27;
            const d = userOpDigest(domainSeparator(VECTOR_CHAIN_ID, VECTOR_APP), nonce, maxFee, data);
            const viemAddr = await recoverTypedDataAddress({ domain, types: USER_OP_TYPES, primaryType: "UserOp", message, signature: sigHex });
            expect(recover(d, sig)).toBe(viemAddr.toLowerCase() as Address);
            expect(recover(d, sig)).toBe(account.address.toLowerCase() as Address);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
}

test("native and js agree on random digests and signatures, including failures", () => {
  const [native, js] = [backends[0]![1], backends[1]![1]];
  const outcome = (f: Recoverer, d: Uint8Array, s: Uint8Array): string => {
    try {
      return f(d, s);
    } catch (e) {
      if (e instanceof SignatureError) return "SignatureError";
      throw e;
    }
  };
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.constantFrom(0, 1, 27, 28, 2, 29),
      (d, rs, v) => {
        const sig = new Uint8Array(65);
        sig.set(rs);
        sig[64] = v;
        // Bias s into the low half so most cases reach the curve math.
        sig[32] = sig[32]! & 0x7f;
        return outcome(native, d, sig) === outcome(js, d, sig);
      },
    ),
    { numRuns: 500 },
  );
});
