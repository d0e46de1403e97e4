/**
 * A signed `POST /tx` body, made the way a wallet would (viem's signTypedData over the
 * domain and types of src/core/eip712.ts). Shared by the scripts (demo, dev, benches) and
 * the tests' client, so the signing is written once.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { eip712Domain, USER_OP_PRIMARY_TYPE, USER_OP_TYPES } from "../../src/core/eip712.ts";

export interface TxBody {
  message: { nonce: number; max_fee: number; data: Hex };
  signature: Hex;
  sender: Hex;
}

export async function signUserOp(key: Hex, op: { nonce: number; maxFee: number; data: Hex }, chainId: bigint, app: Hex): Promise<TxBody> {
  const account = privateKeyToAccount(key);
  const message = { nonce: op.nonce, max_fee: op.maxFee, data: op.data };
  const signature = await account.signTypedData({
    domain: eip712Domain(chainId, app),
    types: USER_OP_TYPES,
    primaryType: USER_OP_PRIMARY_TYPE,
    message,
  });
  return { message, signature, sender: account.address.toLowerCase() as Hex };
}
