/**
 * Air-gapped replay verification (SPEC §8): fold raw L1 inputs through the canonical
 * scheduler (core/scheduler.ts) with the WASM app, and compare the result with a feed
 * recording and/or a state file. No network: this module and everything it imports do no
 * I/O besides what the caller passes in (viem is deliberately not imported here).
 */
import { keccak_256 } from "@noble/hashes/sha3";
import { AppDumpError } from "../app/errors.ts";
import { AppHost } from "../app/host.ts";
import { bytesEqual, bytesToHex, type Address } from "../core/bytes.ts";
import { domainSeparator } from "../core/eip712.ts";
import { SequencerError } from "../core/errors.ts";
import { feedMessage, type SequencedTx } from "../core/l2tx.ts";
import { Scheduler, SchedulerFatalError, type ExecutedEntry } from "../core/scheduler.ts";
import type { Recoverer } from "../core/signature.ts";
import { createHash } from "node:crypto";
import { limitsJson } from "../core/execution-limits.ts";
import type { L1InputRecord, ParsedFeed } from "./files.ts";
import type { ResolvedParameters } from "./parameters.ts";
import { VerifyInputError } from "./verify-errors.ts";

export interface VerifyParams {
  /** The app's InputBox inputs from index 0, in L1 order (files.ts parseL1Inputs). */
  inputs: readonly L1InputRecord[];
  chainId: bigint;
  app: Address;
  batchSubmitter: Address;
  /** The app module (the embedded wallet by default). */
  appWasm: Uint8Array;
  /** App configuration besides the fee recipient (which is the batch submitter). */
  etherPortal: Address;
  erc20Portal: Address;
  erc20Token: Address;
  /** The app's own init config (SEQ_APP_CONFIG); empty by default. */
  appConfig?: Uint8Array;
  /** The metering version to fold with (an older export's); the current one by default. */
  meteringVersion?: number;
  feed?: ParsedFeed;
  /** Expected app state bytes (a dump, e.g. GET /finalized_state). */
  state?: Uint8Array;
  /**
   * Where `state` was taken: after this many executed entries (the X-L2-Tx-Index header).
   * Default: at the end of the fold.
   */
  stateL2TxIndex?: number;
  recover?: Recoverer;
  /** The export header's module hash and limits: the fold must run that module, so limits. */
  expectedModuleSha256?: string | null;
  expectedLimits?: Record<string, unknown> | null;
  /** Where the parameters came from, for the report (parameters.ts). */
  provenance?: Pick<ResolvedParameters, "from" | "overrides" | "defaulted">;
}

export type JsonFeedEntry = Record<string, unknown>;

export interface VerifyReport {
  /** True only when nothing diverged and every recorded feed entry was compared. */
  match: boolean;
  /**
   * match; divergence (the fold contradicts the recording, the state file or the export's
   * parameters); incomplete (nothing contradicts, but recorded entries lie beyond what the
   * accepted batches on L1 cover: export again later).
   */
  verdict: "match" | "divergence" | "incomplete";
  executed_input_count: number;
  next_batch_nonce: number;
  /** keccak256 of app.dump() after the last input; null if the app died. */
  state_digest: string | null;
  queued_direct_inputs: number;
  batches: {
    accepted: number;
    rejected: number;
    stale: number;
    malformed: number;
    wrong_nonce: number;
    invalid_structure: number;
  };
  l1_inputs: number;
  last_input_index: number | null;
  last_block_number: number | null;
  direct_inputs: { received: number; executed: number; forced: number; failed: number };
  user_ops: { executed: number; skipped: { bad_signature: number; fee_below_frame: number; app_rejected: number; app_failed: number } };
  app_wasm_keccak256: string;
  app_module_sha256: string;
  parameters: Record<string, unknown>;
  parameters_from?: "export" | "flags";
  overrides?: ResolvedParameters["overrides"];
  defaulted?: string[];
  /** Export parameters the fold cannot honour: another module, other execution limits. */
  parameter_mismatch?: Record<string, { export: unknown; used: unknown }>;
  feed?: { entries: number; compared: number; rollbacks: number };
  pending_feed_entries?: number;
  state_match?: boolean;
  state?: { l2_tx_index: number; expected_digest: string; got_digest: string | null; first_differing_byte?: number; note?: string };
  first_divergence?: {
    offset: number;
    fields: string[];
    expected: JsonFeedEntry | null;
    got: JsonFeedEntry | null;
    /** Why the fold has no entry there, e.g. an op of an accepted batch that it skipped. */
    reason?: string;
  };
  app_fatal?: { input_index: number; message: string };
  /**
   * Why `state_digest` (or the state at `--state-at`) is missing although the app lives: its
   * dump failed (AppDumpError, e.g. memory refused at the cap). The fold itself is unaffected.
   */
  state_dump_error?: string;
}

