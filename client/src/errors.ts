/**
 * Errors the client throws. Every failure the API answers carries its `code` (the closed set
 * of the API's error codes, see GET /openapi.json), so callers switch on codes, not messages.
 */

/** The API's error codes (SPEC §4, plus NOT_FOUND). */
export type ApiErrorCode =
  | "BAD_REQUEST"
  | "INVALID_SIGNATURE"
  | "PAYLOAD_TOO_LARGE"
  | "EXECUTION_REJECTED"
  | "NOT_FOUND"
  | "OVERLOADED"
  | "UNAVAILABLE"
  | "INTERNAL_ERROR";

/** The sequencer answered with an error: its HTTP status, `code` and `message`. */
export class SequencerApiError extends Error {
  override name = "SequencerApiError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }

  /** Worth retrying later as is: the queue was full, or the sequencer was offline. */
  get retryable(): boolean {
    return this.code === "OVERLOADED" || this.code === "UNAVAILABLE";
  }
}

/** No answer at all: the connection failed, or the answer was not the API's JSON. */
export class SequencerTransportError extends Error {
  override name = "SequencerTransportError";
}

/** A liveness recovery invalidated the op's batch: it will never land. Sign and send it again. */
export class TxInvalidatedError extends Error {
  override name = "TxInvalidatedError";
  constructor(readonly txHash: string) {
    super(`op ${txHash} was invalidated by a liveness recovery; resubmit it`);
  }
}

/** `waitForStatus` gave up. */
export class WaitTimeoutError extends Error {
  override name = "WaitTimeoutError";
  constructor(
    readonly txHash: string,
    readonly target: string,
    readonly lastStatus: string | undefined,
  ) {
    super(`op ${txHash} did not reach ${target} in time (last status: ${lastStatus ?? "none"})`);
  }
}
