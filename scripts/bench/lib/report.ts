/** The bench report: its JSON shape, the issue 7 targets, and the markdown rendering. */
import type { ProfileBreakdown } from "./cpuprofile.ts";
import type { MachineInfo, MappingRss } from "./proc.ts";
import type { OpenLoopRow, SweepRow } from "./protocol.ts";
import type { LatencySummary } from "./stats.ts";

/** Resource use of the processes during one timed section, from /proc. */
export interface PhaseResources {
  wall_ms: number;
  ok: number;
  seq_cpu_ms: number;
  /** Sequencer CPU (all threads) per accepted op. */
  seq_cpu_us_per_op: number | null;
  /** Average cores the sequencer kept busy. */
  seq_cores: number;
  loadgen_cpu_ms: number;
  loadgen_cores: number;
  anvil_cpu_ms: number;
  /** Sequencer CPU per thread name (ms). */
  seq_threads_ms: Record<string, number>;
  seq_peak_rss_mb: number;
}

export interface RestartSection {
  status: "ok" | "pending" | "failed";
  note: string;
  output: unknown;
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface BenchReport {
  when: string;
  quick: boolean;
  machine: MachineInfo;
  options: Record<string, unknown>;
  setup: { senders: number; funding_s: number; signer: string; sign_rate_per_s: number; seq_command: string[] };
  sweep: (SweepRow & { resources?: PhaseResources })[];
  open_loop: { steps: (OpenLoopRow & { resources?: PhaseResources })[]; knee: { rate: number | null; reason: string } };
  feed: { overall: LatencySummary; closed: string | null };
  rss: {
    peak_hwm_mb: number;
    peak_rss_sampled_mb: number;
    idle_rss_mb: number;
    /** The split of the highest sampled VmRSS (RssAnon / RssFile / RssShmem). */
    at_peak_mb: { anon: number; file: number; shmem: number } | null;
    /** /proc/<pid>/smaps grouped by mapping, largest first, just before the load stopped. */
    mappings_at_end: MappingRss[];
    samples: number;
    series_mb: [number, number][];
  };
  metrics: { available: boolean; resident_memory_bytes: number | null; lines: string[] };
  /** Present with --profile. */
  profile: { file: string; main_thread: ProfileBreakdown; thread_cpu_us_per_op: Record<string, number | null> } | null;
  restart: RestartSection;
  targets: TargetRow[];
  reference: string[];
  notes: string[];
}

export const REFERENCE_FIGURES = [
  "ack p50 ≈ 13–15 ms at low concurrency",
  "≈ 1,000 tx/s sustained with ack p99 ≈ 28 ms and feed p99 ≈ 53 ms",
  "same-host sweep: ≈ 7,984 tx/s at concurrency 128, ack p99 ≈ 49 ms",
  "64-op chunk commit ≈ 0.26 ms p50 / 1.1 ms p99",
  "peak memory ≈ 23.5 MiB",
];

function fmt(v: number | null | undefined, unit = " ms"): string {
  return v === null || v === undefined ? "–" : `${v}${unit}`;
}

/**
 * Restart replay rate from restart.ts's JSON: an explicit "…ops_per_s…" field if there is
 * one, else replayed_entries / median_ms of the mode that replayed the most entries (the
 * replay from genesis, without a snapshot).
 */
function replayRate(output: unknown): number | null {
  const explicit: number[] = [];
  let best: { entries: number; ms: number } | null = null;
  const walk = (v: unknown, key: string): void => {
    if (typeof v === "number" && /ops_?(per_?)?s(ec)?$|ops_per_second/i.test(key)) explicit.push(v);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.replayed_entries === "number" && typeof o.median_ms === "number" && o.median_ms > 0) {
        if (!best || o.replayed_entries > best.entries) best = { entries: o.replayed_entries, ms: o.median_ms };
      }
      for (const [k, x] of Object.entries(o)) walk(x, k);
    }
  };
  walk(output, "");
  if (explicit.length) return Math.min(...explicit);
  const b = best as { entries: number; ms: number } | null;
  return b ? Math.round(b.entries / (b.ms / 1000)) : null;
}

