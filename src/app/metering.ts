/**
 * Metering as the rest of the product sees it (SPEC §2.8): the metered form of a module,
 * computed once per process and, where the caller gives a directory, once per data dir.
 *
 * The pass (metering-pass.ts) is built on binaryen, and loading binaryen costs about 0.7 s
 * of CPU, more than everything else a restart does together (docs/performance.md). So the
 * pass is imported on demand (`loadMeteringPass`, called by `prepareAppRuntime`), and the
 * sequencer keeps what it produced in `<dataDir>/metered/`: a restart of the same module
 * with the same binary loads the cached bytes and never loads binaryen.
 *
 * Why a cached module can be trusted: the pass's output is a pure function of the module,
 * the metering version, the injected limits and the pinned binaryen release, and all of
 * these are in the cache key. A change to the pass's output without a METERING_VERSION bump
 * already fails the pinned hashes (test/support/metering-pins.ts). A cache file that does
 * not match its key, or whose bytes do not match its recorded sha256, is ignored and
 * rewritten. The directory is derived data: deleting it only costs the next start 0.7 s.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import binaryenPackage from "binaryen/package.json";
import * as limits from "../core/execution-limits.ts";
import { workerEntry } from "../runtime/worker-entry.ts";
import { AppLoadError } from "./errors.ts";
import { sha256Hex, type MeteredModule } from "./metered-module.ts";

export { DEPTH_EXPORT, FUEL_EXPORT, GROW_REFUSED_EXPORT, STATE_GLOBAL_PREFIX, sha256Hex, type MeteredModule } from "./metered-module.ts";

/** `<dataDir>/metered/`: the sequencer's cache of metered modules (derived, deletable). */
export function meteredCacheDirOf(dataDir: string): string {
  return join(dataDir, "metered");
}

type MeteringPass = typeof import("./metering-pass.ts");
let pass: MeteringPass | null = null;

const cache = new Map<string, MeteredModule>();

/**
 * Loads binaryen and the pass; idempotent. Needed before metering a module not cached.
 *
 * Imported by a path resolved at run time, so the bundler does not inline it: in the compiled
 * binary the pass is an extra entrypoint (scripts/build.ts), and its 13 MB of binaryen are
 * parsed only by a process that meters, not by every start (twice, with the heap-sizing
 * re-exec). From source it is the same file as a static import would load.
 */
export async function loadMeteringPass(): Promise<void> {
  pass ??= (await import(workerEntry("app/metering-pass"))) as MeteringPass;
}

/**
 * The pass's refusal as this bundle's AppLoadError. In the compiled binary the pass is its own
 * bundle with its own copy of the error classes, so `instanceof` would not see its errors.
 */
function instrumentWith(p: MeteringPass, wasm: Uint8Array, moduleSha256: string, costs: limits.FuelCosts): MeteredModule {
  try {
    return p.instrument(wasm, moduleSha256, costs);
  } catch (e) {
    if (e instanceof AppLoadError) throw e;
    if (e instanceof Error && (e as { code?: unknown }).code === "APP_LOAD_ERROR") throw new AppLoadError(e.message, { cause: e });
    throw e;
  }
}

/** Whether this process has loaded binaryen (a restart from the cache does not). */
export function meteringPassLoaded(): boolean {
  return pass !== null;
}

function thePass(): MeteringPass {
  // A programming error, not an app's: every product path awaits prepareAppRuntime first.
  if (!pass) throw new Error("the metering pass is not loaded: await prepareAppRuntime() (or loadMeteringPass()) first");
  return pass;
}

function costsOf(meteringVersion: number) {
  const costs = limits.FUEL_COSTS_BY_VERSION[meteringVersion];
  if (!costs) throw new AppLoadError(`metering version ${meteringVersion} is not supported by this binary`);
  return costs;
}

/**
 * The metered form of `wasm`; computed once per process per module (the result is a pure
 * function of the bytes, the limits and the pinned binaryen version).
 * @throws AppLoadError naming what the module uses that cannot be bounded.
 */
