/**
 * Typed errors of the protocol core that are not decode or signature failures. They live
 * here (not in errors.ts, which is shared) but extend the same SequencerError base.
 */
import { SequencerError } from "./errors.ts";

/** A value that cannot be put on the wire: out-of-range integer, list over its SSZ limit. */
export class EncodeError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ENCODE_ERROR", message, options);
  }
}

/** A fee exponent that is not an integer in [0, MAX_FEE_EXPONENT]. */
export class InvalidFeeError extends SequencerError {
  constructor(message: string) {
    super("INVALID_FEE", message);
  }
}