export function evaluateTargets(r: Omit<BenchReport, "targets">): TargetRow[] {
  const rows: TargetRow[] = [];
  const c64 = r.sweep.find((s) => s.concurrency === 64);
  const c64Errors = c64 ? Object.values(c64.errors_by_status).reduce((a, b) => a + b, 0) : 0;
  rows.push({
    target: "≥ 10,000 signed ops/s with 64 concurrent senders, 0 rejections",
    measured: c64 ? `${c64.throughput_ops_s} ops/s, ${c64Errors} errors` : "not run",
    met: c64 ? c64.throughput_ops_s >= 10_000 && c64Errors === 0 : null,
  });
  const c1 = r.sweep.find((s) => s.concurrency === 1);
  rows.push({
    target: "ack p50 ≤ 1 ms at concurrency 1",
    measured: c1 ? fmt(c1.ack.p50_ms) : "not run",
    met: c1 && c1.ack.p50_ms !== null ? c1.ack.p50_ms <= 1 : null,
  });
  const at5k = r.open_loop.steps.find((s) => s.target_rate === 5000);
  rows.push({
    target: "ack p99 ≤ 5 ms at 5k ops/s (open loop, from scheduled send)",
    measured: at5k ? `${fmt(at5k.ack.p99_ms)} (achieved ${at5k.achieved_rate} ops/s)` : "step not run (knee earlier or not in BENCH_RATES)",
    met: at5k && at5k.ack.p99_ms !== null ? at5k.ack.p99_ms <= 5 && at5k.achieved_rate >= 4750 : r.open_loop.knee.rate !== null && r.open_loop.knee.rate <= 5000 ? false : null,
  });
  const feedStep = r.open_loop.steps.find((s) => s.target_rate === 1000) ?? r.open_loop.steps[0];
  rows.push({
    target: "POST → feed p99 ≤ 10 ms",
    measured: feedStep
      ? `${fmt(feedStep.feed.p99_ms)} at ${feedStep.target_rate} ops/s open loop (all sections: ${fmt(r.feed.overall.p99_ms)})`
      : `all sections: ${fmt(r.feed.overall.p99_ms)}`,
    met: feedStep && feedStep.feed.p99_ms !== null ? feedStep.feed.p99_ms <= 10 : null,
  });
  const rr = r.restart.status === "ok" ? replayRate(r.restart.output) : null;
  rows.push({
    target: "restart replay ≥ 200k ops/s",
    measured:
      r.restart.status === "pending"
        ? `pending (${r.restart.note})`
        : rr !== null
          ? `${rr} entries/s replayed (full replay from genesis, median run; opening the database and instrumenting the app measured apart)`
          : `see restart section (${r.restart.status})`,
    met: rr !== null ? rr >= 200_000 : null,
  });
  rows.push({
    target: "RSS ≤ 150 MB (sequencer, peak VmHWM)",
    measured: `${r.rss.peak_hwm_mb} MB`,
    met: r.rss.peak_hwm_mb > 0 ? r.rss.peak_hwm_mb <= 150 : null,
  });
  return rows;
}

function latRow(l: LatencySummary): string {
  return `${fmt(l.p50_ms, "")} | ${fmt(l.p95_ms, "")} | ${fmt(l.p99_ms, "")} | ${fmt(l.p999_ms, "")}`;
}

