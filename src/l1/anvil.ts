/**
 * Spawning and stopping a local `anvil` (the npm package `@foundry-rs/anvil`).
 *
 * Binary resolution order (first hit wins), see `resolveAnvilBinary`:
 *   1. `SEQ_ANVIL_BIN` (must point at an existing file; otherwise a clear error);
 *   2. the platform package `@foundry-rs/anvil-<os>-<arch>/bin/anvil` resolved with Node
 *      resolution from this module (works in the source tree / `bun test`);
 *   3. the same path looked up in `node_modules` of every ancestor of: this module's folder,
 *      the folder of the running executable (`dist/sequencer` inside a checkout) and the
 *      current working directory — plus the wrapper package's `dist/anvil` fallback;
 *   4. `anvil` on `PATH` (a foundryup install, or `node_modules/.bin/anvil` under npm scripts).
 *
 * State persistence (verified against anvil 1.7.1): with `--state PATH` anvil loads PATH if it
 * exists and writes the full state (accounts, code, storage, blocks, transactions, receipts and
 * the block number) back to PATH when it receives SIGTERM or SIGINT. A second start on the same
 * file continues the chain. SIGKILL writes nothing, so `stop()` always sends SIGTERM first and
 * only escalates to SIGKILL after `stopTimeoutMs`. `stateInterval` (`--state-interval`) can be
 * set for periodic dumps as extra protection against hard kills.
 *
 * Orphan protection: an `exit` handler on the parent SIGTERMs anvil, and (unless disabled) a tiny
 * `/bin/sh` watchdog SIGTERMs anvil when the parent disappears without running its exit handlers
 * (e.g. `kill -9` of the sequencer), so a restarted devnet never finds its port still taken.
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { SequencerError } from "../core/errors.ts";

/** Anvil could not be found, failed to start, or did not answer in time. */
export class AnvilError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ANVIL_ERROR", message, options);
  }
}

export interface StartAnvilOptions {
  /** TCP port; 0 (default) lets the OS pick a free ephemeral port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Interval-mining block time in seconds; undefined = automine (one block per tx). */
  blockTime?: number;
  /** `--slots-in-an-epoch`; 1 makes `safe` and `finalized` follow `latest` closely. */
  slotsInAnEpoch?: number;
  /** `--load-state PATH`: initialize from a state file (not written back). */
  loadState?: string;
  /** `--state PATH`: load if the file exists, dump to it on SIGTERM/SIGINT. */
  statePath?: string;
  /** `--state-interval SECONDS`: also dump periodically (needs `statePath`). */
  stateInterval?: number;
  /** `--chain-id`; default 31337. The started node is checked to answer this id. */
  chainId?: number;
  /** true (default): anvil's output is swallowed (the tail is kept for error messages). */
  quiet?: boolean;
  /** Extra raw CLI arguments appended last. */
  extraArgs?: string[];
  /** Milliseconds to wait for the RPC to answer; default 30 000. */
  startTimeoutMs?: number;
  /** Milliseconds to wait after SIGTERM before SIGKILL; default 15 000 (dumps take time). */
  stopTimeoutMs?: number;
  /** Kill anvil if the parent dies hard (sh watchdog); default true where /bin/sh exists. */
  watchdog?: boolean;
  /** Explicit binary path; overrides the resolution order (but not validation). */
  binary?: string;
}

export interface AnvilHandle {
  /** `http://host:port` */
  url: string;
  port: number;
  pid: number;
  /** Graceful stop (SIGTERM, then SIGKILL after a timeout). Idempotent; resolves after exit. */
  stop(): Promise<void>;
  /** Resolves with the exit code when the process exits (for whatever reason). */
  exited: Promise<number>;
  /** Last lines of anvil's stdout/stderr (for diagnostics). */
  outputTail(): string;
}

