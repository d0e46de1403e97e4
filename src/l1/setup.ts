import { createPublicClient, decodeFunctionData, webSocket, type PublicClient } from "viem";
import { ConfigError } from "../core/errors.ts";
import { silentLogger, type Logger } from "../observability/log.ts";
import { applicationAbi, dataAvailabilityAbi, etherPortalAbi, erc20PortalAbi } from "./contracts.ts";
import { createL1Client } from "./provider.ts";
import { ZERO_ADDRESS } from "../core/bytes.ts";

export interface L1Binding {
  client: PublicClient;
  inputBox: `0x${string}`;
  fromBlock: bigint;
}

export interface L1SetupInput {
  rpcUrl: string;
  chainId: bigint;
  app: `0x${string}`;
  inputBox: `0x${string}` | undefined;
  deploymentBlock: bigint | undefined;
  etherPortal: `0x${string}`;
  erc20Portal: `0x${string}`;
  log: Logger;
}

const ZERO = ZERO_ADDRESS;

/**
 * The L1 client of the sequencer. HTTP(S) URLs get the resilient transport of provider.ts
 * (bounded retries with backoff, per-attempt timeout, one log line per outage and per
 * recovery); `log` receives those lines. WebSocket URLs keep viem's webSocket transport.
 */
export function makePublicClient(rpcUrl: string, log: Logger = silentLogger): PublicClient {
  // cacheTime 0: viem caches the block number for 4 s by default, and the submitter's view of
  // L1 must be the chain as it is now.
  if (rpcUrl.startsWith("ws")) {
    return createPublicClient({ transport: webSocket(rpcUrl, { retryCount: 0 }), cacheTime: 0 }) as PublicClient;
  }
  return createL1Client(rpcUrl, { log: log.child({ component: "l1-provider" }), cacheTime: 0 });
}

/**
 * Binds the sequencer to its L1 contracts and refuses to start on any inconsistency: wrong
 * chain, no contract at the app, an InputBox the app does not use, or a portal bound to a
 * different InputBox (which would leave deposits uncredited). Each error names the variable.
 */
export async function bindL1(i: L1SetupInput): Promise<L1Binding> {
  const client = makePublicClient(i.rpcUrl, i.log);
  const chainId = BigInt(await client.getChainId());
  if (chainId !== i.chainId) {
    throw new ConfigError("SEQ_CHAIN_ID", `is ${i.chainId} but the node at SEQ_ETH_RPC_URL reports chain ${chainId}`);
  }
  const appCode = await client.getCode({ address: i.app });
  if (!appCode || appCode === "0x") {
    throw new ConfigError("SEQ_APP_ADDRESS", `no contract is deployed at ${i.app} on chain ${chainId}`);
  }

  let inputBox = i.inputBox;
  if (inputBox === undefined) {
    const da = await client
      .readContract({ address: i.app, abi: applicationAbi, functionName: "getDataAvailability" })
      .catch((e: unknown) => {
        throw new ConfigError(
          "SEQ_INPUT_BOX_ADDRESS",
          `not set, and the app does not expose getDataAvailability(): ${(e as Error).message}`,
        );
      });
    const decoded = decodeFunctionData({ abi: dataAvailabilityAbi, data: da });
    inputBox = (decoded.args[0] as string).toLowerCase() as `0x${string}`;
    i.log.info("input box discovered from the application", { input_box: inputBox });
  }
  const boxCode = await client.getCode({ address: inputBox });
  if (!boxCode || boxCode === "0x") {
    throw new ConfigError("SEQ_INPUT_BOX_ADDRESS", `no contract is deployed at ${inputBox}`);
  }

  let fromBlock = i.deploymentBlock;
  if (fromBlock === undefined) {
    fromBlock = await client
      .readContract({ address: i.app, abi: applicationAbi, functionName: "getDeploymentBlockNumber" })
      .catch(() => 0n);
  }

  await checkPortal(client, "SEQ_ETHER_PORTAL_ADDRESS", i.etherPortal, inputBox, etherPortalAbi);
  await checkPortal(client, "SEQ_ERC20_PORTAL_ADDRESS", i.erc20Portal, inputBox, erc20PortalAbi);
  return { client, inputBox, fromBlock };
}

async function checkPortal(
  client: PublicClient,
  variable: string,
  portal: `0x${string}`,
  inputBox: `0x${string}`,
  abi: typeof etherPortalAbi | typeof erc20PortalAbi,
): Promise<void> {
  if (portal === ZERO) return;
  const code = await client.getCode({ address: portal });
  if (!code || code === "0x") {
    throw new ConfigError(variable, `no contract is deployed at ${portal}; set the portal of this network`);
  }
  const box = (await client
    .readContract({ address: portal, abi, functionName: "getInputBox" })
    .catch(() => {
      throw new ConfigError(variable, `contract at ${portal} is not a Cartesi portal (no getInputBox())`);
    })) as string;
  if (box.toLowerCase() !== inputBox) {
    throw new ConfigError(variable, `portal ${portal} feeds InputBox ${box}, not ${inputBox}`);
  }
}
