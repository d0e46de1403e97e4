import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { readLines } from "./lines.ts";
import { DEVNET_DEPLOYMENT, DEVNET_KEYS, DEVNET_BATCH_SUBMITTER_INDEX } from "../../src/l1/contracts.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");

export interface SequencerProcess {
  url: string;
  internalUrl: string;
  /** The inspect listener, when SEQ_INSPECT_HTTP_ADDR is set. */
  inspectUrl?: string;
  dataDir: string;
  proc: Subprocess;
  /** Every structured log line seen so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait; resolves with the exit code. Idempotent. */
  stop(): Promise<number>;
  /** SIGKILL: no shutdown code runs, as in a crash. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  rpcUrl: string;
  dataDir?: string;
  env?: Record<string, string>;
  /** Use this command instead of `bun src/cli/main.ts` (e.g. the compiled binary). */
  command?: string[];
  readyTimeoutMs?: number;
}

export function tempDir(prefix = "seq-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The environment of a sequencer bound to the preloaded devnet deployment on `rpcUrl`. */
export function devnetEnv(rpcUrl: string, dataDir: string): Record<string, string> {
  const d = DEVNET_DEPLOYMENT;
  return {
    SEQ_ETH_RPC_URL: rpcUrl,
    SEQ_CHAIN_ID: String(d.chainId),
    SEQ_APP_ADDRESS: d.application,
    SEQ_BATCH_SUBMITTER_PRIVATE_KEY: DEVNET_KEYS[DEVNET_BATCH_SUBMITTER_INDEX]!,
    SEQ_INPUT_BOX_ADDRESS: d.inputBox,
    SEQ_ETHER_PORTAL_ADDRESS: d.etherPortal,
    SEQ_ERC20_PORTAL_ADDRESS: d.erc20Portal,
    SEQ_DATA_DIR: dataDir,
    SEQ_HTTP_ADDR: "127.0.0.1:0",
    SEQ_INTERNAL_HTTP_ADDR: "127.0.0.1:0",
    SEQ_INPUT_READER_POLL_INTERVAL_MS: "100",
    SEQ_LOG_LEVEL: "info",
  };
}

/**
 * Starts the real sequencer as a child process (so that kill -9 is a real crash) and waits
 * for its "sequencer ready" log line, which carries the ephemeral ports it bound.
 */
export async function startSequencerProcess(o: StartOptions): Promise<SequencerProcess> {
  const dataDir = o.dataDir ?? tempDir().path;
  const env = { ...pathEnv(), ...devnetEnv(o.rpcUrl, dataDir), ...o.env };
  const proc = Bun.spawn(o.command ?? [process.execPath, MAIN, "run"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const logs: Record<string, unknown>[] = [];
  const readyWaiter: { resolve: (l: Record<string, unknown>) => void } = { resolve: () => {} };
  const readyLine = new Promise<Record<string, unknown>>((r) => (readyWaiter.resolve = r));
  const stderrText: string[] = [];
  void (async () => {
    for await (const line of readLines(proc.stderr as ReadableStream<Uint8Array>)) {
      stderrText.push(line);
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        if (rec.msg === "sequencer ready") readyWaiter.resolve(rec);
      } catch {
        // Non-JSON stderr (e.g. a one-line config error) is kept in stderrText.
      }
    }
  })();
  void (async () => {
    for await (const _ of proc.stdout as ReadableStream<Uint8Array>) {
      // Drained so the child never blocks on a full pipe.
    }
  })();
  const timeout = o.readyTimeoutMs ?? 30_000;
  const rec = await Promise.race([
    readyLine,
    proc.exited.then((code) => {
      throw new Error(`sequencer exited with ${code} before ready:\n${stderrText.slice(-20).join("\n")}`);
    }),
    Bun.sleep(timeout).then(() => {
      throw new Error(`sequencer not ready after ${timeout} ms:\n${stderrText.slice(-20).join("\n")}`);
    }),
  ]).catch(async (e) => {
    proc.kill("SIGKILL");
    await proc.exited;
    throw e;
  });
  let stopped: Promise<number> | null = null;
  return {
    url: rec.public_url as string,
    internalUrl: rec.internal_url as string,
    ...(typeof rec.inspect_url === "string" ? { inspectUrl: rec.inspect_url } : {}),
    dataDir,
    proc,
    logs,
    stop: () => {
      stopped ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        const code = await proc.exited;
        clearTimeout(killer);
        return code;
      })();
      return stopped;
    },
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
      stopped ??= Promise.resolve(137);
    },
  };
}

function pathEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR"]) if (process.env[k]) out[k] = process.env[k]!;
  return out;
}
