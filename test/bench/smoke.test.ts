/**
 * Keeps the benchmark from rotting: runs `scripts/bench/run.ts --quick` as a child process
 * (anvil + sequencer + load generator, a few seconds of load) and checks only that it exits 0
 * and writes both reports with every section. Timings are not asserted.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUN = join(import.meta.dir, "..", "..", "scripts", "bench", "run.ts");
const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("quick bench exits 0 and writes report.json and report.md with every section", async () => {
  const proc = Bun.spawn([process.execPath, RUN, "--quick", `--out=${out}`], {
    // --quick also makes the restart section small (scripts/bench/restart.ts, BENCH_QUICK).
    env: { ...process.env, BENCH_NO_RESTART: "0" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) console.log(stdout, stderr);
  expect(code).toBe(0);

  // Each section prints as it goes.
  expect(stdout).toContain("ack c=1:");
  expect(stdout).toMatch(/open \d+\/s: achieved/);
  expect(stdout).toContain("RSS: peak VmHWM");

  const jsonPath = join(out, "report.json");
  const mdPath = join(out, "report.md");
  expect(existsSync(jsonPath)).toBe(true);
  expect(existsSync(mdPath)).toBe(true);

  const r = JSON.parse(readFileSync(jsonPath, "utf8"));
  expect(r.quick).toBe(true);
  expect(r.machine.cpus).toBeGreaterThan(0);
  expect(r.sweep.map((s: { concurrency: number }) => s.concurrency)).toEqual([1, 8]);
  for (const s of r.sweep) {
    expect(s.ok).toBeGreaterThan(0);
    expect(s.ack).toHaveProperty("p50_ms");
    expect(s.ack).toHaveProperty("p999_ms");
    expect(s).toHaveProperty("throughput_ops_s");
    expect(s).toHaveProperty("errors_by_status");
  }
  expect(r.open_loop.steps.length).toBeGreaterThan(0);
  for (const s of r.open_loop.steps) {
    expect(s).toHaveProperty("achieved_rate");
    expect(s).toHaveProperty("rejections_429");
    expect(s.ack).toHaveProperty("p99_ms");
  }
  expect(r.open_loop).toHaveProperty("knee");
  expect(r.feed.overall.count).toBeGreaterThan(0);
  expect(r.rss.peak_hwm_mb).toBeGreaterThan(0);
  // The split adds up to the peak it was sampled at, and smaps names the executable.
  const p = r.rss.at_peak_mb;
  expect(p.anon + p.file + p.shmem).toBeCloseTo(r.rss.peak_rss_sampled_mb, 0);
  expect(r.rss.mappings_at_end.length).toBeGreaterThan(0);
  expect(r.rss.mappings_at_end.some((m: { name: string; rss_mb: number }) => m.rss_mb > 0)).toBe(true);
  // Restarts ran in fresh processes and rebuilt exactly the state from before the restart.
  expect(r.restart.status).toBe("ok");
  expect(r.restart.output.same_state_bytes).toBe(true);
  expect(r.restart.output.restart_from_genesis.replayed_entries).toBe(r.restart.output.build.history_entries);
  expect(r.restart.output.restart_with_snapshot.replayed_entries).toBeGreaterThan(0);
  expect(r.targets.length).toBe(6);

  const md = readFileSync(mdPath, "utf8");
  expect(md).toMatch(/\| lane commit \(incl\. fsync\) \| \d+ \|/);
  for (const heading of [
    "## Targets (issue 7)",
    "## Ack latency",
    "## Open-loop throughput",
    "## POST → feed latency",
    "## RSS of the sequencer",
    "## Server-side histograms",
    "## Sequencer CPU by thread",
    "## Restart replay",
  ]) {
    expect(md).toContain(heading);
  }
});
