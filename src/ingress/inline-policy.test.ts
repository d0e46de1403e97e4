import { expect, test } from "bun:test";
import { InlineSignaturePolicy } from "./inline-policy.ts";

test("a sequential client always takes the inline path", () => {
  const p = new InlineSignaturePolicy();
  for (let i = 0; i < 100; i++) expect(p.decide(1)).toBe(true);
});

test("an op with another in flight never does", () => {
  const p = new InlineSignaturePolicy();
  expect(p.decide(2)).toBe(false);
  expect(p.decide(64)).toBe(false);
});

test("under a steady share of contended arrivals, a momentarily alone op still goes to the worker", () => {
  const p = new InlineSignaturePolicy();
  // One arrival in three finds another op in flight (a few hundred ops a second). The policy
  // starts from idle, so the first few alone arrivals may still go inline.
  let inline = 0;
  for (let i = 0; i < 300; i++) if (p.decide(i % 3 === 0 ? 2 : 1) && i >= 30) inline++;
  expect(inline).toBe(0);
});

test("after a burst, the inline path comes back once arrivals are alone again", () => {
  const p = new InlineSignaturePolicy();
  for (let i = 0; i < 50; i++) p.decide(8);
  let first = -1;
  for (let i = 0; i < 100 && first < 0; i++) if (p.decide(1)) first = i;
  // The average is 1 − 0.95^50 after the burst and falls under 0.05 at the 57th alone
  // arrival: (1 − 0.95^50) · 0.95^57 < 0.05.
  expect(first).toBe(56);
});
