import { SequencerError } from "../core/errors.ts";

/**
 * A snapshot the registry references cannot be used: its file is missing, has the wrong
 * size or hash, or the app refuses it. Startup stops on this rather than silently replaying
 * from genesis (docs/snapshots.md says what an operator does about it).
 */
export class SnapshotError extends SequencerError {
  /** Absolute path of the file concerned. */
  readonly file: string;
  constructor(code: "SNAPSHOT_MISSING" | "SNAPSHOT_CORRUPT" | "SNAPSHOT_INCONSISTENT" | "SNAPSHOT_IO", file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}
