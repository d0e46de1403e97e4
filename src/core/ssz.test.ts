import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { keccak_256 } from "@noble/hashes/sha3";
import { bytesToHex, hexToBytes } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { EncodeError } from "./protocol-errors.ts";
import {
  BATCH_OVERHEAD,
  FRAME_OVERHEAD,
  MAX_SIGNATURE_BYTES,
  MAX_USER_OP_DATA_BYTES,
  WIRE_USER_OP_OVERHEAD,
  WireUserOpSsz,
  batchEncodedSize,
  decodeBatch,
  decodeFrame,
  decodeWireUserOp,
  encodeBatch,
  encodeFrame,
  encodeWireUserOp,
  txHash,
  wireUserOpSize,
  type Batch,
  type WireUserOp,
} from "./ssz.ts";
import {
  VECTOR_BATCH_NONCE_1_EMPTY_FRAME,
  VECTOR_BATCH_NONCE_2_PREFIX,
  VECTOR_EMPTY_BATCH_NONCE_0,
  VECTOR_TRANSFER_DATA,
} from "./spec-vectors.ts";

const transfer = hexToBytes(VECTOR_TRANSFER_DATA, 53);

function nonce2Batch(): Batch {
  return {
    nonce: 2n,
    frames: [
      {
        safeBlock: 105n,
        feePrice: 1356,
        userOps: [{ nonce: 7, maxFee: 1409, data: transfer, signature: new Uint8Array(65).fill(0xee) }],
      },
    ],
  };
}

