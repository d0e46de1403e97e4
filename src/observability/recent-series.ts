/**
 * The last minutes of throughput and ack latency, one point per second, for the operator's
 * dashboard. Sampled from the metrics the hot path already updates (the accepted-ops counter
 * and the ack-latency histogram), so the hot path does nothing more: each second the sampler
 * takes the differences. Latency quantiles are estimated from the histogram's buckets the way
 * Prometheus' histogram_quantile does (linear within the bucket), so they agree with Grafana.
 */
import type { Histogram } from "./metrics.ts";

export interface SeriesPoint {
  /** Wall time at the end of the second, ms. */
  t: number;
  /** Ops acknowledged in that second. */
  ops: number;
  /** Estimated ack latency quantiles of those ops, ms; null when there were none. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export class RecentSeries {
  private readonly points: SeriesPoint[] = [];
  private lastOps: number;
  private lastCounts: number[];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly accepted: () => number,
    private readonly latency: Histogram,
    private readonly keep = 300,
    private readonly now: () => number = Date.now,
  ) {
    this.lastOps = accepted();
    this.lastCounts = latency.snapshot().counts;
  }

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => this.sample(), intervalMs);
    // Never keeps the process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one point: the differences since the previous one. */
  sample(): void {
    const ops = this.accepted();
    const snap = this.latency.snapshot();
    const delta = snap.counts.map((c, i) => c - (this.lastCounts[i] ?? 0));
    this.points.push({ t: this.now(), ops: ops - this.lastOps, p50Ms: quantileMs(0.5, snap.bounds, delta), p99Ms: quantileMs(0.99, snap.bounds, delta) });
    if (this.points.length > this.keep) this.points.shift();
    this.lastOps = ops;
    this.lastCounts = snap.counts;
  }

  series(): readonly SeriesPoint[] {
    return this.points;
  }
}

/** histogram_quantile over per-bucket counts (the last bucket is +Inf: its lower bound is returned). */
export function quantileMs(q: number, bounds: readonly number[], counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]! * 1000;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return (lower + ((upper - lower) * (rank - seen)) / c) * 1000;
    }
    seen += c;
  }
  return bounds[bounds.length - 1]! * 1000;
}
