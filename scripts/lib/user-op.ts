/**
 * A signed `POST /tx` body from a private key, for the scripts (dev, benches) and the tests'
 * client, which know the chain and application without asking the server. The signing itself
 * is the client SDK's (client/src/sign.ts), with the domain and types of src/core/eip712.ts.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signUserOp as sign, type SignedUserOp } from "../../client/src/index.ts";
import { eip712Domain, USER_OP_PRIMARY_TYPE, USER_OP_TYPES } from "../../src/core/eip712.ts";

export type TxBody = SignedUserOp;

export async function signUserOp(key: Hex, op: { nonce: number; maxFee: number; data: Hex }, chainId: bigint, app: Hex): Promise<TxBody> {
  const d = eip712Domain(chainId, app);
  return sign({
    signer: privateKeyToAccount(key),
    domain: { domain: { ...d, chainId: Number(d.chainId) }, types: USER_OP_TYPES, primaryType: USER_OP_PRIMARY_TYPE },
    message: { nonce: op.nonce, max_fee: op.maxFee, data: op.data },
  });
}
