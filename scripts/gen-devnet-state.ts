#!/usr/bin/env bun
/**
 * Regenerates the preloaded devnet L1 state:
 *   devnet/anvil-state.json  — anvil `--dump-state` output (loadable with --load-state / --state)
 *   devnet/deployment.json   — addresses of what was deployed
 *
 * Usage: bun scripts/gen-devnet-state.ts
 *
 * Deploys, from anvil account 0 on a fresh anvil (chain id 31337), with real
 * @cartesi/rollups 2.2.0 artifacts:
 *   nonce 0  InputBox
 *   nonce 1  EtherPortal(inputBox)
 *   nonce 2  ERC20Portal(inputBox)
 *   nonce 3  Authority(owner = account 0, epochLength = 720)   (outputs-merkle-root validator)
 *   nonce 4  Application(authority, owner = account 0, templateHash, DataAvailability.InputBox(inputBox))
 * No ERC-20 token is deployed: the package ships no concrete token artifact (only IERC20).
 *
 * The output is byte-for-byte reproducible: genesis timestamp fixed, one second per block,
 * and the dump's block/transaction lists sorted (anvil writes them in hash-map order).
 * Addresses depend only on the deployer and its nonces.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Abi,
  type Address,
  type Hex,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  http,
  keccak256,
  parseEther,
  stringToHex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { startAnvil } from "../src/l1/anvil.ts";

const ROOT = resolve(import.meta.dir, "..");
const OUT_DIR = join(ROOT, "devnet");
const CHAIN_ID = 31337;
const GENESIS_TIMESTAMP = 1735689600; // 2025-01-01T00:00:00Z; loaded chains continue at wall-clock time
const AUTHORITY_EPOCH_LENGTH = 720n;
/** No Cartesi machine exists for the sequencer's WASM app; a labelled constant stands in. */
const TEMPLATE_HASH = keccak256(stringToHex("cartesi-app-sequencer/devnet/application"));
const MNEMONIC = "test test test test test test test test test test test junk";

interface Artifact {
  abi: Abi;
  bytecode: { object: Hex };
}
function artifact(name: string): Artifact {
  const path = join(ROOT, "node_modules", "@cartesi", "rollups", "out", `${name}.sol`, `${name}.json`);
  return JSON.parse(readFileSync(path, "utf8")) as Artifact;
}

async function main(): Promise<void> {
  const tmp = join(tmpdir(), `devnet-state-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const dumpPath = join(tmp, "state.json");

  const node = await startAnvil({
    chainId: CHAIN_ID,
    port: 0,
    extraArgs: ["--timestamp", String(GENESIS_TIMESTAMP), "--dump-state", dumpPath],
  });
  try {
    const deployer = mnemonicToAccount(MNEMONIC, { addressIndex: 0 });
    const submitter = mnemonicToAccount(MNEMONIC, { addressIndex: 1 });
    const transport = http(node.url);
    const pub = createPublicClient({ chain: anvilChain, transport });
    const wallet = createWalletClient({ account: deployer, chain: anvilChain, transport });

    await pub.request({ method: "anvil_setBlockTimestampInterval" as never, params: [1] as never });

    const nonce0 = await pub.getTransactionCount({ address: deployer.address });
    if (nonce0 !== 0) throw new Error(`deployer nonce is ${nonce0}, expected a fresh chain`);

    const deploy = async (name: string, args: readonly unknown[]): Promise<{ address: Address; block: bigint }> => {
      const a = artifact(name);
      const nonce = await pub.getTransactionCount({ address: deployer.address });
      const hash = await wallet.deployContract({ abi: a.abi, bytecode: a.bytecode.object, args: args as unknown[] });
      const receipt = await pub.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`${name} deployment failed`);
      const expected = getContractAddress({ from: deployer.address, nonce: BigInt(nonce) });
      if (getAddress(receipt.contractAddress) !== expected) throw new Error(`${name} landed at an unexpected address`);
      console.log(`${name.padEnd(12)} ${expected}  (block ${receipt.blockNumber})`);
      return { address: expected, block: receipt.blockNumber };
    };

    const inputBox = await deploy("InputBox", []);
    const etherPortal = await deploy("EtherPortal", [inputBox.address]);
    const erc20Portal = await deploy("ERC20Portal", [inputBox.address]);
    const authority = await deploy("Authority", [deployer.address, AUTHORITY_EPOCH_LENGTH]);
    const dataAvailability = encodeFunctionData({
      abi: artifact("DataAvailability").abi,
      functionName: "InputBox",
      args: [inputBox.address],
    });
    const application = await deploy("Application", [
      authority.address,
      deployer.address,
      TEMPLATE_HASH,
      dataAvailability,
    ]);

    // Sanity checks against the deployed contracts (no state change).
    const ib = artifact("InputBox").abi;
    const deploymentBlock = (await pub.readContract({
      address: inputBox.address,
      abi: ib,
      functionName: "getDeploymentBlockNumber",
    })) as bigint;
    if (deploymentBlock !== inputBox.block) throw new Error("InputBox deployment block mismatch");
    const portalsInputBox = (await pub.readContract({
      address: etherPortal.address,
      abi: artifact("EtherPortal").abi,
      functionName: "getInputBox",
    })) as Address;
    if (getAddress(portalsInputBox) !== inputBox.address) throw new Error("EtherPortal wired to the wrong InputBox");
    const validator = (await pub.readContract({
      address: application.address,
      abi: artifact("Application").abi,
      functionName: "getOutputsMerkleRootValidator",
    })) as Address;
    if (getAddress(validator) !== authority.address) throw new Error("Application validator mismatch");
    // The Application must accept ETH so EtherPortal deposits succeed.
    await pub.simulateContract({
      account: submitter,
      address: etherPortal.address,
      abi: artifact("EtherPortal").abi,
      functionName: "depositEther",
      args: [application.address, "0x"],
      value: parseEther("1"),
    });

    const deployment = {
      chainId: CHAIN_ID,
      inputBox: inputBox.address,
      inputBoxDeploymentBlock: Number(inputBox.block),
      etherPortal: etherPortal.address,
      erc20Portal: erc20Portal.address,
      application: application.address,
      applicationDeploymentBlock: Number(application.block),
      authority: authority.address,
      templateHash: TEMPLATE_HASH,
      batchSubmitter: submitter.address,
      deployer: deployer.address,
    };

    await node.stop(); // SIGTERM: anvil writes --dump-state on exit

    const state = JSON.parse(readFileSync(dumpPath, "utf8")) as {
      blocks?: { header: { number: string } }[];
      transactions?: { block_number?: number | string; info?: { transaction_index?: number | string } }[];
    };
    // Canonical order (anvil writes these from hash maps).
    state.blocks?.sort((a, b) => Number(BigInt(a.header.number) - BigInt(b.header.number)));
    const txKey = (t: NonNullable<typeof state.transactions>[number]) =>
      Number(t.block_number ?? 0) * 1e6 + Number(t.info?.transaction_index ?? 0);
    state.transactions?.sort((a, b) => txKey(a) - txKey(b));

    mkdirSync(OUT_DIR, { recursive: true });
    const statePath = join(OUT_DIR, "anvil-state.json");
    writeFileSync(`${statePath}.tmp`, `${JSON.stringify(state)}\n`);
    renameSync(`${statePath}.tmp`, statePath);
    writeFileSync(join(OUT_DIR, "deployment.json"), `${JSON.stringify(deployment, null, 2)}\n`);
    console.log(`wrote ${statePath} and ${join(OUT_DIR, "deployment.json")}`);
  } finally {
    await node.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
