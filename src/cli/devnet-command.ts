import { ConfigError } from "../core/errors.ts";
import { DEVNET_KEYS, DEVNET_BATCH_SUBMITTER_INDEX } from "../l1/contracts.ts";
import type { Logger } from "../observability/log.ts";
import { loadConfig, type Env } from "./config.ts";
import { startDevnetAnvil } from "./devnet.ts";
import { untilStopped } from "./lifecycle.ts";
import { startSequencer } from "./run.ts";

export const DEVNET_DEFAULT_DATA_DIR = "devnet-data";

/**
 * `sequencer devnet`: a local L1 (anvil, Cartesi contracts preloaded, 1 s blocks) plus the
 * sequencer wired to it with anvil's public dev keys. Every SEQ_* variable still overrides
 * its devnet default, so the same knobs as production can be tried locally.
 */
export async function runDevnet(env: Env, log: Logger, signal: Promise<string>): Promise<number> {
  const dataDir = env.SEQ_DATA_DIR?.trim() || DEVNET_DEFAULT_DATA_DIR;
  const portText = env.SEQ_DEVNET_ANVIL_PORT?.trim() || "8545";
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ConfigError("SEQ_DEVNET_ANVIL_PORT", `must be a TCP port number, got "${portText}"`);
  }
  const anvil = await startDevnetAnvil({
    dataDir,
    port: Number(portText),
    log: (msg, fields) => log.info(msg, fields as Record<string, unknown> | undefined),
  });
  try {
    const d = anvil.deployment;
    const defaults: Env = {
      SEQ_ETH_RPC_URL: anvil.url,
      SEQ_CHAIN_ID: String(d.chainId),
      SEQ_APP_ADDRESS: d.application,
      SEQ_INPUT_BOX_ADDRESS: d.inputBox,
      SEQ_INPUT_BOX_DEPLOYMENT_BLOCK: String(d.inputBoxDeploymentBlock),
      SEQ_ETHER_PORTAL_ADDRESS: d.etherPortal,
      SEQ_ERC20_PORTAL_ADDRESS: d.erc20Portal,
      SEQ_DATA_DIR: dataDir,
      SEQ_INPUT_READER_POLL_INTERVAL_MS: "500",
      // The devnet mines a block a second: the danger detector's wall-clock fallback and the
      // stale-view bound should count in those blocks.
      SEQ_SECONDS_PER_BLOCK: "1",
      // With 1 s blocks a batch ages 900 blocks (the danger threshold) in 15 minutes, so
      // batches close after a minute instead of production's two hours.
      SEQ_MAX_BATCH_OPEN_SECONDS: "60",
      // A frontend under development runs on its own origin (a dev server's port); `run`
      // allows none unless told. SEQ_CORS_ORIGINS="" turns it off here too.
      SEQ_CORS_ORIGINS: "*",
    };
    // A key file chosen by the operator replaces the dev key instead of conflicting with it.
    if (!env.SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE) {
      defaults.SEQ_BATCH_SUBMITTER_PRIVATE_KEY = DEVNET_KEYS[DEVNET_BATCH_SUBMITTER_INDEX];
    }
    const seq = await startSequencer(loadConfig(env, defaults), log);
    process.stdout.write(banner(anvil.url, seq.publicUrl, seq.internalUrl, seq.inspectUrl, d, seq.batchSubmitter, dataDir));
    return await untilStopped(seq, log, signal, () => anvil.stop());
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

function banner(
  l1: string,
  api: string,
  internal: string,
  inspect: string | undefined,
  d: { chainId: number; application: string; inputBox: string; etherPortal: string; erc20Portal: string },
  submitter: string,
  dataDir: string,
): string {
  return `
  Cartesi app sequencer devnet is up (data in ${dataDir}/; Ctrl-C stops everything)

    L1 (anvil)         ${l1}   chain id ${d.chainId}, 1 s blocks
    Application        ${d.application}
    InputBox           ${d.inputBox}
    EtherPortal        ${d.etherPortal}
    ERC20Portal        ${d.erc20Portal}
    Batch submitter    ${submitter}   (anvil account 1)
    Public API         ${api}
    Internal API       ${internal}${inspect ? `\n    Inspect            ${inspect}/inspect` : ""}

  Try it (in another terminal):
    curl ${api}/info
    curl ${api}/fee
    ${demoCommand(api, l1)}
        # deposits 1 ETH through the EtherPortal, sends a signed transfer, and prints both
        # as they appear on ${api.replace("http", "ws")}/ws/subscribe

`;
}

/**
 * The demo reads the same variables as `npm start` (scripts/lib/demo-urls.ts): with the same
 * environment it needs nothing more; the banner spells out the ports that differ anyway.
 */
function demoCommand(api: string, l1: string): string {
  const env: string[] = [];
  const httpAddr = new URL(api).host;
  const anvilPort = new URL(l1).port;
  if (httpAddr !== "127.0.0.1:3000") env.push(`SEQ_HTTP_ADDR=${httpAddr}`);
  if (anvilPort !== "8545") env.push(`SEQ_DEVNET_ANVIL_PORT=${anvilPort}`);
  return [...env, "npm run demo"].join(" ");
}
