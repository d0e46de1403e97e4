import { describe, expect, test } from "bun:test";
import { describeVerdict, judgeBatch } from "./batch-acceptance.ts";
import { encodeBatch, type Frame } from "./ssz.ts";

const frame = (safeBlock: bigint): Frame => ({ userOps: [], safeBlock, feePrice: 1356 });
const batch = (nonce: bigint, ...safe: bigint[]) => encodeBatch({ nonce, frames: safe.map(frame) });

describe("judgeBatch (SPEC 2.4 rules 3-7, in order)", () => {
  test("undecodable bytes are malformed", () => {
    expect(judgeBatch(new Uint8Array([1, 2, 3]), 100n, 0n).kind).toBe("malformed");
  });
  test("a nonce other than the next is rejected before anything else is looked at", () => {
    // Also stale and structurally invalid: the nonce gate comes first.
    expect(judgeBatch(batch(1n, 5000n, 1n), 10n, 0n)).toEqual({ kind: "wrong_nonce", nonce: 1n, expected: 0n });
    expect(judgeBatch(batch(0n, 1n), 10n, 1n)).toMatchObject({ kind: "wrong_nonce", nonce: 0n });
  });
  test("an empty batch is an accepted no-op, whatever its age", () => {
    expect(judgeBatch(batch(3n), 10_000n, 3n).kind).toBe("accepted");
  });
  test("safe_block after the inclusion block, or decreasing, is invalid", () => {
    expect(judgeBatch(batch(0n, 11n), 10n, 0n).kind).toBe("invalid_structure");
    expect(judgeBatch(batch(0n, 8n, 7n), 10n, 0n).kind).toBe("invalid_structure");
    // safe_block == inclusion block is fine; equal consecutive frames are fine.
    expect(judgeBatch(batch(0n, 10n, 10n), 10n, 0n).kind).toBe("accepted");
  });
  test("staleness boundary: 1199 blocks accepted, 1200 skipped", () => {
    expect(judgeBatch(batch(0n, 1n), 1200n, 0n).kind).toBe("accepted");
    const v = judgeBatch(batch(0n, 1n), 1201n, 0n);
    expect(v).toMatchObject({ kind: "stale", nonce: 0n, age: 1200n });
  });
  test("structure is judged before staleness", () => {
    expect(judgeBatch(batch(0n, 5n, 4n), 5000n, 0n).kind).toBe("invalid_structure");
  });
});

describe("describeVerdict: one wording for the reader's landings and the scheduler's report", () => {
  test("each kind is worded, accepted is null", () => {
    expect(describeVerdict({ kind: "accepted" } as never)).toBeNull();
    expect(describeVerdict({ kind: "wrong_nonce", nonce: 3n, expected: 2n } as never)).toBe("nonce 3, expected 2");
    expect(describeVerdict({ kind: "malformed", reason: "bad ssz" } as never)).toBe("bad ssz");
    expect(describeVerdict({ kind: "stale", age: 1300n, nonce: 0n } as never)).toBe(
      "landed 1300 blocks after its first frame's safe block (limit 1200); nonce 0 not consumed",
    );
  });
});