const digest = (b: Uint8Array): string => bytesToHex(keccak_256(b));

/** Folds the inputs and compares; pure apart from the app's own execution. */
export function verify(p: VerifyParams): VerifyReport {
  if (p.inputs.length > 0 && p.inputs[0]!.inputIndex !== 0) {
    throw new VerifyInputError(
      `the L1 inputs start at index ${p.inputs[0]!.inputIndex}; verification folds from the app's first input (index 0) — export from the InputBox deployment block`,
    );
  }
  const app = AppHost.create(p.appWasm, {
    feeRecipient: p.batchSubmitter,
    etherPortal: p.etherPortal,
    erc20Portal: p.erc20Portal,
    erc20Token: p.erc20Token,
  }, { appConfig: p.appConfig ?? new Uint8Array(0), ...(p.meteringVersion !== undefined ? { meteringVersion: p.meteringVersion } : {}) });
  let dumpError: string | undefined;
  // A dump that fails as a call fails leaves the app as it was: the fold goes on, and the
  // report says why a digest is missing.
  const tryDump = (): Uint8Array | undefined => {
    try {
      return app.dump();
    } catch (e) {
      if (!(e instanceof AppDumpError)) throw e;
      // the class only: the report is a deterministic function of the inputs, engine text is not
      dumpError ??= `the app's dump failed (${e.failure})`;
      return undefined;
    }
  };
  const usedLimits = limitsJson(app.limits);
  const feed = p.feed?.entries;
  let compared = 0;
  let divergence: VerifyReport["first_divergence"];
  const stateAt = p.state !== undefined ? (p.stateL2TxIndex ?? null) : undefined;
  let stateDump: Uint8Array | undefined = stateAt === 0 ? tryDump() : undefined;

  const onExecuted = (e: ExecutedEntry): void => {
    if (feed !== undefined && divergence === undefined) {
      const got = feed[e.offset];
      if (got === undefined) {
        divergence = { offset: e.offset, fields: ["missing"], expected: asJson(e), got: null };
      } else {
        compared++;
        const diff = differingFields(e, got);
        if (diff.length > 0) divergence = { offset: e.offset, fields: diff, expected: asJson(e), got: asJson(got) };
      }
    }
    if (stateAt !== undefined && stateAt !== null && e.offset + 1 === stateAt) stateDump = tryDump();
  };
  const scheduler = new Scheduler({
    app,
    batchSubmitter: p.batchSubmitter,
    domainSeparator: domainSeparator(p.chainId, p.app),
    onExecuted,
    ...(p.recover ? { recover: p.recover } : {}),
  });

  let fatal: VerifyReport["app_fatal"];
  let skipped = 0;
  let firstSkip: string | undefined;
  for (const input of p.inputs) {
    try {
      const outcome = scheduler.processInput({
        sender: input.sender,
        inclusionBlock: BigInt(input.blockNumber),
        payload: input.payload,
        inputIndex: input.inputIndex,
      });
      // Ops of accepted batches that the fold did not execute: an honest sequencer never
      // batches one, and its feed shows each op it batched, so they extend what L1 covers.
      if (outcome.kind === "batch") {
        for (const skip of outcome.skipped) {
          skipped++;
          firstSkip ??= `op ${skip.opIndex} of frame ${skip.frameIndex} of the accepted batch at input ${input.inputIndex} (${skip.reason}: ${skip.detail})`;
        }
      }
    } catch (e) {
      if (!(e instanceof SchedulerFatalError)) throw e;
      fatal = { input_index: e.inputIndex, message: e.message };
      break;
    }
  }

  const c = scheduler.counters();
  const executed = scheduler.executedCount;
  const finalDump = fatal ? null : (tryDump() ?? null);
  const last = p.inputs[p.inputs.length - 1];
  const moduleSha256 = createHash("sha256").update(p.appWasm).digest("hex");
  const report: VerifyReport = {
    match: true,
    verdict: "match",
    executed_input_count: executed,
    next_batch_nonce: Number(scheduler.nextBatchNonce),
    state_digest: finalDump ? digest(finalDump) : null,
    queued_direct_inputs: scheduler.queuedDirectCount,
    batches: {
      accepted: c.batches.accepted,
      rejected: c.batches.malformed + c.batches.wrong_nonce + c.batches.invalid_structure,
      stale: c.batches.stale,
      malformed: c.batches.malformed,
      wrong_nonce: c.batches.wrong_nonce,
      invalid_structure: c.batches.invalid_structure,
    },
    l1_inputs: p.inputs.length,
    last_input_index: last?.inputIndex ?? null,
    last_block_number: last?.blockNumber ?? null,
    direct_inputs: {
      received: c.directInputs,
      executed: c.executedDirectInputs,
      forced: c.forcedDirectInputs,
      failed: c.failedDirectInputs,
    },
    user_ops: { executed: c.executedUserOps, skipped: { ...c.skippedOps } },
    app_wasm_keccak256: digest(p.appWasm),
    app_module_sha256: moduleSha256,
    parameters: {
      chain_id: Number(p.chainId),
      app: p.app,
      batch_submitter: p.batchSubmitter.toLowerCase(),
      ether_portal: p.etherPortal.toLowerCase(),
      erc20_portal: p.erc20Portal.toLowerCase(),
      erc20_token: p.erc20Token.toLowerCase(),
      execution_limits: usedLimits,
      app_config: bytesToHex(p.appConfig ?? new Uint8Array(0)),
    },
    ...(p.provenance
      ? { parameters_from: p.provenance.from, overrides: p.provenance.overrides, defaulted: p.provenance.defaulted }
      : {}),
  };
  const mismatch: NonNullable<VerifyReport["parameter_mismatch"]> = {};
  if (p.expectedModuleSha256 != null && p.expectedModuleSha256 !== moduleSha256) {
    mismatch.app_module_sha256 = { export: p.expectedModuleSha256, used: moduleSha256 };
  }
  if (p.expectedLimits != null && JSON.stringify(p.expectedLimits) !== JSON.stringify(usedLimits)) {
    mismatch.execution_limits = { export: p.expectedLimits, used: usedLimits };
  }
  if (Object.keys(mismatch).length > 0) {
    report.match = false;
    report.verdict = "divergence";
    report.parameter_mismatch = mismatch;
  }

  if (feed !== undefined) {
    report.feed = { entries: feed.length, compared, rollbacks: p.feed!.rollbacks };
    // A recorded entry may be pending only beyond what the accepted batches cover; one
    // inside them that the fold did not reproduce is a divergence.
    const covered = executed + skipped;
    report.pending_feed_entries = Math.max(0, feed.length - covered);
    if (divergence === undefined && feed.length > executed && skipped > 0) {
      divergence = {
        offset: executed,
        fields: ["missing"],
        expected: null,
        got: asJson(feed[executed]!),
        reason: `L1's accepted batches cover ${Math.min(feed.length, covered) - executed} more recorded entries than the fold executed; the first op skipped: ${firstSkip}`,
      };
    }
  }
  if (divergence !== undefined) {
    report.match = false;
    report.verdict = "divergence";
    report.first_divergence = divergence;
  }

  if (p.state !== undefined) {
    const index = p.stateL2TxIndex ?? executed;
    if (p.stateL2TxIndex === undefined) stateDump = finalDump ?? undefined;
    const s: NonNullable<VerifyReport["state"]> = {
      l2_tx_index: index,
      expected_digest: digest(p.state),
      got_digest: stateDump ? digest(stateDump) : null,
    };
    let ok = false;
    if (stateDump === undefined) {
      s.note =
        index > executed
          ? `the fold executed only ${executed} entries; the state file is at ${index}`
          : fatal
            ? "the app died before reaching this point"
            : `the app could not dump its state here: ${dumpError ?? "no dump"}`;
    } else {
      ok = bytesEqual(stateDump, p.state);
      if (!ok) s.first_differing_byte = firstDifference(stateDump, p.state);
    }
    report.state_match = ok;
    report.state = s;
    if (!ok) {
      report.match = false;
      report.verdict = "divergence";
    }
  }

  if (fatal) {
    report.match = false;
    report.verdict = "divergence";
    report.app_fatal = fatal;
  }
  if (dumpError !== undefined) report.state_dump_error = dumpError;
  if (report.verdict === "match" && (report.pending_feed_entries ?? 0) > 0) {
    // Nothing contradicts the recording, but part of it was not checked: never a match.
    report.match = false;
    report.verdict = "incomplete";
  }
  return report;
}

/** The report's JSON line, with the headline fields first. */
export function reportLine(r: VerifyReport): string {
  return JSON.stringify(r);
}

export { VerifyInputError };

// ---- comparison ------------------------------------------------------------------------------

function asJson(e: SequencedTx): JsonFeedEntry {
  return JSON.parse(feedMessage(e)) as JsonFeedEntry;
}

/** Every field of the feed message is compared (kind, offset, sender, fee, data, nonce, tx_hash / block_number, input_index, payload; outputs, failure). */
function differingFields(expected: SequencedTx, got: SequencedTx): string[] {
  if (feedMessage(expected) === feedMessage(got)) return [];
  const a = asJson(expected);
  const b = asJson(got);
  if (a.kind !== b.kind) return ["kind"];
  return Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
