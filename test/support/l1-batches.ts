/**
 * What the batch submitter put on L1, read independently of the code under test: viem's
 * `getLogs` and `decodeEvmAdvance` (not src/l1/input-logs.ts), then the SSZ batch decoder.
 */
import type { Hex } from "viem";
import { hexToBytes } from "../../src/core/bytes.ts";
import { decodeBatch } from "../../src/core/ssz.ts";
import { inputAddedEvent } from "../../src/l1/contracts.ts";
import { decodeEvmAdvance } from "./evm-advance.ts";
import type { DevnetAnvil } from "./anvil.ts";

export interface LandedBatch {
  /** InputBox input index. */
  index: number;
  block: bigint;
  transactionHash: Hex;
  payload: Hex;
  /** The SSZ batch's own nonce. */
  nonce: bigint;
}

/** Every InputBox input of the app sent by the devnet batch submitter, in L1 order. */
export async function submitterBatchesOnL1(anvil: DevnetAnvil): Promise<LandedBatch[]> {
  const logs = await anvil.publicClient.getLogs({
    address: anvil.deployment.inputBox,
    event: inputAddedEvent,
    args: { appContract: anvil.deployment.application },
    fromBlock: 0n,
    toBlock: "latest",
    strict: true,
  });
  const submitter = anvil.deployment.batchSubmitter.toLowerCase();
  return logs
    .map((l) => ({ l, adv: decodeEvmAdvance(l.args.input) }))
    .filter(({ adv }) => adv.msgSender.toLowerCase() === submitter)
    .map(({ l, adv }) => ({
      index: Number(l.args.index),
      block: adv.blockNumber,
      transactionHash: l.transactionHash,
      payload: adv.payload,
      nonce: decodeBatch(hexToBytes(adv.payload)).nonce,
    }));
}
