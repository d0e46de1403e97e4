/**
 * The product decodes `InputAdded` inputs to bytes (decodeEvmAdvanceCall, src/l1/contracts.ts);
 * tests read them as viem-style hex with checksummed addresses, which is this.
 */
import { getAddress, type Address, type Hex } from "viem";
import { bytesToHex, hexToBytes } from "../../src/core/bytes.ts";
import { decodeEvmAdvanceCall } from "../../src/l1/contracts.ts";

/** A decoded `EvmAdvance` (the `input` of an `InputAdded` event). */
export interface EvmAdvance {
  chainId: bigint;
  appContract: Address;
  msgSender: Address;
  blockNumber: bigint;
  blockTimestamp: bigint;
  prevRandao: bigint;
  index: bigint;
  payload: Hex;
}

/** `decodeEvmAdvanceCall` of hex calldata, with checksummed addresses and a hex payload. */
export function decodeEvmAdvance(input: Hex): EvmAdvance {
  const f = decodeEvmAdvanceCall(hexToBytes(input));
  return {
    chainId: f.chainId,
    appContract: getAddress(f.appContract),
    msgSender: getAddress(bytesToHex(f.msgSender)),
    blockNumber: f.blockNumber,
    blockTimestamp: f.blockTimestamp,
    prevRandao: f.prevRandao,
    index: f.index,
    payload: bytesToHex(f.payload),
  };
}