export function meterModule(wasm: Uint8Array, meteringVersion: number = limits.METERING_VERSION): MeteredModule {
  const moduleSha256 = sha256Hex(wasm);
  const key = `${moduleSha256}/${meteringVersion}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const costs = costsOf(meteringVersion);
  const m = instrumentWith(thePass(), wasm, moduleSha256, costs);
  cache.set(key, m);
  return m;
}

/** meterModule without the per-process cache (tests that compare two instrumentations). */
export function meterModuleUncached(wasm: Uint8Array, meteringVersion: number = limits.METERING_VERSION): MeteredModule {
  return instrumentWith(thePass(), wasm, sha256Hex(wasm), costsOf(meteringVersion));
}

/** Where a metered module came from when it was prepared. */
export type MeteredSource = "process" | "disk" | "computed";

/**
 * Makes `meterModule(wasm, meteringVersion)` answer without loading the pass when it can:
 * from this process's cache, else from `cacheDir` (when given), else by loading the pass and
 * metering (then writing `cacheDir`). A module the pass refuses is left for `meterModule` to
 * refuse again, with the same AppLoadError, where the caller expects it.
 */
export async function prepareMeteredModule(
  wasm: Uint8Array,
  o: { cacheDir?: string; meteringVersion?: number } = {},
): Promise<MeteredSource | "refused"> {
  const version = o.meteringVersion ?? limits.METERING_VERSION;
  const moduleSha256 = sha256Hex(wasm);
  const memKey = `${moduleSha256}/${version}`;
  if (cache.has(memKey)) return "process";
  if (!limits.FUEL_COSTS_BY_VERSION[version]) return "refused";
  const fileKey = diskKey(moduleSha256, version);
  if (o.cacheDir !== undefined) {
    const cached = readCached(o.cacheDir, fileKey, moduleSha256);
    if (cached) {
      cache.set(memKey, cached);
      return "disk";
    }
  }
  await loadMeteringPass();
  let m: MeteredModule;
  try {
    m = meterModule(wasm, version);
  } catch (e) {
    if (e instanceof AppLoadError) return "refused";
    throw e;
  }
  if (o.cacheDir !== undefined) writeCached(o.cacheDir, fileKey, m);
  return "computed";
}

/** Everything the pass's output depends on besides the module itself. */
function diskKey(moduleSha256: string, meteringVersion: number): string {
  const costs = Object.entries(costsOf(meteringVersion)).map(([k, v]) => `${k}=${String(v)}`).join(",");
  const parts = [
    `module=${moduleSha256}`,
    `metering=${meteringVersion}`,
    `binaryen=${binaryenPackage.version}`,
    `depth=${limits.MAX_CALL_DEPTH}`,
    `pages=${limits.MAX_MEMORY_PAGES}`,
    `locals=${limits.MAX_LOCALS_PER_FUNCTION}`,
    `maintenance=${String(limits.FUEL_PER_MAINTENANCE_CALL)}`,
    `costs=${costs}`,
  ];
  return parts.join(";");
}

interface CacheFile {
  key: string;
  meteredSha256: string;
  stateGlobals: string[];
  initialPages: number;
  bytesBase64: string;
}

function cachePath(dir: string, key: string): string {
  return join(dir, `${sha256Hex(new TextEncoder().encode(key))}.json`);
}

function readCached(dir: string, key: string, moduleSha256: string): MeteredModule | null {
  let f: CacheFile;
  try {
    f = JSON.parse(readFileSync(cachePath(dir, key), "utf8")) as CacheFile;
  } catch {
    return null; // absent or torn: metered again and rewritten
  }
  if (f.key !== key || typeof f.bytesBase64 !== "string" || !Array.isArray(f.stateGlobals) || !Number.isInteger(f.initialPages)) return null;
  const bytes = new Uint8Array(Buffer.from(f.bytesBase64, "base64"));
  if (sha256Hex(bytes) !== f.meteredSha256) return null;
  return { bytes, moduleSha256, meteredSha256: f.meteredSha256, stateGlobals: f.stateGlobals, initialPages: f.initialPages };
}

function writeCached(dir: string, key: string, m: MeteredModule): void {
  const f: CacheFile = {
    key,
    meteredSha256: m.meteredSha256,
    stateGlobals: m.stateGlobals,
    initialPages: m.initialPages,
    bytesBase64: Buffer.from(m.bytes).toString("base64"),
  };
  const path = cachePath(dir, key);
  try {
    mkdirSync(dir, { recursive: true });
    // Renamed into place so a reader never sees half a file. No fsync: a file lost or torn
    // by a crash fails its checks and is rebuilt.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(f));
    renameSync(tmp, path);
  } catch {
    // A read-only or full disk only costs the next start the pass again.
  }
}
