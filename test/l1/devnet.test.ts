import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createWalletClient, getAddress, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil as anvilChain } from "viem/chains";
import { startDevnetAnvil, type DevnetAnvil as CliDevnetAnvil } from "../../src/cli/devnet.ts";
import { isProcessAlive } from "../../src/l1/anvil.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS, applicationAbi, etherDepositPayload, etherPortalAbi, inputAddedEvent, inputBoxAbi } from "../../src/l1/contracts.ts";
import { decodeEvmAdvance } from "../support/evm-advance.ts";
import { type DevnetAnvil, withDevnetAnvil } from "../support/anvil.ts";

describe("preloaded devnet state", () => {
  let l1: DevnetAnvil | undefined;
  beforeAll(async () => {
    l1 = await withDevnetAnvil();
  });
  afterAll(async () => {
    await l1?.stop();
  });
  const node = () => {
    if (!l1) throw new Error("anvil not started");
    return l1;
  };

  test("(a) InputBox, portals, Authority and Application have code at deployment.json addresses", async () => {
    const { publicClient: pc, deployment: d } = node();
    expect(await pc.getChainId()).toBe(31337);
    for (const addr of [d.inputBox, d.etherPortal, d.erc20Portal, d.application, d.authority!]) {
      const code = await pc.getCode({ address: addr });
      expect(code?.length ?? 0).toBeGreaterThan(2);
    }
    expect(
      await pc.readContract({ address: d.inputBox, abi: inputBoxAbi, functionName: "getDeploymentBlockNumber" }),
    ).toBe(BigInt(d.inputBoxDeploymentBlock));
    expect(await pc.readContract({ address: d.etherPortal, abi: etherPortalAbi, functionName: "getInputBox" })).toBe(
      d.inputBox,
    );
    expect(
      await pc.readContract({ address: d.application, abi: applicationAbi, functionName: "getOutputsMerkleRootValidator" }),
    ).toBe(d.authority!);
    expect(await pc.readContract({ address: d.inputBox, abi: inputBoxAbi, functionName: "getNumberOfInputs", args: [d.application] })).toBe(0n);
    // anvil's dev accounts are the ones DEVNET_KEYS describe
    const accounts = ((await pc.request({ method: "eth_accounts" as never })) as string[]).map((a) => getAddress(a));
    expect(accounts).toEqual([...DEVNET_ADDRESSES]);
    // safe follows latest closely with --slots-in-an-epoch 1
    await node().mine(3);
    const latest = await pc.getBlock({ blockTag: "latest" });
    const safe = await pc.getBlock({ blockTag: "safe" });
    expect(latest.number - safe.number).toBeLessThanOrEqual(2n);
  });

  test("(b) EtherPortal.depositEther emits InputAdded with the EvmAdvance the wallet expects", async () => {
    const { publicClient: pc, deployment: d } = node();
    const value = parseEther("1");
    const extra = "0xc0ffee" as const;
    const appBalanceBefore = await pc.getBalance({ address: d.application });
    const receipt = await node().deposit(2, value, extra);
    const logs = await pc.getLogs({
      address: d.inputBox,
      event: inputAddedEvent,
      args: { appContract: d.application },
      fromBlock: receipt.blockNumber,
      toBlock: receipt.blockNumber,
      strict: true,
    });
    expect(logs).toHaveLength(1);
    const log = logs[0]!;
    expect(log.args.index).toBe(0n);
    const adv = decodeEvmAdvance(log.args.input);
    const block = await pc.getBlock({ blockNumber: receipt.blockNumber });
    expect(adv.chainId).toBe(31337n);
    expect(adv.appContract).toBe(d.application);
    expect(adv.msgSender).toBe(d.etherPortal);
    expect(adv.blockNumber).toBe(receipt.blockNumber);
    expect(adv.blockTimestamp).toBe(block.timestamp);
    expect(adv.index).toBe(0n);
    expect(adv.payload).toBe(etherDepositPayload(DEVNET_ADDRESSES[2], value, extra));
    expect(await pc.getBalance({ address: d.application })).toBe(appBalanceBefore + value);
    expect(await pc.readContract({ address: d.inputBox, abi: inputBoxAbi, functionName: "getNumberOfInputs", args: [d.application] })).toBe(1n);
  });
});

describe("startDevnetAnvil", () => {
  const dirs: string[] = [];
  const running: CliDevnetAnvil[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const start = async (dataDir: string) => {
    const logs: string[] = [];
    const h = await startDevnetAnvil({ dataDir, port: 0, log: (m) => logs.push(m) });
    running.push(h);
    return { h, logs };
  };

  test("(c)+(d) a second start on the same data dir continues the chain; stop leaves no process", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "devnet-test-")), "data");
    dirs.push(dataDir);

    const first = await start(dataDir);
    expect(first.logs.some((l) => l.includes("initialized"))).toBe(true);
    const d = first.h.deployment;
    const transport = http(first.h.url);
    const pc = createPublicClient({ chain: anvilChain, transport, pollingInterval: 100 });
    const wallet = createWalletClient({ account: privateKeyToAccount(DEVNET_KEYS[3]), chain: anvilChain, transport });
    const hash = await wallet.writeContract({
      address: d.etherPortal,
      abi: etherPortalAbi,
      functionName: "depositEther",
      args: [d.application, "0x"],
      value: parseEther("0.5"),
    });
    const receipt = await pc.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    // interval mining (1 s blocks) is on: the chain advances by itself
    const b1 = await pc.getBlockNumber();
    await Bun.sleep(1500);
    expect(await pc.getBlockNumber()).toBeGreaterThan(b1);
    const blockBeforeStop = await pc.getBlockNumber();

    const pid1 = first.h.pid;
    await first.h.stop();
    await first.h.stop(); // idempotent
    expect(isProcessAlive(pid1)).toBe(false); // (d)

    const second = await start(dataDir);
    expect(second.logs.some((l) => l.includes("initialized"))).toBe(false);
    const pc2 = createPublicClient({ chain: anvilChain, transport: http(second.h.url) });
    expect(await pc2.getBlockNumber()).toBeGreaterThanOrEqual(blockBeforeStop);
    expect(
      await pc2.readContract({ address: d.inputBox, abi: inputBoxAbi, functionName: "getNumberOfInputs", args: [d.application] }),
    ).toBe(1n);
    // the input reader's view survives too: logs and receipts of the first run
    const logs = await pc2.getLogs({
      address: d.inputBox,
      event: inputAddedEvent,
      fromBlock: BigInt(d.inputBoxDeploymentBlock),
      toBlock: "latest",
      strict: true,
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.transactionHash).toBe(hash);
    expect(decodeEvmAdvance(logs[0]!.args.input).payload).toBe(
      etherDepositPayload(DEVNET_ADDRESSES[3], parseEther("0.5")),
    );
    expect((await pc2.getTransactionReceipt({ hash })).blockNumber).toBe(receipt.blockNumber);

    const pid2 = second.h.pid;
    await second.h.stop();
    expect(isProcessAlive(pid2)).toBe(false);
  });
});
