/**
 * A small Prometheus text-format registry. Counters and histograms are updated on the hot
 * path (an increment, a bucket search over a dozen bounds); gauges are read from their owners
 * at scrape time, so nothing has to keep them in sync.
 */
type Labels = Record<string, string>;

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(out: string[]): void;
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

export class Counter implements Metric {
  readonly type = "counter" as const;
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  render(out: string[]): void {
    for (const [key, v] of this.values) out.push(`${this.name}${key} ${v.value}`);
  }
}

export class Gauge implements Metric {
  readonly type = "gauge" as const;
  constructor(
    readonly name: string,
    readonly help: string,
    /** Read at scrape time; one sample per returned entry. */
    private readonly collect: () => { labels?: Labels; value: number }[] | number,
  ) {}

  render(out: string[]): void {
    const v = this.collect();
    const samples = typeof v === "number" ? [{ value: v }] : v;
    for (const s of samples) out.push(`${this.name}${labelText(s.labels ?? {})} ${s.value}`);
  }
}

/**
 * A counter whose owner keeps the count (commits, checkpoints, restarts): read at scrape
 * time like a gauge, but exported as a counter, because it only ever goes up (Prometheus'
 * rate() and the `_total` suffix require it). Go's client calls this a CounterFunc.
 */
export class CounterFunc implements Metric {
  readonly type = "counter" as const;
  constructor(
    readonly name: string,
    readonly help: string,
    /** Read at scrape time; one sample per returned entry. */
    private readonly collect: () => { labels: Labels; value: number }[] | number,
  ) {}

  render(out: string[]): void {
    const v = this.collect();
    if (typeof v === "number") out.push(`${this.name} ${v}`);
    else for (const s of v) out.push(`${this.name}${labelText(s.labels)} ${s.value}`);
  }
}

export class Histogram implements Metric {
  readonly type = "histogram" as const;
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending, in the unit of the metric (seconds for latencies). */
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  get observations(): number {
    return this.count;
  }

  /** The upper bounds, and a copy of the per-bucket counts (not cumulative; the last is +Inf). */
  snapshot(): { bounds: readonly number[]; counts: number[] } {
    return { bounds: this.bounds, counts: [...this.counts, this.count - this.counts.reduce((a, b) => a + b, 0)] };
  }

  render(out: string[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push(`${this.name}_bucket{le="${this.bounds[i]}"} ${cumulative}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${this.name}_sum ${this.sum}`);
    out.push(`${this.name}_count ${this.count}`);
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  /** The exposition text (Prometheus text format 0.0.4). A failing gauge is skipped, not fatal. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) {
      const body: string[] = [];
      try {
        m.render(body);
      } catch {
        continue;
      }
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...body);
    }
    return out.join("\n") + "\n";
  }
}

/** Latency buckets in seconds: fine below 10 ms, where soft confirmations live. */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
