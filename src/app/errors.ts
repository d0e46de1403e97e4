/**
 * Typed errors of the WASM app host. The split matters to callers:
 * - AppLoadError: the module can never run here (startup error, nothing executed);
 * - AppFatalError: the app failed while executing; no successor state exists and the
 *   instance is dead (SPEC 2.4: "an application error is fatal");
 * - AppSnapshotError: load() refused the bytes; the app state is untouched;
 * - AppDumpError: dump() failed (a trap: its memory refused at the cap, for example); the
 *   instance was put back as it was and lives on, only this dump is missing;
 * - AppArgumentError: the caller broke the host API contract before anything ran; the
 *   instance is still usable.
 */
import { SequencerError } from "../core/errors.ts";

export class AppLoadError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("APP_LOAD_ERROR", message, options);
  }
}

/**
 * The app refused its own config (SEQ_APP_CONFIG): the SDK's init says "app config refused:
 * <reason>" when `configure` returns one. An operator error, named as such at startup.
 */
export class AppConfigRefusedError extends AppLoadError {}

export class AppFatalError extends SequencerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("APP_FATAL", message, options);
  }
}

export class AppSnapshotError extends SequencerError {
  /** The module's non-zero load() result. */
  readonly appCode: number;
  constructor(appCode: number, message: string) {
    super("APP_SNAPSHOT_INVALID", message);
    this.appCode = appCode;
  }
}

/**
 * dump() failed as a call fails (SPEC 2.8: a trap, fuel, depth, memory refused at the cap).
 * The app is put back exactly as it was before the call and keeps running; what is lost is
 * this one dump. A state can outgrow what its dump needs (the wallet: deposits succeed to
 * ~126k accounts, its dump fails from ~60k), so this must not kill the lane at a batch seal.
 */
export class AppDumpError extends SequencerError {
  /** The failure class (fuel, depth, memory, trap, import, result). */
  readonly failure: string;
  constructor(failure: string, message: string, options?: { cause?: unknown }) {
    super("APP_DUMP_FAILED", message, options);
    this.failure = failure;
  }
}

export class AppArgumentError extends SequencerError {
  constructor(message: string) {
    super("APP_INVALID_ARGUMENT", message);
  }
}