/** Decode must either throw DecodeError or return a value that re-encodes to the input. */
function checkDecodeContract(bytes: Uint8Array): boolean {
  let batch: Batch;
  try {
    batch = decodeBatch(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return true;
    throw e;
  }
  return bytesToHex(encodeBatch(batch)) === bytesToHex(bytes);
}

const arbOp: fc.Arbitrary<WireUserOp> = fc.record({
  nonce: fc.nat({ max: 0xffff_ffff }),
  maxFee: fc.nat({ max: 0xffff }),
  data: fc.uint8Array({ maxLength: 120 }),
  signature: fc.oneof(fc.uint8Array({ minLength: 65, maxLength: 65 }), fc.uint8Array({ maxLength: 100 })),
});

const arbBatch: fc.Arbitrary<Batch> = fc.record({
  nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  frames: fc.array(
    fc.record({
      userOps: fc.array(arbOp, { maxLength: 5 }),
      safeBlock: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      feePrice: fc.nat({ max: 0xffff }),
    }),
    { maxLength: 4 },
  ),
});

describe("SPEC 2.2 vectors", () => {
  test("transfer data matches the SPEC's two-part literal", () => {
    const spec: string = "0x010080c6a47e8d0300000000000000000000000000000000000000000000000000" + "70997970c51812dc3a010c7d01b50e0d17dc79c8";
    expect(VECTOR_TRANSFER_DATA as string).toBe(spec);
  });

  test("empty batch, nonce 0", () => {
    const bytes = encodeBatch({ nonce: 0n, frames: [] });
    expect(bytesToHex(bytes)).toBe(VECTOR_EMPTY_BATCH_NONCE_0);
    expect(decodeBatch(bytes)).toEqual({ nonce: 0n, frames: [] });
  });

  test("nonce 1 with one empty frame", () => {
    const batch: Batch = { nonce: 1n, frames: [{ userOps: [], safeBlock: 100n, feePrice: 1356 }] };
    const bytes = encodeBatch(batch);
    expect(bytesToHex(bytes)).toBe(VECTOR_BATCH_NONCE_1_EMPTY_FRAME);
    expect(decodeBatch(bytes)).toEqual(batch);
  });

  test("nonce 2 with one transfer op is 166 bytes with the given prefix", () => {
    const batch = nonce2Batch();
    const bytes = encodeBatch(batch);
    expect(bytes.length).toBe(166);
    expect(bytesToHex(bytes).startsWith(VECTOR_BATCH_NONCE_2_PREFIX)).toBe(true);
    expect(bytesToHex(bytes.subarray(166 - 65 - 53, 166 - 65))).toBe(VECTOR_TRANSFER_DATA);
    expect(decodeBatch(bytes)).toEqual(batch);
  });

  test("size helpers equal real encoded lengths", () => {
    expect(WIRE_USER_OP_OVERHEAD).toBe(83);
    expect(FRAME_OVERHEAD).toBe(18);
    expect(BATCH_OVERHEAD).toBe(12);
    expect(wireUserOpSize(53)).toBe(136);
    const batch = nonce2Batch();
    expect(encodeBatch(batch).length).toBe(BATCH_OVERHEAD + FRAME_OVERHEAD + wireUserOpSize(53));
    expect(encodeBatch({ nonce: 0n, frames: [] }).length).toBe(BATCH_OVERHEAD);
    // Each extra op grows the batch by exactly wireUserOpSize(data).
    const before = encodeBatch(batch).length;
    batch.frames[0]!.userOps.push({ nonce: 8, maxFee: 1, data: new Uint8Array(10), signature: new Uint8Array(65) });
    expect(encodeBatch(batch).length).toBe(before + wireUserOpSize(10));
    const before2 = encodeBatch(batch).length;
    batch.frames.push({ userOps: [], safeBlock: 110n, feePrice: 1 });
    expect(encodeBatch(batch).length).toBe(before2 + FRAME_OVERHEAD);
  });

  test("batchEncodedSize is exact for random batches", () => {
    fc.assert(fc.property(arbBatch, (b) => batchEncodedSize(b) === encodeBatch(b).length), { numRuns: 300 });
  });
});

describe("WireUserOp", () => {
  test("hand-written encoder equals @chainsafe/ssz", () => {
    fc.assert(
      fc.property(arbOp, (op) => bytesToHex(encodeWireUserOp(op)) === bytesToHex(WireUserOpSsz.serialize(op))),
      { numRuns: 500 },
    );
  });

  test("round-trips and tx_hash is keccak of the encoding", () => {
    const op = nonce2Batch().frames[0]!.userOps[0]!;
    const enc = encodeWireUserOp(op);
    expect(enc.length).toBe(14 + 53 + 65);
    expect(decodeWireUserOp(enc)).toEqual(op);
    expect(bytesToHex(txHash(op))).toBe(bytesToHex(keccak_256(enc)));
    // The signature is part of the id: a different signature is a different operation.
    expect(bytesToHex(txHash({ ...op, signature: new Uint8Array(65).fill(0xef) }))).not.toBe(bytesToHex(txHash(op)));
  });

  test("encoder rejects out-of-range values with EncodeError", () => {
    const ok = { nonce: 0, maxFee: 0, data: new Uint8Array(0), signature: new Uint8Array(65) };
    for (const bad of [
      { ...ok, nonce: -1 },
      { ...ok, nonce: 2 ** 32 },
      { ...ok, nonce: 1.5 },
      { ...ok, maxFee: 65536 },
      { ...ok, data: new Uint8Array(MAX_USER_OP_DATA_BYTES + 1) },
      { ...ok, signature: new Uint8Array(MAX_SIGNATURE_BYTES + 1) },
    ]) {
      expect(() => encodeWireUserOp(bad)).toThrow(EncodeError);
      expect(() => encodeBatch({ nonce: 0n, frames: [{ userOps: [bad], safeBlock: 0n, feePrice: 0 }] })).toThrow(EncodeError);
    }
    expect(() => encodeBatch({ nonce: -1n, frames: [] })).toThrow(EncodeError);
    expect(() => encodeBatch({ nonce: 1n << 64n, frames: [] })).toThrow(EncodeError);
    expect(() => encodeFrame({ userOps: [], safeBlock: 0n, feePrice: 70000 })).toThrow(EncodeError);
  });

  test("limits are inclusive", () => {
    const op = { nonce: 0xffff_ffff, maxFee: 0xffff, data: new Uint8Array(MAX_USER_OP_DATA_BYTES), signature: new Uint8Array(MAX_SIGNATURE_BYTES) };
    expect(decodeWireUserOp(encodeWireUserOp(op))).toEqual(op);
  });

  test("decoder rejects over-limit lengths hand-built past the encoder", () => {
    const enc = encodeWireUserOp({ nonce: 0, maxFee: 0, data: new Uint8Array(0), signature: new Uint8Array(MAX_SIGNATURE_BYTES) });
    const longer = new Uint8Array(enc.length + 1);
    longer.set(enc);
    expect(() => decodeWireUserOp(longer)).toThrow(DecodeError); // signature 257 bytes
  });
});

describe("decodeBatch never throws anything but DecodeError", () => {
  test("known malformed inputs", () => {
    const valid = encodeBatch(nonce2Batch());
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array(11),
      hexToBytes("0x00000000000000000d000000"), // frames offset past the fixed part
      hexToBytes("0x00000000000000000c00000000"), // trailing byte where the frame list begins: first offset 0
      valid.subarray(0, 31), // one stray byte where the op list begins
      valid.subarray(0, 40), // cut inside the op's fixed part
    ];
    for (const c of cases) {
      expect(() => decodeBatch(c)).toThrow(DecodeError);
    }
    // Cutting the last byte still decodes: the signature is simply 64 bytes (bad, skipped later).
    expect(decodeBatch(valid.subarray(0, valid.length - 1)).frames[0]!.userOps[0]!.signature.length).toBe(64);
    expect(() => decodeBatch("0x00" as unknown as Uint8Array)).toThrow(DecodeError);
    expect(() => decodeBatch(null as unknown as Uint8Array)).toThrow(DecodeError);
  });

  test("a subarray view decodes like a fresh copy", () => {
    const valid = encodeBatch(nonce2Batch());
    const padded = new Uint8Array(valid.length + 10);
    padded.set(valid, 5);
    expect(decodeBatch(padded.subarray(5, 5 + valid.length))).toEqual(nonce2Batch());
  });

  test("arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), checkDecodeContract), { numRuns: 3000 });
  });

  test("arbitrary bytes behind a plausible header", () => {
    const header = hexToBytes("0x00000000000000000c000000");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const b = new Uint8Array(header.length + tail.length);
        b.set(header);
        b.set(tail, header.length);
        return checkDecodeContract(b);
      }),
      { numRuns: 3000 },
    );
  });

  test("mutated valid encodings: truncation, bit flips, offset corruption", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant("offset" as const), at: fc.nat(), value: fc.nat({ max: 0xffff_ffff }) }),
      fc.record({ kind: fc.constant("append" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(arbBatch, fc.array(mutation, { minLength: 1, maxLength: 3 }), (batch, muts) => {
        let bytes = encodeBatch(batch);
        for (const m of muts) {
          if (bytes.length === 0) break;
          if (m.kind === "truncate") bytes = bytes.slice(0, m.at % bytes.length);
          else if (m.kind === "flip") {
            bytes = bytes.slice();
            bytes[m.at % bytes.length]! ^= 1 << m.bit;
          } else if (m.kind === "offset") {
            if (bytes.length < 4) continue;
            // Overwrite 4 aligned-or-not bytes, which hits offsets often in small batches.
            bytes = bytes.slice();
            const at = m.at % Math.max(1, bytes.length - 3);
            new DataView(bytes.buffer).setUint32(at, m.value, true);
          } else {
            const b = new Uint8Array(bytes.length + m.extra.length);
            b.set(bytes);
            b.set(m.extra, bytes.length);
            bytes = b;
          }
        }
        return checkDecodeContract(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  test("small offsets near real ones", () => {
    // Exhaustively nudge every 4-byte window of the nonce-2 batch by small deltas.
    const valid = encodeBatch(nonce2Batch());
    for (let at = 0; at + 4 <= valid.length; at++) {
      for (const delta of [-4, -1, 1, 4, 65, -65]) {
        const b = valid.slice();
        const dv = new DataView(b.buffer);
        dv.setUint32(at, (dv.getUint32(at, true) + delta) >>> 0, true);
        expect(checkDecodeContract(b)).toBe(true);
      }
    }
  });
});

describe("round trips", () => {
  test("random batches", () => {
    fc.assert(
      fc.property(arbBatch, (b) => {
        const enc = encodeBatch(b);
        const dec = decodeBatch(enc);
        expect(dec).toEqual(b);
        return bytesToHex(encodeBatch(dec)) === bytesToHex(enc);
      }),
      { numRuns: 500 },
    );
  });

  test("frames round-trip on their own", () => {
    const f = nonce2Batch().frames[0]!;
    expect(decodeFrame(encodeFrame(f))).toEqual(f);
  });
});
