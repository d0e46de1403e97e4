/**
 * How to read an L1 node's refusal of a broadcast. The batch submitter and the recovery
 * flusher both send transactions from the same wallet and must read these answers alike.
 */

/** The node already holds this exact transaction. */
export const ALREADY_HELD = /already known|already imported|known transaction/i;
/** A transaction at that nonce is held with fees we did not beat by enough. */
export const UNDERPRICED = /underpriced/i;
/** The nonce is consumed: the chain moved under us. */
export const NONCE_USED = /nonce too low|nonce has already been used/i;

/** Any of the above: not a failure, a reason to look again next round. */
export function isBenignBroadcastAnswer(text: string): boolean {
  return ALREADY_HELD.test(text) || UNDERPRICED.test(text) || NONCE_USED.test(text);
}

/** The node's message, through viem's error wrappers (details first, then messages). */
export function nodeMessage(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e; cur && typeof cur === "object" && parts.length < 5; cur = (cur as { cause?: unknown }).cause) {
    const m = (cur as { details?: unknown; message?: unknown }).details ?? (cur as { message?: unknown }).message;
    if (typeof m === "string") parts.push(m);
  }
  return parts.join(" | ");
}
