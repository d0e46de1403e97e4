/**
 * The addresses the in-process harnesses, fixtures and benchmarks use, in one place so that
 * they agree (the submitter a harness seals with is the one its landings come from, and so
 * on). Devnet accounts come from src/l1/contracts.ts, lowercased as the lane reports them.
 */
import { ZERO_ADDRESS } from "../../src/core/bytes.ts";
import { VECTOR_APP } from "../../src/core/spec-vectors.ts";
import { DEVNET_ADDRESSES, DEVNET_BATCH_SUBMITTER_INDEX } from "../../src/l1/contracts.ts";

export type Addr = `0x${string}`;

const devnet = (i: number): Addr => DEVNET_ADDRESSES[i]!.toLowerCase() as Addr;

export const ZERO: Addr = ZERO_ADDRESS;
/** The application address of the in-process harnesses (the spec vectors' one). */
export const FIXTURE_APP: Addr = VECTOR_APP;
/** A stand-in EtherPortal for harnesses without L1: deposits come from it. */
export const FIXTURE_PORTAL: Addr = "0x2222222222222222222222222222222222222222";
/** anvil #0 … #3: ALICE, the batch submitter (anvil #1), CAROL, and a fee recipient / payee. */
export const ANVIL_0 = devnet(0);
export const SUBMITTER = devnet(DEVNET_BATCH_SUBMITTER_INDEX);
export const ANVIL_2 = devnet(2);
export const ANVIL_3 = devnet(3);
