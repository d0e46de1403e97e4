import { afterAll, describe, expect, test } from "bun:test";
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
import type { Address } from "../core/bytes.ts";
import { SequencerError, SignatureError } from "../core/errors.ts";
import { recoverSigner } from "../core/signature.ts";
import { userOpDigest } from "../core/eip712.ts";
import { txHash } from "../core/ssz.ts";
import { SignaturePool, type RecoveredOp } from "./sigpool.ts";
import { recoverPacked } from "./sigpool-worker.ts";

/** Deterministic pseudo-random bytes (keccak counter mode), so failures reproduce. */
function prng(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) {
      const block = keccak_256(new TextEncoder().encode(`${seed}:${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - at)), at);
    }
    return out;
  };
}

interface Case {
  digest: Uint8Array;
  sig: Uint8Array;
  expected: Address | "bad";
}

function makeCases(count: number): Case[] {
  const rnd = prng("recover-pool");
  const keys = Array.from({ length: 16 }, () => secp256k1.utils.randomPrivateKey());
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const digest = rnd(32);
    const key = keys[i % keys.length]!;
    const s = secp256k1.sign(digest, key); // noble signs low-s
    const sig = new Uint8Array(65);
    sig.set(s.toCompactRawBytes());
    sig[64] = 27 + s.recovery;
    let expected: Address | "bad";
    switch (i % 10) {
      case 7: // high-s twin: must be rejected
        sig.set(hexWord(secp256k1.CURVE.n - s.s), 32);
        sig[64] = 27 + (s.recovery ^ 1);
        expected = "bad";
        break;
      case 8: // bad v
        sig[64] = 5;
        expected = "bad";
        break;
      case 9: // random garbage: whatever the direct path says
        sig.set(rnd(65));
        expected = outcome(digest, sig);
        break;
      default:
        expected = outcome(digest, sig);
    }
    cases.push({ digest, sig, expected });
  }
  return cases;
}

function hexWord(v: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(64, "0"), "hex"));
}

function outcome(digest: Uint8Array, sig: Uint8Array): Address | "bad" {
  try {
    return recoverSigner(digest, sig);
  } catch (e) {
    if (e instanceof SignatureError) return "bad";
    throw e;
  }
}

describe("SignaturePool", () => {
  const pool = SignaturePool.create(3);
  afterAll(() => pool.close());

  test("2000 random signatures (valid, high-s, bad v, garbage) equal direct recoverSigner", async () => {
    const cases = makeCases(2000);
    expect(cases.filter((c) => c.expected === "bad").length).toBeGreaterThan(300);
    const results = await Promise.all(cases.map((c) => pool.recover(c.digest, c.sig)));
    for (let i = 0; i < cases.length; i++) {
      const r = results[i]!;
      const want = cases[i]!.expected;
      if (want === "bad") expect(r).toBeInstanceOf(SignatureError);
      else expect(r).toBe(want);
    }
  });

  test("requests spread over separate event-loop turns also resolve", async () => {
    const cases = makeCases(50);
    for (const c of cases) {
      const r = await pool.recover(c.digest, c.sig);
      expect(r instanceof SignatureError ? "bad" : r).toBe(c.expected);
    }
  });

  test("wrong lengths come back as SignatureError without touching a worker", async () => {
    expect(await pool.recover(new Uint8Array(32), new Uint8Array(64))).toBeInstanceOf(SignatureError);
    expect(await pool.recover(new Uint8Array(31), new Uint8Array(65))).toBeInstanceOf(SignatureError);
  });

  test("caller buffers are not detached (the pool copies before transferring)", async () => {
    const [c] = makeCases(1);
    await pool.recover(c!.digest, c!.sig);
    expect(c!.digest.length).toBe(32);
    expect(c!.sig.length).toBe(65);
  });
});

test("close() terminates the workers and rejects later calls", async () => {
  const pool = SignaturePool.create(2);
  const [c] = makeCases(1);
  expect(await pool.recover(c!.digest, c!.sig)).toBe(c!.expected as Address);
  const inflight = pool.recover(c!.digest, c!.sig).then(
    () => "resolved",
    (e: unknown) => e,
  );
  await pool.close(); // resolves only once every worker has emitted "close"
  const err = await inflight;
  expect(err).toBeInstanceOf(SequencerError);
  expect((err as SequencerError).code).toBe("RECOVER_POOL_CLOSED");
  await expect(pool.recover(c!.digest, c!.sig)).rejects.toThrow(/closed/);
  await pool.close(); // idempotent
});

test("a crashed worker is replaced and the pool keeps answering", async () => {
  const pool = SignaturePool.create(1);
  const [c] = makeCases(1);
  pool.crashWorkerForTesting(0);
  await Bun.sleep(50);
  for (let i = 0; i < 3; i++) expect(await pool.recover(c!.digest, c!.sig)).toBe(c!.expected as Address);
  await pool.close();
});

test("default size is the CPU count, and bad sizes are refused", async () => {
  const pool = SignaturePool.create();
  expect(pool.size).toBeGreaterThanOrEqual(1);
  await pool.close();
  expect(() => SignaturePool.create(0)).toThrow(SequencerError);
});

test("recoverPacked (the worker body) reports bad signatures per slot", () => {
  const cases = makeCases(20);
  const digests = new Uint8Array(20 * 32);
  const sigs = new Uint8Array(20 * 65);
  cases.forEach((c, i) => {
    digests.set(c.digest, i * 32);
    sigs.set(c.sig, i * 65);
  });
  const reply = recoverPacked({ id: 9, count: 20, digests: digests.buffer, sigs: sigs.buffer });
  expect(reply.id).toBe(9);
  reply.outcomes.forEach((o, i) => {
    expect(typeof o === "string" ? o : "bad" in o ? "bad" : "internal").toBe(cases[i]!.expected);
  });
});

describe("SignaturePool.recoverOp (digest, signer and tx_hash in the worker)", () => {
  const sep = keccak_256(new TextEncoder().encode("a domain separator"));
  const pool = SignaturePool.create(2, sep);
  afterAll(() => pool.close());

  /** Signed ops; every tenth has an invalid v. */
  const signedOps = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const key = secp256k1.utils.randomPrivateKey();
      const data = crypto.getRandomValues(new Uint8Array(i % 60));
      const nonce = (i * 7919) >>> 0;
      const maxFee = i % 65536;
      const digest = userOpDigest(sep, nonce, maxFee, data);
      const sig = secp256k1.sign(digest, key);
      const signature = new Uint8Array(65);
      signature.set(sig.toCompactRawBytes(), 0);
      signature[64] = 27 + sig.recovery;
      if (i % 10 === 3) signature[64] = 9; // invalid v
      return { nonce, maxFee, data, signature };
    });
  const outcome = (r: RecoveredOp | SignatureError) =>
    r instanceof SignatureError ? `bad: ${r.message}` : `${r.signer} ${Buffer.from(r.txHash).toString("hex")}`;

  test("equals the main-thread computation for 500 ops, valid and corrupted", async () => {
    const ops = signedOps(500);
    const results = await Promise.all(ops.map((op) => pool.recoverOp(op)));
    results.forEach((r, i) => {
      const op = ops[i]!;
      let expected: string | SignatureError;
      try {
        expected = recoverSigner(userOpDigest(sep, op.nonce, op.maxFee, op.data), op.signature);
      } catch (e) {
        expected = e as SignatureError;
      }
      if (expected instanceof SignatureError) {
        expect(r).toBeInstanceOf(SignatureError);
      } else {
        expect(r).not.toBeInstanceOf(SignatureError);
        const ok = r as { signer: string; txHash: Uint8Array };
        expect(ok.signer).toBe(expected);
        expect(Buffer.from(ok.txHash).toString("hex")).toBe(Buffer.from(txHash(op)).toString("hex"));
      }
    });
  });

  test("inline (an op alone, an idle pool): the workers' answers, computed on this thread", async () => {
    const ops = signedOps(40);
    const before = pool.inlineOps;
    for (const op of ops) {
      const viaWorker = await pool.recoverOp(op);
      const inline = await pool.recoverOp(op, { inline: true });
      expect(outcome(inline)).toBe(outcome(viaWorker));
    }
    expect(pool.inlineOps - before).toBe(40);
    expect(ops.filter((_, i) => i % 10 === 3).length).toBe(4);
  });

  test("the inline flag is ignored while the pool has work queued", async () => {
    const [a, b] = signedOps(2);
    const queued = pool.recoverOp(a!);
    const before = pool.inlineOps;
    const flagged = pool.recoverOp(b!, { inline: true });
    expect(pool.inlineOps).toBe(before);
    const [ra, rb] = await Promise.all([queued, flagged]);
    expect(outcome(ra!)).toBe(outcome(await pool.recoverOp(a!, { inline: true })));
    expect(outcome(rb!)).toBe(outcome(await pool.recoverOp(b!, { inline: true })));
  });

  test("a pool without a domain separator refuses ops", async () => {
    const bare = SignaturePool.create(1);
    try {
      await expect(bare.recoverOp({ nonce: 0, maxFee: 0, data: new Uint8Array(), signature: new Uint8Array(65) })).rejects.toBeInstanceOf(SequencerError);
    } finally {
      await bare.close();
    }
  });
});
