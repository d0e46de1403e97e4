/**
 * Typed errors of the WASM app host. The split matters to callers:
 * - AppLoadError: the module can never run here (startup error, nothing executed);
 * - AppFatalError: the app failed while executing; no successor state exists and the
 *   instance is dead (SPEC 2.4: "an application error is fatal");
 * - AppSnapshotError: load() refused the bytes; the app state is untouched;
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

export class AppArgumentError extends SequencerError {
  constructor(message: string) {
    super("APP_INVALID_ARGUMENT", message);
  }
}
