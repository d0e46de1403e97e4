/**
 * What the startup phases share: the shutdown stack, the fatal signal, and the few parts
 * that a phase creates and an earlier phase's callbacks must reach (the input reader tells
 * the lane about a new safe head; a divergence stops the submitter).
 */
import type { SequencerError } from "../../core/errors.ts";
import type { InclusionLane } from "../../ingress/lane.ts";
import type { BatchSubmitter } from "../../l1/submitter.ts";
import { errorFields, type Logger } from "../../observability/log.ts";
import type { Histogram } from "../../observability/metrics.ts";
import type { RecoveryController } from "../../recovery/controller.ts";

export class Lifecycle {
  private readonly stack: (() => Promise<void> | void)[] = [];
  readonly fatal: Promise<SequencerError>;
  private resolveFatal!: (e: SequencerError) => void;

  constructor(private readonly log: Logger) {
    this.fatal = new Promise<SequencerError>((r) => (this.resolveFatal = r));
  }

  /** Runs `f` at shutdown, after everything registered later (reverse order). */
  defer(f: () => Promise<void> | void): void {
    this.stack.push(f);
  }

  /** The sequencer must stop: `run` turns this into an exit code. */
  fail(e: SequencerError): void {
    this.resolveFatal(e);
  }

  /** Runs the deferred steps, newest first; one failing step does not stop the others. */
  async shutdown(): Promise<void> {
    for (const f of this.stack.splice(0).reverse()) {
      try {
        await f();
      } catch (e) {
        this.log.warn("error during shutdown", errorFields(e));
      }
    }
  }
}

/** Set as the phases create them; read by callbacks of earlier phases. */
export interface LiveParts {
  lane: InclusionLane | null;
  batchSubmitter: BatchSubmitter | null;
  recovery: RecoveryController | null;
  /** A canonical divergence on record: the sequencer refuses to serve. */
  divergenceReason: string | null;
  /** The liveness-recovery startup decision has been taken. */
  decided: boolean;
  shuttingDown: boolean;
  /** The lane's commit-time histogram, once the metrics exist (nothing commits before). */
  laneCommitSeconds: Histogram | null;
}

export function newLiveParts(divergenceReason: string | null): LiveParts {
  return { lane: null, batchSubmitter: null, recovery: null, divergenceReason, decided: false, shuttingDown: false, laneCommitSeconds: null };
}

/** Why `POST /tx` and `/readyz` answer 503 now, or null when the sequencer serves. */
export function unavailableReason(p: LiveParts): string | null {
  if (p.shuttingDown) return "shutting down";
  if (!p.decided) return "starting";
  return p.divergenceReason ?? p.recovery?.unavailableReason ?? (p.lane && !p.lane.isHealthy ? "inclusion lane failed" : null);
}