const PLATFORM_NAMES: Record<string, string | undefined> = {
  linux: "linux",
  darwin: "darwin",
  win32: "win32",
};
const ARCH_NAMES: Record<string, string | undefined> = { x64: "amd64", arm64: "arm64" };

function platformPackage(): string | undefined {
  const os = PLATFORM_NAMES[process.platform];
  const arch = ARCH_NAMES[process.arch];
  return os && arch ? `@foundry-rs/anvil-${os}-${arch}` : undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function ancestors(start: string): string[] {
  const out: string[] = [];
  let dir = resolve(start);
  for (;;) {
    out.push(dir);
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** Finds the anvil executable; throws `AnvilError` listing what was tried. */
export function resolveAnvilBinary(env: Record<string, string | undefined> = process.env): string {
  const override = env.SEQ_ANVIL_BIN;
  if (override !== undefined && override !== "") {
    if (!isFile(override)) {
      throw new AnvilError(`SEQ_ANVIL_BIN=${override} does not point at an existing file`);
    }
    return override;
  }
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  const pkg = platformPackage();
  const tried: string[] = [];

  if (pkg) {
    // 2. Node resolution from this module (no-op inside a compiled binary's virtual FS).
    try {
      const req = createRequire(import.meta.url);
      const p = req.resolve(`${pkg}/bin/${exe}`);
      if (isFile(p)) return p;
      tried.push(p);
    } catch {
      tried.push(`require.resolve(${pkg}/bin/${exe})`);
    }
    // 3. Walk up from a few plausible roots.
    // (import.meta.dir is a virtual "/$bunfs/..." path inside a compiled binary: skip it.)
    const roots = [...new Set([import.meta.dir, dirname(process.execPath), process.cwd()])].filter(
      (r) => !r.includes("$bunfs") && !r.startsWith("B:\\~BUN"),
    );
    const seen = new Set<string>();
    for (const root of roots) {
      for (const dir of ancestors(root)) {
        if (seen.has(dir)) continue;
        seen.add(dir);
        for (const candidate of [
          join(dir, "node_modules", pkg, "bin", exe),
          join(dir, "node_modules", "@foundry-rs", "anvil", "dist", exe),
        ]) {
          if (isFile(candidate)) return candidate;
        }
      }
    }
    tried.push(`node_modules/${pkg}/bin/${exe} above ${roots.join(", ")}`);
  } else {
    tried.push(`(no @foundry-rs/anvil package for ${process.platform}/${process.arch})`);
  }

  // 4. PATH.
  const onPath = Bun.which("anvil");
  if (onPath) return onPath;
  tried.push("anvil on PATH");

  throw new AnvilError(
    `anvil executable not found. Run \`npm install\` in the project (it provides @foundry-rs/anvil), ` +
      `install Foundry (anvil on PATH), or set SEQ_ANVIL_BIN=/path/to/anvil. Tried: ${tried.join("; ")}`,
  );
}

async function rpcChainId(url: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal,
  });
  const body = (await res.json()) as { result?: unknown };
  if (typeof body.result !== "string") throw new Error(`bad eth_chainId answer: ${JSON.stringify(body)}`);
  return Number(BigInt(body.result));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Starts anvil and resolves once its JSON-RPC answers `eth_chainId` with the expected id. */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilHandle> {
  const binary = opts.binary ?? resolveAnvilBinary();
  const host = opts.host ?? "127.0.0.1";
  const chainId = opts.chainId ?? 31337;
  const quiet = opts.quiet ?? true;
  const requestedPort = opts.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new AnvilError(`invalid anvil port ${requestedPort}`);
  }
  if (opts.loadState !== undefined && opts.statePath !== undefined) {
    throw new AnvilError("pass either loadState or statePath, not both");
  }
  if (opts.loadState !== undefined && !existsSync(opts.loadState)) {
    throw new AnvilError(`anvil state file ${opts.loadState} does not exist`);
  }

  const args = ["--host", host, "--port", String(requestedPort), "--chain-id", String(chainId)];
  if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));
  if (opts.slotsInAnEpoch !== undefined) args.push("--slots-in-an-epoch", String(opts.slotsInAnEpoch));
  if (opts.loadState !== undefined) args.push("--load-state", opts.loadState);
  if (opts.statePath !== undefined) args.push("--state", opts.statePath);
  if (opts.stateInterval !== undefined) args.push("--state-interval", String(opts.stateInterval));
  if (opts.extraArgs) args.push(...opts.extraArgs);

  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn([binary, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    throw new AnvilError(`failed to spawn ${binary}: ${(e as Error).message}`, { cause: e });
  }
  const pid = proc.pid;

  // Parent-exit protection (synchronous: only process.kill is allowed here).
  const onParentExit = () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
  };
  process.on("exit", onParentExit);

  let watchdogPid: number | undefined;
  if ((opts.watchdog ?? true) && process.platform !== "win32" && existsSync("/bin/sh")) {
    const script =
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; ` +
      `kill -0 ${pid} 2>/dev/null && kill -TERM ${pid} 2>/dev/null; exit 0`;
    try {
      const wd = Bun.spawn(["/bin/sh", "-c", script], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      wd.unref();
      watchdogPid = wd.pid;
    } catch {
      /* best effort */
    }
  }

  // Keep draining both pipes for the whole life of the process (a full pipe would block anvil).
  const tail: string[] = [];
  let listenResolve: (port: number) => void = () => {};
  const listening = new Promise<number>((r) => (listenResolve = r));
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        if (!quiet) sink.write(text);
        buf += text;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== "") {
            tail.push(line);
            if (tail.length > 40) tail.shift();
          }
          const m = /Listening on (?:\[[^\]]*\]|[^\s:]+):(\d+)/.exec(line);
          if (m?.[1]) listenResolve(Number(m[1]));
        }
      }
    } catch {
      /* stream closed */
    }
  };
  void pump(proc.stdout, process.stderr);
  void pump(proc.stderr, process.stderr);

  const exited = proc.exited.then((code) => {
    process.off("exit", onParentExit);
    if (watchdogPid !== undefined) {
      try {
        process.kill(watchdogPid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    return code;
  });

  let stopping: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 15_000;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          proc.kill("SIGTERM");
        } catch {
          /* gone */
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await Promise.race([
          exited.then(() => false),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), stopTimeoutMs))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          try {
            proc.kill("SIGKILL");
          } catch {
            /* gone */
          }
        }
      }
      await exited;
    })();
    return stopping;
  };

  // Wait for the port announcement, then for the RPC to answer.
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + startTimeoutMs;
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await stop();
    throw new AnvilError(`anvil (${binary}) ${why}. Output:\n${tail.join("\n")}`, { cause });
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    listening.then((p) => ({ kind: "port" as const, p })),
    exited.then((code) => ({ kind: "exit" as const, code })),
    new Promise<{ kind: "timeout" }>((r) => (timer = setTimeout(() => r({ kind: "timeout" }), startTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (first.kind === "exit") return fail(`exited with code ${first.code} during startup`);
  if (first.kind === "timeout") return fail(`did not announce its port within ${startTimeoutMs} ms`);
  const port = first.p;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  let lastErr: unknown;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) return fail("exited during startup");
    if (Date.now() > deadline) return fail(`RPC at ${url} did not answer within ${startTimeoutMs} ms`, lastErr);
    try {
      const got = await rpcChainId(url, AbortSignal.timeout(2_000));
      if (got !== chainId) return fail(`answers chain id ${got}, expected ${chainId}`);
      break;
    } catch (e) {
      lastErr = e;
      await Bun.sleep(50);
    }
  }

  return { url, port, pid, stop, exited, outputTail: () => tail.join("\n") };
}

/** True while a process with this pid exists (used by tests to check nothing is left behind). */
export function isProcessAlive(pid: number): boolean {
  return pidAlive(pid);
}
