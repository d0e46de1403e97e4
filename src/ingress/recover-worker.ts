/**
 * Worker side of RecoverPool: recovers signers for one packed batch of requests, so that a
 * burst of POST /tx costs one postMessage per worker instead of one per request.
 */
import { SignatureError } from "../core/errors.ts";
import { SIGNATURE_LENGTH, recoverSigner } from "../core/signature.ts";

export const DIGEST_BYTES = 32;

/** count digests (32 bytes each) and count signatures (65 bytes each), packed back to back. */
export interface RecoverRequestMessage {
  id: number;
  count: number;
  digests: ArrayBuffer;
  sigs: ArrayBuffer;
}

/**
 * outcome[i]: the lowercase signer address, or an error. `bad` marks a SignatureError; any
 * other failure is a bug reported as `internal` so the caller is never left waiting.
 */
export type RecoverOutcome = string | { bad: string } | { internal: string };

export interface RecoverResponseMessage {
  id: number;
  outcomes: RecoverOutcome[];
}

export function recoverPacked(msg: RecoverRequestMessage): RecoverResponseMessage {
  const digests = new Uint8Array(msg.digests);
  const sigs = new Uint8Array(msg.sigs);
  const outcomes: RecoverOutcome[] = new Array(msg.count);
  for (let i = 0; i < msg.count; i++) {
    const digest = digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
    const sig = sigs.subarray(i * SIGNATURE_LENGTH, (i + 1) * SIGNATURE_LENGTH);
    try {
      outcomes[i] = recoverSigner(digest, sig);
    } catch (e) {
      outcomes[i] = e instanceof SignatureError ? { bad: e.message } : { internal: e instanceof Error ? e.message : String(e) };
    }
  }
  return { id: msg.id, outcomes };
}

// Only wire up the message handler when running as a worker (tests import recoverPacked).
declare const self: Worker;
if (typeof self !== "undefined" && !Bun.isMainThread) {
  self.onmessage = (event: MessageEvent<RecoverRequestMessage>) => {
    self.postMessage(recoverPacked(event.data));
  };
}
