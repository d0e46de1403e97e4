/**
 * Test vectors copied from SPEC 2.1-2.3, shared by the core tests and by other modules'
 * tests (ingress, scheduler, replay) so that nobody re-types them.
 */
import type { Address, Hex } from "./bytes.ts";

export const VECTOR_CHAIN_ID = 31337n;
export const VECTOR_APP: Address = "0x1111111111111111111111111111111111111111";

/** A wallet Transfer of 10^15 to 0x7099...79C8 (53 bytes). */
export const VECTOR_TRANSFER_DATA: Hex =
  "0x010080c6a47e8d030000000000000000000000000000000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8";

/** EIP-712 digest of {nonce 0, max_fee 2000, data VECTOR_TRANSFER_DATA} under the vector domain. */
export const VECTOR_DIGEST: Hex = "0xf8edb9b33f7e3aaca25b77788336aa1338fbd242853225a4d32b5dd4d27bb0ac";

/** anvil account 0 (a well-known development key; never holds real funds). */
export const ANVIL_KEY_0: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
export const ANVIL_ADDRESS_0: Address = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

export const VECTOR_SIGNATURE: Hex =
  "0xdfcf28d147ddc6c71592ce8d85df5bac35205c5e0157cfe8213d82bcaaf0c67a196baa2364fd12de78eb517fcfdbb9709cbe238c85b6ba2d846c408df7d58cd41c";

export const VECTOR_EMPTY_BATCH_NONCE_0: Hex = "0x00000000000000000c000000";
export const VECTOR_BATCH_NONCE_1_EMPTY_FRAME: Hex = "0x01000000000000000c000000040000000e00000064000000000000004c05";
/** Prefix of the 166-byte nonce-2 batch (frame safe_block 105, fee 1356, op nonce 7, max_fee 1409). */
export const VECTOR_BATCH_NONCE_2_PREFIX: Hex =
  "0x02000000000000000c000000040000000e00000069000000000000004c05040000000700000081050e0000004300000001";
