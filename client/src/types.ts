import type { Address, Hex, TypedDataDomain } from "viem";

/** What GET /domain answers: pass domain, types and primaryType to signTypedData as they are. */
export interface SequencerDomain {
  domain: Required<Pick<TypedDataDomain, "name" | "version" | "verifyingContract">> & { chainId: number };
  types: { UserOp: readonly { name: string; type: string }[] };
  primaryType: "UserOp";
}

/** The signed message: the sender's next nonce, the most it pays, the app's payload. */
export interface UserOpMessage {
  nonce: number;
  max_fee: number;
  data: Hex;
}

/** The body of POST /tx. */
export interface SignedUserOp {
  message: UserOpMessage;
  signature: Hex;
  sender: Address;
}

export interface TxAccepted {
  ok: true;
  sender: Address;
  nonce: number;
  tx_hash: Hex;
  /** Its place in the order. */
  offset: number;
}

export type TxStatusName = "soft_confirmed" | "submitted" | "included" | "safe" | "finalized" | "invalidated";

export interface Output {
  kind: "notice" | "voucher" | "report";
  payload: Hex;
}

export interface TxStatus {
  tx_hash: Hex;
  status: TxStatusName;
  offset: number | null;
  batch_nonce: number | null;
  l1_tx_hash: Hex | null;
  l1_block: number | null;
  outputs: Output[];
}

export interface Fee {
  fee: number;
  recommended_fee: number;
  suggested_max_fee: number;
}

export interface SequencerInfo {
  chain_id: number;
  app_address: Address;
  input_box_address: Address;
  ether_portal_address: Address;
  erc20_portal_address: Address;
  erc20_token_address: Address;
  batch_submitter_address: Address;
  max_wait_blocks: number;
  max_data_length: number;
  app_inspect: boolean;
  feed_generation: number;
  version: string;
  [more: string]: unknown;
}

export interface InspectAnswer {
  status: "accepted" | "rejected" | "exception";
  reports: { payload: Hex }[];
  /** The last sequenced entry the answer reflects. */
  offset: number;
  exception?: string;
  failure?: string;
}

export interface UserOpEntry {
  kind: "user_op";
  offset: number;
  sender: Address;
  fee: number;
  data: Hex;
  nonce: number;
  tx_hash: Hex;
  outputs: Output[];
}

export interface DirectInputEntry {
  kind: "direct_input";
  offset: number;
  sender: Address;
  block_number: number;
  input_index: number;
  payload: Hex;
  outputs: Output[];
  /** A failing direct input is included as a no-op, with its failure class (SPEC 2.8). */
  failure: string | null;
}

/** One entry of the sequenced order, as the feed sends it. */
export type FeedEntry = UserOpEntry | DirectInputEntry;

/** History from `offset` on was cut by a liveness recovery; generation `generation` follows. */
export interface Rollback {
  kind: "rollback";
  offset: number;
  generation: number;
}
