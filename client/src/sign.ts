import type { Address, Hex } from "viem";
import type { SequencerDomain, SignedUserOp, UserOpMessage } from "./types.ts";

/*
 * Structural types, so that any viem version's accounts and wallet clients fit: viem's own
 * signTypedData is generic over the typed data, which no single non-generic signature matches.
 * The parameter is typed `never` so that every such function is assignable; the call below
 * passes exactly what signTypedData takes.
 */
type SignTypedData = (args: never) => Promise<Hex>;

/** A viem account: local (a private key, a mnemonic) or any other with signTypedData. */
export interface AccountSigner {
  address: Address;
  signTypedData?: SignTypedData;
}

/** A viem wallet client that carries its account (an injected wallet, a node's JSON-RPC account). */
export interface WalletClientSigner {
  account: { address: Address } & object;
  signTypedData: SignTypedData;
  request: unknown;
}

/** Anything that signs EIP-712 typed data: a viem account or a wallet client with an account. */
export type UserOpSigner = AccountSigner | WalletClientSigner;

export interface SignUserOpArgs {
  signer: UserOpSigner;
  /** GET /domain as served (the client's `getDomain()`): domain, types and primary type. */
  domain: SequencerDomain;
  message: UserOpMessage;
}

function isWalletClient(s: UserOpSigner): s is WalletClientSigner {
  return "account" in s && typeof (s as { request?: unknown }).request === "function";
}

type Call = (args: unknown) => Promise<Hex>;

/** Signs a UserOp the way the sequencer checks it; the result is the body of POST /tx. */
export async function signUserOp({ signer, domain, message }: SignUserOpArgs): Promise<SignedUserOp> {
  const typed = { domain: domain.domain, types: domain.types, primaryType: domain.primaryType, message } as const;
  let signature: Hex;
  let address: Address;
  if (isWalletClient(signer)) {
    signature = await (signer.signTypedData as Call)({ account: signer.account, ...typed });
    address = signer.account.address;
  } else {
    if (!signer.signTypedData) throw new TypeError(`account ${signer.address} cannot sign typed data`);
    signature = await (signer.signTypedData as Call)(typed);
    address = signer.address;
  }
  return { message, signature, sender: address.toLowerCase() as Address };
}
