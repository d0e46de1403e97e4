/**
 * The single-writer model behind scripts/bench/fsync-floor.ts, on a simulated clock so the
 * expected latencies are exact.
 */
import { expect, test } from "bun:test";
import { poissonArrivals, runSingleWriter, type WriterClock } from "../../scripts/bench/lib/floor.ts";

/** A clock that only moves when waited on or when a commit "takes" time. */
function simulated(commitMs: (n: number) => number) {
  let t = 100;
  const clock: WriterClock = { now: () => t, waitUntil: (x) => void (t = Math.max(t, x)) };
  const commits: number[] = [];
  const commit = (n: number) => {
    commits.push(n);
    t += commitMs(n);
  };
  return { clock, commit, commits };
}

test("ops that arrive during a commit share the next one; an idle writer waits for the next op", async () => {
  const s = simulated(() => 1);
  const run = await runSingleWriter(Float64Array.from([0, 0.5, 0.6, 5]), s.commit, s.clock);
  expect(s.commits).toEqual([1, 2, 1]);
  expect(Array.from(run.commitOps)).toEqual([1, 2, 1]);
  expect(Array.from(run.commitMs)).toEqual([1, 1, 1]);
  // Commit ends at 1, 2 and 6 (ms from the start).
  expect(Array.from(run.latencies)).toEqual([1, 1.5, 1.4, 1]);
});

test("a slow commit delays every op that arrives while it runs, and maxChunk caps a group", async () => {
  const s = simulated((n) => (s.commits.length === 1 ? 10 : 0.5 * n));
  const run = await runSingleWriter(Float64Array.from([0, 1, 2, 3, 4]), s.commit, s.clock, 3);
  // The first commit takes 10 ms; the four ops that came meanwhile go 3 + 1.
  expect(Array.from(run.commitOps)).toEqual([1, 3, 1]);
  // Group of 3 ends at 11.5, the last op's commit at 12.
  expect(Array.from(run.latencies)).toEqual([10, 10.5, 9.5, 8.5, 8]);
});

test("poisson arrivals are ascending, inside the window, near the rate, and reproducible", () => {
  const a = poissonArrivals(1000, 5, 42);
  expect(a.length).toBeGreaterThan(4_700);
  expect(a.length).toBeLessThan(5_300);
  for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThanOrEqual(a[i - 1]!);
  expect(a[0]!).toBeGreaterThanOrEqual(0);
  expect(a[a.length - 1]!).toBeLessThan(5_000);
  expect(Array.from(poissonArrivals(1000, 5, 42))).toEqual(Array.from(a));
  expect(Array.from(poissonArrivals(1000, 5, 43).subarray(0, 10))).not.toEqual(Array.from(a.subarray(0, 10)));
});
