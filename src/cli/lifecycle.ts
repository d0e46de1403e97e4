import { ConfigError, SequencerError } from "../core/errors.ts";
import { errorFields, type Logger } from "../observability/log.ts";
import { InstanceMismatchError } from "../storage/db.ts";
import { EXIT } from "./exit-codes.ts";
import type { RunningSequencer } from "./run.ts";

export { EXIT };

/**
 * Installed first thing at startup, so a SIGTERM that arrives while the sequencer is still
 * starting is not lost: startup finishes (or fails) and the process then stops cleanly.
 */
export function stopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

/** Waits for SIGINT/SIGTERM (clean stop, exit 0) or a fatal lane or recovery error (exit 70). */
export async function untilStopped(
  seq: RunningSequencer,
  log: Logger,
  signal: Promise<string>,
  extra?: () => Promise<void>,
): Promise<number> {
  const outcome = await Promise.race([signal.then((s) => ({ signal: s })), seq.fatal.then((e) => ({ fatal: e }))]);
  if ("signal" in outcome) log.info("stopping", { signal: outcome.signal });
  await seq.stop();
  await extra?.();
  if ("fatal" in outcome) {
    log.error("stopped after a fatal error; a restart rebuilds the state from SQLite", errorFields(outcome.fatal));
    return EXIT.LANE_FATAL;
  }
  log.info("stopped");
  return EXIT.OK;
}

export function reportFatal(e: unknown, log: Logger): number {
  if (e instanceof ConfigError || e instanceof InstanceMismatchError) {
    // One line naming the variable, as operators expect from a misconfiguration.
    process.stderr.write(`configuration error: ${e.message}\n`);
    return EXIT.CONFIG;
  }
  log.error("fatal error", {
    ...errorFields(e),
    ...(e instanceof SequencerError ? { code: e.code } : {}),
  });
  return EXIT.FAILURE;
}

