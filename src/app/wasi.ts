/**
 * WASI for app modules (issue #15), through @wasmer/wasi, made deterministic. A module that
 * imports `wasi_snapshot_preview1` gets wasmer's implementation with no arguments, no
 * environment and no preopened directory (so an empty filesystem), except for the functions
 * that could let time, randomness, the outside world or hidden state into consensus, which
 * the host answers itself:
 *
 *   clock_time_get   the app clock (the L1 block number, SPEC 2.6) × 10^9 ns, for every
 *                    clock id: C's time(NULL) is the block number
 *   clock_res_get    10^9 ns (one block)
 *   random_get       fails with ENOSYS: there is no deterministic source to offer
 *   poll_oneoff      fails with ENOSYS: nothing may sleep
 *   fd_write         fds 1 and 2 become debug lines (never consensus); other fds: EBADF
 *   fd_close         a no-op for 0-2, EBADF otherwise (wasmer's fd table never changes, so
 *                    it needs no restore after a failed call)
 *   proc_exit        a failure of class trap (SPEC 2.8)
 *
 * Fuel, depth and memory limits apply unchanged: WASI modules run instrumented like any other.
 */
import { init, WASI } from "@wasmer/wasi";

export const WASI_MODULE = "wasi_snapshot_preview1";

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_NOSYS = 52;
const NS_PER_BLOCK = 1_000_000_000n;
/** A debug line is cut here; a call's output past MAX_STDIO_PER_CALL is dropped. */
const MAX_STDIO_PER_CALL = 64 * 1024;

let ready: Promise<void> | null = null;
let loaded = false;

/** Loads wasmer's WASI runtime (a WebAssembly module of its own) once. */
export function loadWasiRuntime(): Promise<void> {
  ready ??= init().then(() => {
    loaded = true;
  });
  return ready;
}

export function wasiRuntimeLoaded(): boolean {
  return loaded;
}

/** True when the module's import section names the WASI module (a cheap byte search first). */
export function importsWasi(imports: readonly { module: string }[]): boolean {
  return imports.some((i) => i.module === WASI_MODULE);
}

/** Thrown by proc_exit: the host classifies it as a trap. */
export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`app called proc_exit(${code})`);
  }
}

export interface WasiHooks {
  /** The memory of the instance currently running. */
  memory(): WebAssembly.Memory;
  /** The app clock the current call sees (env.clock's value). */
  clock(): bigint;
  /** A debug line (stdout or stderr). */
  log(line: string): void;
}

/** One module's WASI imports, and how to bind wasmer to an instance of it. */
export interface WasiBinding {
  imports: Record<string, (...args: never[]) => unknown>;
  /** Binds wasmer's part to a new instance (called for every instance, restores included). */
  bind(instance: WebAssembly.Instance): void;
  /** Resets the per-call stdio budget. */
  beginCall(): void;
}

export function createWasiBinding(module: WebAssembly.Module, hooks: WasiHooks): WasiBinding {
  if (!loaded) throw new Error("the WASI runtime is not loaded: await loadWasiRuntime() first");
  let wasi = new WASI({ args: [], env: {} });
  const base = (wasi.getImports(module) as Record<string, Record<string, (...a: never[]) => unknown>>)[WASI_MODULE] ?? {};
  let stdioBytes = 0;
  const view = () => new DataView(hooks.memory().buffer);
  const own: Record<string, (...args: never[]) => unknown> = {
    clock_time_get: ((_id: number, _precision: bigint, out: number) => {
      view().setBigUint64(out >>> 0, hooks.clock() * NS_PER_BLOCK, true);
      return ERRNO_SUCCESS;
    }) as never,
    clock_res_get: ((_id: number, out: number) => {
      view().setBigUint64(out >>> 0, NS_PER_BLOCK, true);
      return ERRNO_SUCCESS;
    }) as never,
    random_get: (() => ERRNO_NOSYS) as never,
    poll_oneoff: (() => ERRNO_NOSYS) as never,
    sched_yield: (() => ERRNO_SUCCESS) as never,
    proc_exit: ((code: number) => {
      throw new WasiExit(code >>> 0);
    }) as never,
    fd_close: ((fd: number) => (fd >= 0 && fd <= 2 ? ERRNO_SUCCESS : ERRNO_BADF)) as never,
    fd_write: ((fd: number, iovs: number, iovsLen: number, nwritten: number) => {
      if (fd !== 1 && fd !== 2) return ERRNO_BADF;
      const dv = view();
      const mem = new Uint8Array(hooks.memory().buffer);
      let total = 0;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const ptr = dv.getUint32((iovs >>> 0) + 8 * i, true);
        const len = dv.getUint32((iovs >>> 0) + 8 * i + 4, true);
        if (ptr + len > mem.length) return ERRNO_BADF;
        total += len;
        if (stdioBytes < MAX_STDIO_PER_CALL) {
          const take = Math.min(len, MAX_STDIO_PER_CALL - stdioBytes);
          parts.push(mem.slice(ptr, ptr + take));
          stdioBytes += take;
        }
      }
      dv.setUint32(nwritten >>> 0, total, true);
      if (parts.length > 0) {
        const text = new TextDecoder().decode(Buffer.concat(parts)).replace(/\n$/, "");
        for (const line of text.split("\n")) hooks.log(fd === 2 ? `stderr: ${line}` : line);
      }
      return ERRNO_SUCCESS;
    }) as never,
  };
  const imports: Record<string, (...args: never[]) => unknown> = {};
  // wasmer's functions are looked up at call time, so a rebind (new WASI object) takes effect
  for (const name of Object.keys(base)) {
    imports[name] = own[name] ?? (((...a: never[]) => currentBase[name]!(...a)) as never);
  }
  for (const [name, fn] of Object.entries(own)) imports[name] ??= fn;
  let currentBase = base;
  let boundOnce = false;
  return {
    imports,
    bind(instance: WebAssembly.Instance) {
      if (boundOnce) {
        // a fresh instance (a restore): a fresh wasmer object bound to its memory
        wasi.free();
        wasi = new WASI({ args: [], env: {} });
        currentBase = (wasi.getImports(module) as Record<string, Record<string, (...a: never[]) => unknown>>)[WASI_MODULE] ?? {};
      }
      wasi.instantiate(instance, {});
      boundOnce = true;
    },
    beginCall() {
      stdioBytes = 0;
    },
  };
}
