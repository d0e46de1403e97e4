/**
 * Linux /proc sampling of a child process: resident memory (VmRSS, VmHWM) and CPU time, per
 * process and per thread (so the recovery workers' share shows up separately from the main
 * thread's). Everything here returns null instead of throwing once the process is gone.
 */
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

let clkTck: number | undefined;
/** Kernel clock ticks per second (USER_HZ), for /proc/<pid>/stat CPU times. */
export function clockTicks(): number {
  if (clkTck !== undefined) return clkTck;
  try {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim();
    clkTck = Number(out) > 0 ? Number(out) : 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

export interface MemSample {
  rssKb: number;
  hwmKb: number;
  /** The split of VmRSS: private anonymous memory, file-backed pages (the executable, shared
   * libraries, mmapped files), and shared memory (SQLite's -shm wal-index). */
  anonKb: number;
  fileKb: number;
  shmemKb: number;
}

export function readMem(pid: number): MemSample | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? Number.NaN);
    const m = { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM"), anonKb: kb("RssAnon"), fileKb: kb("RssFile"), shmemKb: kb("RssShmem") };
    if (Number.isNaN(m.rssKb) || Number.isNaN(m.hwmKb)) return null;
    return m;
  } catch {
    return null;
  }
}

export interface MappingRss {
  /** File name of the mapping, or [heap]/[stack]/[anon] for anonymous ones. */
  name: string;
  rss_mb: number;
  anon_mb: number;
  mappings: number;
}

/** Resident memory grouped by what is mapped (/proc/<pid>/smaps), largest first. */
export function rssByMapping(pid: number, top = 10): MappingRss[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return null;
  }
  const agg = new Map<string, { rss: number; anon: number; n: number }>();
  let cur: { rss: number; anon: number; n: number } | undefined;
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1]!.trim();
      const name = path === "" ? "[anon]" : path.startsWith("[") ? path : path.split("/").pop()!;
      cur = agg.get(name) ?? { rss: 0, anon: 0, n: 0 };
      cur.n++;
      agg.set(name, cur);
      continue;
    }
    if (!cur) continue;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) cur.rss += Number(rss[1]);
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon) cur.anon += Number(anon[1]);
  }
  const mb = (kb: number) => Math.round(kb / 102.4) / 10;
  return [...agg.entries()]
    .sort((a, b) => b[1].rss - a[1].rss)
    .slice(0, top)
    .map(([name, v]) => ({ name, rss_mb: mb(v.rss), anon_mb: mb(v.anon), mappings: v.n }));
}

/** utime + stime of a /proc stat file, in milliseconds. */
function statCpuMs(path: string): number | null {
  try {
    const s = readFileSync(path, "utf8");
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1000) / clockTicks();
  } catch {
    return null;
  }
}

export function readCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU milliseconds per thread, keyed "name/tid" (thread names come from /proc/.../comm). */
export function readThreadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    if (ms === null) continue;
    let name = "?";
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      // thread exited between readdir and read
    }
    out[`${name}/${tid}`] = ms;
  }
  return out;
}

/** Per-thread CPU between two snapshots, grouped by thread name (tids dropped), in ms. */
export function threadCpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const name = k.slice(0, k.lastIndexOf("/"));
    const d = v - (before[k] ?? 0);
    out[name] = Math.round(((out[name] ?? 0) + d) * 10) / 10;
  }
  return out;
}

/** Periodically samples VmRSS of one process; tracks the peak and keeps every sample. */
export class RssSampler {
  readonly samples: { t_ms: number; rss_kb: number }[] = [];
  peakRssKb = 0;
  lastHwmKb = 0;
  /** The sample with the highest VmRSS, with its anon/file/shmem split. */
  atPeak: MemSample | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly t0 = performance.now();

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): MemSample | null {
    const m = readMem(this.pid);
    if (m) {
      this.samples.push({ t_ms: Math.round(performance.now() - this.t0), rss_kb: m.rssKb });
      if (m.rssKb > this.peakRssKb) {
        this.peakRssKb = m.rssKb;
        this.atPeak = m;
      }
      this.lastHwmKb = m.hwmKb;
    }
    return m;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  mem_total_mb: number;
  bun: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let model = "unknown";
  let cpus = 0;
  let mem = 0;
  let kernel = "unknown";
  try {
    const ci = readFileSync("/proc/cpuinfo", "utf8");
    model = /model name\s*:\s*(.+)/.exec(ci)?.[1]?.trim() ?? model;
    cpus = (ci.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    // not Linux
  }
  try {
    const mi = readFileSync("/proc/meminfo", "utf8");
    mem = Math.round(Number(/MemTotal:\s+(\d+) kB/.exec(mi)?.[1] ?? 0) / 1024);
  } catch {
    // not Linux
  }
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux
  }
  return { cpus, cpu_model: model, mem_total_mb: mem, bun: Bun.version, kernel };
}