function errs(e: Record<string, number>): string {
  const parts = Object.entries(e).map(([k, v]) => `${k}×${v}`);
  return parts.length ? parts.join(", ") : "0";
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# Sequencer bench report${r.quick ? " (quick/smoke mode — figures are not meaningful)" : ""}`, "");
  out.push(`${r.when} · ${m.cpus} × ${m.cpu_model} · ${m.mem_total_mb} MB RAM · Bun ${m.bun} · Linux ${m.kernel}`, "");
  out.push(
    `Load generator, sequencer and anvil share the same ${m.cpus} cores; every figure below includes that contention.`,
    `Senders: ${r.setup.senders} (funded in ${r.setup.funding_s} s). Ops pre-signed with the ${r.setup.signer} signer (${r.setup.sign_rate_per_s} sig/s, not timed).`,
    `Sequencer: \`${r.setup.seq_command.join(" ")}\`.`,
    "",
  );

  out.push("## Targets (issue 7)", "", "| target | measured | met |", "|---|---|---|");
  for (const t of r.targets) out.push(`| ${t.target} | ${t.measured} | ${t.met === null ? "n/a" : t.met ? "yes" : "**no**"} |`);
  out.push("", "Reference (Rust, SPEC §10, larger machine): " + REFERENCE_FIGURES.join("; ") + ".", "");

  out.push("## Ack latency (closed loop, keep-alive HTTP)", "");
  out.push("| concurrency | ok | errors | ops/s | p50 ms | p95 ms | p99 ms | p99.9 ms | seq CPU µs/op | seq cores | loadgen cores |");
  out.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of r.sweep) {
    const res = s.resources;
    out.push(
      `| ${s.concurrency} | ${s.ok} | ${errs(s.errors_by_status)} | ${s.throughput_ops_s} | ${latRow(s.ack)} | ${res?.seq_cpu_us_per_op ?? "–"} | ${res?.seq_cores ?? "–"} | ${res?.loadgen_cores ?? "–"} |`,
    );
  }
  out.push("");

  out.push("## Open-loop throughput (latency from the scheduled send time)", "");
  out.push("| target ops/s | achieved ops/s | ok | 429 | other errors | delayed sends | p50 ms | p95 ms | p99 ms | p99.9 ms | service p99 ms | seq CPU µs/op | seq cores | loadgen cores |");
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const s of r.open_loop.steps) {
    const other = { ...s.errors_by_status };
    delete other["429"];
    const res = s.resources;
    out.push(
      `| ${s.target_rate} | ${s.achieved_rate} | ${s.ok} | ${s.rejections_429} | ${errs(other)} | ${s.delayed_sends} | ${latRow(s.ack)} | ${fmt(s.service.p99_ms, "")} | ${res?.seq_cpu_us_per_op ?? "–"} | ${res?.seq_cores ?? "–"} | ${res?.loadgen_cores ?? "–"} |`,
    );
  }
  out.push("", `Knee: ${r.open_loop.knee.rate === null ? "not reached" : `${r.open_loop.knee.rate} ops/s (${r.open_loop.knee.reason})`}.`, "");

  out.push("## POST → feed latency", "", "| section | events | p50 ms | p95 ms | p99 ms | p99.9 ms |", "|---|---|---|---|---|---|");
  for (const s of r.sweep) out.push(`| closed c=${s.concurrency} | ${s.feed.count} | ${latRow(s.feed)} |`);
  for (const s of r.open_loop.steps) out.push(`| open ${s.target_rate}/s | ${s.feed.count} | ${latRow(s.feed)} |`);
  out.push(`| all | ${r.feed.overall.count} | ${latRow(r.feed.overall)} |`);
  if (r.feed.closed) out.push("", `The feed socket closed during the run: ${r.feed.closed}.`);
  out.push("");

  out.push("## RSS of the sequencer", "");
  out.push(`Peak VmHWM ${r.rss.peak_hwm_mb} MB; peak sampled VmRSS ${r.rss.peak_rss_sampled_mb} MB; idle (after funding) ${r.rss.idle_rss_mb} MB; ${r.rss.samples} samples every 100 ms.`);
  if (r.rss.at_peak_mb) {
    const p = r.rss.at_peak_mb;
    out.push("", `At the peak: ${p.anon} MB anonymous (heaps, JIT code, stacks), ${p.file} MB file-backed (the executable, libraries), ${p.shmem} MB shared (SQLite wal-index).`);
  }
  if (r.rss.mappings_at_end.length > 0) {
    out.push("", "Resident memory by mapping at the end of the load (/proc/<pid>/smaps):", "", "| mapping | RSS MB | of which anonymous MB | regions |", "|---|---|---|---|");
    for (const m of r.rss.mappings_at_end) out.push(`| ${m.name} | ${m.rss_mb} | ${m.anon_mb} | ${m.mappings} |`);
  }
  if (r.metrics.available) out.push(`/metrics seq_process_resident_memory_bytes at the end: ${r.metrics.resident_memory_bytes ?? "–"}.`);
  else out.push("/metrics not served by the internal listener (yet); RSS comes from /proc only.");
  out.push("");

  const ack = histogramSummary(r.metrics.lines, "seq_tx_ack_seconds");
  const commit = histogramSummary(r.metrics.lines, "seq_lane_commit_seconds");
  if (ack || commit) {
    out.push(
      "## Server-side histograms (/metrics at the end, whole run)",
      "",
      "Measured inside the sequencer, warm-up and funding included. A quantile is the upper bound of the bucket it falls in.",
      "",
      "| histogram | count | mean ms | p50 ≤ ms | p99 ≤ ms | p99.9 ≤ ms |",
      "|---|---|---|---|---|---|",
    );
    for (const [label, h] of [["ack (request to soft confirmation)", ack], ["lane commit (incl. fsync)", commit]] as const) {
      if (h) out.push(`| ${label} | ${h.count} | ${h.meanMs} | ${fmt(h.p50Ms, "")} | ${fmt(h.p99Ms, "")} | ${fmt(h.p999Ms, "")} |`);
    }
    if (commit && ack) out.push("", `Accepted ops per lane transaction: ${Math.round((ack.count / commit.count) * 10) / 10} (transactions without ops, such as a time-based batch close, count too).`);
    out.push("");
  }

  out.push("## Sequencer CPU by thread (ms, per section)", "");
  const sections = [
    ...r.sweep.map((s) => [`c=${s.concurrency}`, s.resources] as const),
    ...r.open_loop.steps.map((s) => [`${s.target_rate}/s`, s.resources] as const),
  ];
  const names = [...new Set(sections.flatMap(([, res]) => Object.keys(res?.seq_threads_ms ?? {})))].sort();
  out.push(`| section | wall ms | ${names.join(" | ")} | anvil |`, `|---|---|${names.map(() => "---|").join("")}---|`);
  for (const [label, res] of sections) {
    if (!res) continue;
    out.push(`| ${label} | ${res.wall_ms} | ${names.map((n) => res.seq_threads_ms[n] ?? 0).join(" | ")} | ${res.anvil_cpu_ms} |`);
  }
  out.push("");

  if (r.profile) {
    const p = r.profile.main_thread;
    out.push("## Main-thread profile (bun --cpu-prof, timed sections only)", "");
    out.push(
      `Main thread sampled busy ${p.busy_ms} ms of ${p.window_ms} ms (${p.busy_pct}%) over ${p.ops} accepted ops. ` +
        "Blocked native calls (fsync inside COMMIT) are sampled as busy; idle event-loop time is not.",
      "",
      "| stage | ms | % of busy | µs/op |",
      "|---|---|---|---|",
    );
    for (const s of p.stages) out.push(`| ${s.stage} | ${s.ms} | ${s.pct} | ${s.us_per_op ?? "–"} |`);
    out.push("", `CPU µs/op by sequencer thread (/proc): ${Object.entries(r.profile.thread_cpu_us_per_op).map(([k, v]) => `${k} ${v}`).join(", ")}.`, "");
  }

  out.push("## Restart replay", "");
  if (r.restart.status === "pending") out.push("pending: " + r.restart.note);
  else out.push(`${r.restart.status}: ${r.restart.note}`, "", "```json", JSON.stringify(r.restart.output, null, 2), "```");
  out.push("");

  if (r.notes.length) out.push("## Notes", "", ...r.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

export interface HistogramSummary {
  count: number;
  meanMs: number;
  /** Upper bound (ms) of the bucket holding the quantile; null when it is in +Inf. */
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
}

/** A Prometheus histogram's `_count` and `_sum` out of /metrics text lines; null if absent. */
export function histogramTotals(lines: readonly string[], name: string): { count: number; sum: number } | null {
  let count: number | null = null;
  let sum: number | null = null;
  for (const line of lines) {
    if (line.startsWith(`${name}_count `)) count = Number(line.slice(name.length + 7));
    else if (line.startsWith(`${name}_sum `)) sum = Number(line.slice(name.length + 5));
  }
  return count === null || sum === null ? null : { count, sum };
}

/**
 * Reads a Prometheus histogram (seconds) out of /metrics text lines. Quantiles are bucket
 * upper bounds: the smallest `le` whose cumulative count reaches the quantile.
 */
export function histogramSummary(lines: readonly string[], name: string): HistogramSummary | null {
  const buckets: { le: number; n: number }[] = [];
  for (const line of lines) {
    const b = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
    if (b) buckets.push({ le: b[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(b[1]), n: Number(b[2]) });
  }
  const totals = histogramTotals(lines, name);
  if (totals === null || totals.count === 0 || buckets.length === 0) return null;
  const { count, sum } = totals;
  buckets.sort((a, b) => a.le - b.le);
  const q = (p: number): number | null => {
    const b = buckets.find((x) => x.n >= p * count);
    return b === undefined || !Number.isFinite(b.le) ? null : Math.round(b.le * 1e6) / 1e3;
  };
  return { count, meanMs: Math.round((sum / count) * 1e6) / 1e3, p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999) };
}
