import { describe, expect, test } from "bun:test";
import { Histogram } from "./metrics.ts";
import { quantileMs, RecentSeries } from "./recent-series.ts";

describe("recent series", () => {
  test("quantiles interpolate within a bucket, as Prometheus' histogram_quantile does", () => {
    const bounds = [0.001, 0.002, 0.005];
    expect(quantileMs(0.5, bounds, [0, 0, 0, 0])).toBeNull();
    // 10 in (0, 1 ms], 10 in (1, 2 ms]: the median is the top of the first bucket.
    expect(quantileMs(0.5, bounds, [10, 10, 0, 0])).toBeCloseTo(1, 9);
    expect(quantileMs(0.75, bounds, [10, 10, 0, 0])).toBeCloseTo(1.5, 9);
    // Beyond the last bound: its value, like histogram_quantile.
    expect(quantileMs(0.99, bounds, [0, 0, 0, 5])).toBe(5);
  });

  test("each point holds the ops and latencies of its own second only", () => {
    let accepted = 0;
    const h = new Histogram("x_seconds", "x", [0.001, 0.01, 0.1]);
    let now = 0;
    const s = new RecentSeries(() => accepted, h, 3, () => now);
    for (let i = 0; i < 4; i++) {
      accepted++;
      h.observe(0.0005);
    }
    now = 1000;
    s.sample();
    for (let i = 0; i < 2; i++) {
      accepted++;
      h.observe(0.05);
    }
    now = 2000;
    s.sample();
    now = 3000;
    s.sample();
    now = 4000;
    s.sample();
    const pts = s.series();
    expect(pts.map((p) => p.t)).toEqual([2000, 3000, 4000]); // keeps the last 3
    expect(pts[0]).toMatchObject({ ops: 2 });
    expect(pts[0]!.p50Ms!).toBeGreaterThan(10);
    expect(pts[0]!.p50Ms!).toBeLessThanOrEqual(100);
    expect(pts[1]).toEqual({ t: 3000, ops: 0, p50Ms: null, p99Ms: null });
  });
});
