import { SequencerError } from "../core/errors.ts";

/** The inputs cannot be verified as given (e.g. they do not start at index 0). */
export class VerifyInputError extends SequencerError {
  constructor(message: string) {
    super("VERIFY_INPUT_ERROR", message);
  }
}
