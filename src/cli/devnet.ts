/**
 * `devnet` subcommand support.
 *
 * This part (startDevnetAnvil) manages the local L1: anvil with the preloaded Cartesi
 * deployment, 1 s blocks, `--slots-in-an-epoch 1`, chain id 31337, its state persisted in the
 * data dir so a second start continues the same chain.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createPublicClient, http } from "viem";
import { AnvilError, resolveAnvilBinary, startAnvil } from "../l1/anvil.ts";
import { DEVNET_DEPLOYMENT, type Deployment } from "../l1/contracts.ts";
// Embedded as text so `dist/sequencer devnet` works when the binary is copied alone.
import preloadedStateText from "../../devnet/anvil-state.json" with { type: "text" };

const PRELOADED_STATE = preloadedStateText as unknown as string;

export const DEVNET_STATE_FILE_NAME = "anvil-state.json";

export interface StartDevnetAnvilOptions {
  /** Directory holding the persisted chain (`<dataDir>/anvil-state.json`). Created if missing. */
  dataDir: string;
  /** SEQ_DEVNET_ANVIL_PORT (default 8545 is the caller's business). */
  port: number;
  /** Bind address; default 127.0.0.1 (use 0.0.0.0 inside a container). */
  host?: string;
  log: (msg: string, fields?: object) => void;
}

export interface DevnetAnvil {
  url: string;
  port: number;
  pid: number;
  deployment: Deployment;
  /** Path of the persisted state file. */
  statePath: string;
  /** SIGTERM (anvil dumps its state), SIGKILL after a timeout. Idempotent. */
  stop(): Promise<void>;
}

/** Cheap integrity check: anvil's dump is one JSON object; a truncated write won't end in `}`. */
function looksComplete(path: string): boolean {
  try {
    const size = statSync(path).size;
    if (size < 2) return false;
    const fd = openSync(path, "r");
    try {
      const n = Math.min(64, size);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, size - n);
      const head = Buffer.alloc(1);
      readSync(fd, head, 0, 1, 0);
      return head.toString() === "{" && buf.toString("utf8").trimEnd().endsWith("}");
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export async function startDevnetAnvil(opts: StartDevnetAnvilOptions): Promise<DevnetAnvil> {
  const binary = resolveAnvilBinary(); // fail fast, before touching the data dir
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const statePath = join(dataDir, DEVNET_STATE_FILE_NAME);
  const backupPath = `${statePath}.bak`;

  if (!existsSync(statePath)) {
    writeFileSync(statePath, PRELOADED_STATE);
    opts.log("devnet: initialized L1 state from the preloaded Cartesi deployment", { statePath });
  } else if (!looksComplete(statePath)) {
    if (existsSync(backupPath) && looksComplete(backupPath)) {
      copyFileSync(backupPath, statePath);
      opts.log("devnet: L1 state file was incomplete (hard kill during a dump?); restored the previous copy", {
        statePath,
      });
    } else {
      throw new AnvilError(
        `devnet L1 state ${statePath} is corrupt and no usable backup exists; delete it to start a fresh chain`,
      );
    }
  }
  // Keep the last good state: anvil rewrites the file in place on exit.
  copyFileSync(statePath, backupPath);

  opts.log("devnet: starting anvil", { binary, port: opts.port, statePath });
  let anvil;
  try {
    anvil = await startAnvil({
      binary,
      port: opts.port,
      host: opts.host ?? "127.0.0.1",
      chainId: DEVNET_DEPLOYMENT.chainId,
      blockTime: 1,
      slotsInAnEpoch: 1,
      statePath,
    });
  } catch (e) {
    if (e instanceof AnvilError && /address already in use|AddrInUse/i.test(e.message)) {
      throw new AnvilError(
        `devnet: port ${opts.port} is already in use (another anvil/devnet running?); set SEQ_DEVNET_ANVIL_PORT`,
        { cause: e },
      );
    }
    throw e;
  }

  // The persisted chain must hold the Cartesi deployment (guards against a foreign state file).
  try {
    const client = createPublicClient({ transport: http(anvil.url, { retryCount: 2 }) });
    for (const [name, address] of [
      ["InputBox", DEVNET_DEPLOYMENT.inputBox],
      ["EtherPortal", DEVNET_DEPLOYMENT.etherPortal],
      ["Application", DEVNET_DEPLOYMENT.application],
    ] as const) {
      const code = await client.getCode({ address });
      if (!code || code === "0x") {
        throw new AnvilError(`devnet: ${name} has no code at ${address} in ${statePath}; delete the file to reset`);
      }
    }
    const block = await client.getBlockNumber();
    opts.log("devnet: anvil ready", { url: anvil.url, pid: anvil.pid, blockNumber: Number(block) });
  } catch (e) {
    await anvil.stop();
    throw e;
  }

  return {
    url: anvil.url,
    port: anvil.port,
    pid: anvil.pid,
    deployment: DEVNET_DEPLOYMENT,
    statePath,
    stop: async () => {
      await anvil.stop();
    },
  };
}
