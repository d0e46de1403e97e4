import { ConfigError } from "../core/errors.ts";
import { parseIntRange } from "./env-values.ts";

/**
 * How big JavaScriptCore believes the machine is.
 *
 * JSC sizes its heaps, and so how much garbage it lets pile up between collections, from the
 * machine's RAM. On a 24 GB host the sequencer's resident set grew from ≈ 100 MB idle to
 * ≈ 185 MB under overload, almost all of it uncollected garbage. Telling JSC the machine has
 * 160 MiB kept it at 140–148 MB with no measurable cost in throughput or tail latency
 * (docs/perf-log.md, session 5). It is a pacing hint, not a limit: a process that needs
 * more heap still gets it.
 *
 * JSC reads the option (`BUN_JSC_forceRAMSize`) once, when the VM starts, so the process
 * cannot set it for itself. The CLI therefore re-executes itself (execve: same PID, same
 * file descriptors, nothing for a supervisor to notice) with the variable added, before it
 * loads anything else.
 */
export const HEAP_RAM_VARIABLE = "SEQ_JS_HEAP_RAM_MB";
export const DEFAULT_HEAP_RAM_MB = 160;
/** The JavaScriptCore option; an operator who sets it directly overrides SEQ_JS_HEAP_RAM_MB. */
export const JSC_RAM_OPTION = "BUN_JSC_forceRAMSize";

const MIN_MB = 64;
const MAX_MB = 1_048_576; // 1 TiB

/** Megabytes JSC should assume, or 0 for "the machine's real RAM". */
export function parseHeapRamMb(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_HEAP_RAM_MB;
  const mb = parseIntRange(HEAP_RAM_VARIABLE, value, 0, MAX_MB);
  if (mb !== 0 && mb < MIN_MB) {
    throw new ConfigError(HEAP_RAM_VARIABLE, `must be 0 or between ${MIN_MB} and ${MAX_MB} MiB, got ${mb}`);
  }
  return mb;
}

export interface ProcessImage {
  env: Record<string, string | undefined>;
  /** process.argv */
  argv: string[];
  /** process.execArgv: bun's own flags when run from source (e.g. --cpu-prof). */
  execArgv: string[];
  execPath: string;
  /** Bun.isStandaloneExecutable */
  standalone: boolean;
}

export interface ReExec {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The execve that applies the heap sizing, or null when none is needed: the option is
 * already in the environment (set by the operator, or by the first exec), or sizing is off.
 * Throws ConfigError for a bad SEQ_JS_HEAP_RAM_MB.
 */
export function heapSizingReExec(p: ProcessImage): ReExec | null {
  const env = heapSizedEnv(p.env);
  if (env === null) return null;
  // A compiled binary's argv[1] is its virtual entry path, which the binary adds again on
  // startup; from source argv[1] is the script that bun must be told to run.
  const rest = p.standalone ? p.argv.slice(2) : [...p.execArgv, ...p.argv.slice(1)];
  return { file: p.execPath, args: [p.execPath, ...rest], env };
}

/**
 * The environment with the JSC option added, or null when it needs no change: sizing is off,
 * or the option is already set. Also used by the benchmark, so that processes it starts
 * in-process measure under the production sizing.
 */
export function heapSizedEnv(from: Record<string, string | undefined>): Record<string, string> | null {
  const mb = parseHeapRamMb(from[HEAP_RAM_VARIABLE]);
  if (mb === 0 || from[JSC_RAM_OPTION] !== undefined) return null;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined) env[k] = v;
  env[JSC_RAM_OPTION] = String(mb * 1_048_576);
  return env;
}

/** What the running process was given, for the startup log. */
export function describeHeapSizing(env: Record<string, string | undefined>): Record<string, unknown> {
  const forced = env[JSC_RAM_OPTION];
  return { jsHeapRamMb: forced === undefined ? "machine" : Math.round(Number(forced) / 1_048_576) };
}
