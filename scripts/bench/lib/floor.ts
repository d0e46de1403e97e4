/**
 * The latency floor a single SQLite writer with FULL sync imposes on this disk, whatever the
 * rest of the sequencer costs (scripts/bench/fsync-floor.ts).
 *
 * One writer takes every op that has arrived, commits them in one transaction, and answers
 * them at the COMMIT's end; ops arriving meanwhile wait for the next commit. That is the
 * lane's group commit with zero CPU per op, so an op's latency here is the least any design
 * keeping one FULL commit per acknowledgement can give it on the same disk.
 */

export interface WriterClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Returns (or resolves) at or after `t` (same clock). */
  waitUntil(t: number): void | Promise<void>;
}

export interface FloorRun {
  /** Per op: commit end minus arrival, ms, in arrival order. */
  latencies: Float64Array;
  /** Per commit: its duration, ms. */
  commitMs: Float64Array;
  /** Per commit: ops it answered. */
  commitOps: Uint32Array;
}

/**
 * Replays `arrivals` (ms from the start, ascending) against `commit`, which must perform one
 * real transaction for `n` ops. At most `maxChunk` ops share a commit, like the lane.
 */
export async function runSingleWriter(
  arrivals: Float64Array,
  commit: (n: number) => void,
  clock: WriterClock,
  maxChunk = 1024,
): Promise<FloorRun> {
  const n = arrivals.length;
  const latencies = new Float64Array(n);
  const commitMs: number[] = [];
  const commitOps: number[] = [];
  const t0 = clock.now();
  let i = 0;
  while (i < n) {
    let now = clock.now() - t0;
    if (arrivals[i]! > now) {
      await clock.waitUntil(t0 + arrivals[i]!);
      now = clock.now() - t0;
    }
    let j = i;
    while (j < n && j - i < maxChunk && arrivals[j]! <= now) j++;
    const started = clock.now();
    commit(j - i);
    const ended = clock.now();
    commitMs.push(ended - started);
    commitOps.push(j - i);
    const end = ended - t0;
    for (let k = i; k < j; k++) latencies[k] = end - arrivals[k]!;
    i = j;
  }
  return { latencies, commitMs: Float64Array.from(commitMs), commitOps: Uint32Array.from(commitOps) };
}

/** Poisson arrivals at `ratePerS` for `durationS`, from a seeded generator (ms, ascending). */
export function poissonArrivals(ratePerS: number, durationS: number, seed = 1): Float64Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: reproducible, and floats here only schedule a bench, never consensus.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  const out: number[] = [];
  const meanGapMs = 1000 / ratePerS;
  for (let t = -Math.log(next()) * meanGapMs; t < durationS * 1000; t += -Math.log(next()) * meanGapMs) out.push(t);
  return Float64Array.from(out);
}

/**
 * The real clock. A long wait yields to the event loop (so a storage worker's reports are
 * handled, as between the lane's transactions); the last millisecond is spun for precision.
 */
export const realClock: WriterClock = {
  now: () => performance.now(),
  async waitUntil(t: number): Promise<void> {
    const left = t - performance.now();
    if (left > 1.5) await Bun.sleep(left - 1);
    while (performance.now() < t) {}
  },
};
