/**
 * A real anvil preloaded with the devnet state (devnet/anvil-state.json), on an
 * ephemeral port, `--slots-in-an-epoch 1`, automine unless `blockTime` is given.
 *
 * Used by the benchmarks and, through test/support/anvil.ts (which adds `useDevnetAnvil`),
 * by the tests. Always stop it (stop() is idempotent):
 *
 *   let l1: DevnetAnvil;
 *   beforeAll(async () => { l1 = await withDevnetAnvil(); });
 *   afterAll(() => l1?.stop());
 */
import { join } from "node:path";
import {
  type Hex,
  type TransactionReceipt,
  createPublicClient,
  createWalletClient,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { type AnvilHandle, type StartAnvilOptions, startAnvil } from "../../src/l1/anvil.ts";
import { DEVNET_DEPLOYMENT, DEVNET_KEYS, type Deployment, etherPortalAbi } from "../../src/l1/contracts.ts";

export const DEVNET_STATE_FILE = join(import.meta.dir, "..", "..", "devnet", "anvil-state.json");

export interface DevnetAnvilOptions {
  /** Interval mining in seconds; undefined = automine. */
  blockTime?: number;
  /** Persist to/continue from this state file instead of loading the pristine devnet state. */
  statePath?: string;
  /** Forwarded to startAnvil. */
  extraArgs?: string[];
  quiet?: boolean;
}

function makeClients(url: string) {
  const transport = http(url, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: anvilChain, transport, pollingInterval: 50 });
  const walletClient = (accountIndex: number) => {
    const key = DEVNET_KEYS[accountIndex];
    if (key === undefined) throw new Error(`no devnet key #${accountIndex} (0..${DEVNET_KEYS.length - 1})`);
    return createWalletClient({ account: privateKeyToAccount(key), chain: anvilChain, transport });
  };
  return { publicClient, walletClient };
}

export type DevnetPublicClient = ReturnType<typeof makeClients>["publicClient"];
export type DevnetWalletClient = ReturnType<ReturnType<typeof makeClients>["walletClient"]>;

export interface DevnetAnvil {
  url: string;
  port: number;
  pid: number;
  deployment: Deployment;
  publicClient: DevnetPublicClient;
  walletClient(accountIndex: number): DevnetWalletClient;
  /** EtherPortal.depositEther(application, execLayerData) from account `fromIndex`; waits for the receipt. */
  deposit(fromIndex: number, valueWei: bigint, execLayerData?: Hex): Promise<TransactionReceipt>;
  /** anvil_mine n blocks (default 1). */
  mine(n?: number): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
  anvil: AnvilHandle;
}

export async function withDevnetAnvil(opts: DevnetAnvilOptions = {}): Promise<DevnetAnvil> {
  const startOpts: StartAnvilOptions = {
    port: 0,
    chainId: DEVNET_DEPLOYMENT.chainId,
    slotsInAnEpoch: 1,
    quiet: opts.quiet ?? true,
  };
  if (opts.blockTime !== undefined) startOpts.blockTime = opts.blockTime;
  if (opts.extraArgs) startOpts.extraArgs = opts.extraArgs;
  if (opts.statePath !== undefined) startOpts.statePath = opts.statePath;
  else startOpts.loadState = DEVNET_STATE_FILE;

  const anvil = await startAnvil(startOpts);
  const { publicClient, walletClient } = makeClients(anvil.url);
  const deployment = DEVNET_DEPLOYMENT;

  return {
    url: anvil.url,
    port: anvil.port,
    pid: anvil.pid,
    deployment,
    publicClient,
    walletClient,
    async deposit(fromIndex, valueWei, execLayerData = "0x") {
      const wallet = walletClient(fromIndex);
      const hash = await wallet.writeContract({
        address: deployment.etherPortal,
        abi: etherPortalAbi,
        functionName: "depositEther",
        args: [deployment.application, execLayerData],
        value: valueWei,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`deposit ${hash} reverted`);
      return receipt;
    },
    async mine(n = 1) {
      await publicClient.request({ method: "anvil_mine" as never, params: [`0x${n.toString(16)}`] as never });
    },
    stop: () => anvil.stop(),
    anvil,
  };
}
