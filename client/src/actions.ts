import type { Client } from "viem";
import { createSequencerClient, type SequencerClientConfig } from "./client.ts";
import type { WalletClientSigner } from "./sign.ts";

/**
 * The sequencer's methods as viem actions:
 *
 *   const client = createWalletClient({ account, transport: http(rpc) })
 *     .extend(sequencerActions({ url: "http://127.0.0.1:3000" }));
 *   await client.submitUserOp({ data });
 *
 * With a wallet client that has an account, `submitUserOp` and `signUserOp` sign with it.
 */
export function sequencerActions(config: SequencerClientConfig) {
  const seq = createSequencerClient(config);
  return <C extends Client>(client: C) => {
    const signer = () => {
      if (!client.account) throw new TypeError("this viem client has no account to sign with");
      return client as unknown as WalletClientSigner;
    };
    return {
      getSequencerInfo: seq.getInfo,
      getSequencerDomain: seq.getDomain,
      getSequencerFee: seq.getFee,
      getSequencerNonce: seq.getNonce,
      sendUserOp: seq.sendUserOp,
      signUserOp: (message: Parameters<typeof seq.signUserOp>[1]) => seq.signUserOp(signer(), message),
      submitUserOp: (args: Omit<Parameters<typeof seq.submit>[0], "signer">) => seq.submit({ ...args, signer: signer() }),
      getTxStatus: seq.getTxStatus,
      waitForStatus: seq.waitForStatus,
      inspect: seq.inspect,
      subscribeFeed: seq.subscribe,
    };
  };
}
