import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "./metrics.ts";

describe("metrics registry", () => {
  test("renders counters, gauges and histograms in Prometheus text format", () => {
    const r = new Registry();
    const c = r.add(new Counter("seq_ops_total", "ops by outcome"));
    c.inc({ outcome: "accepted" });
    c.inc({ outcome: "accepted" });
    c.inc({ outcome: "rejected", reason: 'bad "nonce"' });
    let depth = 3;
    r.add(new Gauge("seq_queue_depth", "queue", () => depth));
    r.add(new Gauge("seq_batches", "batches by state", () => [{ labels: { state: "open" }, value: 1 }, { labels: { state: "safe" }, value: 4 }]));
    const h = r.add(new Histogram("seq_ack_seconds", "ack latency", [0.001, 0.01]));
    h.observe(0.0005);
    h.observe(0.005);
    h.observe(3);
    depth = 7;
    const text = r.render();
    expect(text).toContain("# TYPE seq_ops_total counter");
    expect(text).toContain('seq_ops_total{outcome="accepted"} 2');
    expect(text).toContain('seq_ops_total{outcome="rejected",reason="bad \\"nonce\\""} 1');
    expect(text).toContain("seq_queue_depth 7");
    expect(text).toContain('seq_batches{state="safe"} 4');
    expect(text).toContain('seq_ack_seconds_bucket{le="0.001"} 1');
    expect(text).toContain('seq_ack_seconds_bucket{le="0.01"} 2');
    expect(text).toContain('seq_ack_seconds_bucket{le="+Inf"} 3');
    expect(text).toContain("seq_ack_seconds_count 3");
    expect(text.endsWith("\n")).toBe(true);
  });

  test("a failing gauge is skipped, the rest still renders; names are unique", () => {
    const r = new Registry();
    r.add(new Gauge("a", "fails", () => {
      throw new Error("db closed");
    }));
    r.add(new Gauge("b", "ok", () => 1));
    expect(r.render()).toBe("# HELP b ok\n# TYPE b gauge\nb 1\n");
    expect(() => r.add(new Gauge("b", "again", () => 2))).toThrow();
  });
});
