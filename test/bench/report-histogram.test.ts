/**
 * The bench report's reading of Prometheus histograms from /metrics: quantiles are the upper
 * bound of the bucket that reaches them, and a missing or empty histogram gives null.
 */
import { expect, test } from "bun:test";
import { histogramSummary } from "../../scripts/bench/lib/report.ts";

const lines = [
  'seq_lane_commit_seconds_bucket{le="0.0005"} 10',
  'seq_lane_commit_seconds_bucket{le="0.001"} 600',
  'seq_lane_commit_seconds_bucket{le="0.002"} 985',
  'seq_lane_commit_seconds_bucket{le="0.01"} 999',
  'seq_lane_commit_seconds_bucket{le="+Inf"} 1000',
  "seq_lane_commit_seconds_sum 0.9",
  "seq_lane_commit_seconds_count 1000",
  "seq_lane_commits_total 1000",
];

test("quantiles are bucket upper bounds in ms, the mean is sum / count", () => {
  expect(histogramSummary(lines, "seq_lane_commit_seconds")).toEqual({
    count: 1000,
    meanMs: 0.9,
    p50Ms: 1, // 600 ≥ 500
    p99Ms: 10, // 985 < 990 ≤ 999
    p999Ms: 10, // 999 ≥ 999
  });
});

test("a quantile in the +Inf bucket is unknown; other histograms and empty ones give null", () => {
  const tail = lines.map((l) => l.replace('le="0.01"} 999', 'le="0.01"} 995'));
  expect(histogramSummary(tail, "seq_lane_commit_seconds")!.p999Ms).toBeNull();
  expect(histogramSummary(lines, "seq_tx_ack_seconds")).toBeNull();
  expect(histogramSummary(["seq_tx_ack_seconds_count 0", "seq_tx_ack_seconds_sum 0", 'seq_tx_ack_seconds_bucket{le="+Inf"} 0'], "seq_tx_ack_seconds")).toBeNull();
});
