/**
 * The single error hierarchy of the project. Every module defines its typed errors by
 * extending `SequencerError`, so callers can branch on `instanceof` or on the stable `code`.
 */
export class SequencerError extends Error {
  /** Stable machine-readable identifier; never changes once released. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bytes that do not decode under the protocol's codecs (SSZ, hex, lengths). */
export class DecodeError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DECODE_ERROR", message, options);
  }
}

/** A signature that cannot be parsed or recovered, or whose signer is not the claimed one. */
export class SignatureError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_SIGNATURE", message, options);
  }
}

/** A configuration value that is missing or malformed; `variable` names the culprit. */
export class ConfigError extends SequencerError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super("CONFIG_ERROR", `${variable}: ${message}`);
    this.variable = variable;
  }
}
