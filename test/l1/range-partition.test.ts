/**
 * Range partition: the L1 node refuses `eth_getLogs` over more than 4 blocks (-32005, as
 * hosted RPCs do), and the real sequencer's first sync spans ~70 blocks holding 30 inputs
 * (EtherPortal deposits and direct InputBox.addInput calls). The reader must halve its ranges
 * down to what the node accepts and still deliver every input exactly once, in order.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { toHex } from "viem";
import { DEVNET_KEYS, inputAddedEvent, inputBoxAbi } from "../../src/l1/contracts.ts";
import { decodeEvmAdvance } from "../support/evm-advance.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { subscribe, type FeedClient } from "../support/client.ts";
import { startRpcProxy, type RpcProxy } from "../support/rpc-proxy.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

const INPUTS = 30;
const MAX_RANGE = 4;

let anvil: DevnetAnvil | undefined;
let proxy: RpcProxy | undefined;
let seq: SequencerProcess | undefined;
let feed: FeedClient | undefined;
const dir = tempDir();

beforeAll(async () => {
  anvil = await withDevnetAnvil();
}, 20_000);

afterAll(async () => {
  feed?.close();
  await seq?.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  dir.remove();
}, 30_000);

test("every input arrives exactly once and in order when eth_getLogs is capped at 4 blocks", async () => {
  const l1 = anvil!;
  const { inputBox, application } = l1.deployment;
  const direct = l1.walletClient(4);
  expect(DEVNET_KEYS[4]).toBeDefined();
  // Uncached reads of the head (viem caches getBlockNumber briefly).
  const head = async () => BigInt(await l1.publicClient.request({ method: "eth_blockNumber" }));
  const firstBlock = await head();

  // 30 inputs over ~70 blocks: deposits from account 5 and addInput from account 4,
  // with 1-3 empty blocks in between.
  for (let i = 0; i < INPUTS; i++) {
    if (i % 2 === 0) {
      await l1.deposit(5, 1_000_000_000n + BigInt(i));
    } else {
      const hash = await direct.writeContract({
        address: inputBox,
        abi: inputBoxAbi,
        functionName: "addInput",
        args: [application, toHex(`direct input ${i}`)],
      });
      const r = await l1.publicClient.waitForTransactionReceipt({ hash });
      expect(r.status).toBe("success");
    }
    await l1.mine(1 + (i % 3));
  }
  const lastInputBlock = await head();
  expect(lastInputBlock - firstBlock).toBeGreaterThanOrEqual(60n);

  // The chain itself, read directly: indices 0..29 at distinct blocks.
  const onChain = await l1.publicClient.getLogs({
    address: inputBox,
    event: inputAddedEvent,
    args: { appContract: application },
    fromBlock: 0n,
    toBlock: "latest",
    strict: true,
  });
  expect(onChain.map((l) => Number(l.args.index))).toEqual([...Array(INPUTS).keys()]);

  proxy = await startRpcProxy({ upstream: l1.url, getLogsMaxRange: MAX_RANGE });
  seq = await startSequencerProcess({
    rpcUrl: proxy.url,
    dataDir: dir.path,
    env: { SEQ_INPUT_BOX_DEPLOYMENT_BLOCK: "1" },
  });
  // The first sync (before "ready") already had to split its ranges.
  expect(proxy.count({ method: "eth_getLogs", outcome: "rangeError" })).toBeGreaterThan(0);

  // Move the safe head well past the last input so every input is drained into a frame.
  await l1.mine(12);
  feed = subscribe(seq.url, "?from_offset=0");
  const directs = () => feed!.messages.filter((m) => m.kind === "direct_input");
  const deadline = Date.now() + 15_000;
  while (directs().length < INPUTS && Date.now() < deadline) {
    await l1.mine(1);
    await Bun.sleep(100);
  }
  await Bun.sleep(300); // anything duplicated would show up now
  const got = directs();
  const indices = got.map((m) => m.input_index as number);
  // Inputs posted later by the sequencer's own batch submitter are batches, not direct
  // inputs; any direct input must be one of ours.
  expect(indices).toEqual([...Array(INPUTS).keys()]);
  const offsets = feed.messages.map((m) => m.offset as number);
  expect(offsets).toEqual([...Array(offsets.length).keys()]);

  // The feed carries what the chain holds: payload and block of each input.
  for (const [i, log] of onChain.entries()) {
    const adv = decodeEvmAdvance(log.args.input);
    expect(got[i]!.payload).toBe(adv.payload.toLowerCase());
    expect(got[i]!.block_number).toBe(Number(log.blockNumber));
    expect(got[i]!.sender).toBe(adv.msgSender.toLowerCase());
  }

  // The node never answered a range above the cap, and the reader did split.
  const rangeErrors = proxy.count({ method: "eth_getLogs", outcome: "rangeError" });
  const answered = proxy.count({ method: "eth_getLogs", outcome: "pass" });
  expect(rangeErrors).toBeGreaterThanOrEqual(5);
  expect(answered).toBeGreaterThan(Math.ceil(Number(lastInputBlock) / MAX_RANGE) - 1);
  // The range errors are the node's answers, not outages.
  expect(seq.logs.filter((l) => l.msg === "L1 unreachable")).toHaveLength(0);
  expect(seq.logs.filter((l) => l.level === "error")).toHaveLength(0);
}, 30_000);
