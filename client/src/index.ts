/**
 * The TypeScript client of the Cartesi app sequencer's public API (see GET /openapi.json).
 *
 *   import { createSequencerClient } from "@cartesi-app-sequencer/client";
 *   const seq = createSequencerClient({ url: "http://127.0.0.1:3000" });
 *   const { tx_hash } = await seq.submit({ signer: account, data: "0x..." });
 *   await seq.waitForStatus(tx_hash, "safe");
 */
export { createSequencerClient, type SequencerClient, type SequencerClientConfig, type SendArgs, type WaitOptions } from "./client.ts";
export { sequencerActions } from "./actions.ts";
export { signUserOp, type AccountSigner, type SignUserOpArgs, type UserOpSigner, type WalletClientSigner } from "./sign.ts";
export { CatchUpWindowError, type SubscribeOptions, type Subscription, type SubscriptionStatus } from "./subscribe.ts";
export { SequencerApiError, SequencerTransportError, TxInvalidatedError, WaitTimeoutError, type ApiErrorCode } from "./errors.ts";
export type * from "./types.ts";
