/** What the runner hands the load generator, and the JSON lines the generator prints back. */
import type { LatencySummary } from "./stats.ts";

export interface LoadgenConfig {
  url: string;
  chainId: string;
  app: string;
  /** 0x private keys and their lowercase addresses, all funded on L2. */
  senders: { key: string; address: string }[];
  /** Recipient of the transfer ops. */
  transferTo: string;
  warmupOps: number;
  sweep: { concurrency: number[]; opsPerLevel: number };
  openLoop: { rates: number[]; durationS: number; senders: number };
  /** `raw`: pre-built request bytes over pooled keep-alive TCP (lib/http1.ts); `fetch`: Bun's fetch. */
  client: "raw" | "fetch";
}

export interface SweepRow {
  concurrency: number;
  sent: number;
  ok: number;
  errors_by_status: Record<string, number>;
  abandoned: number;
  duration_s: number;
  throughput_ops_s: number;
  ack: LatencySummary;
  feed: LatencySummary;
}

export interface OpenLoopRow {
  target_rate: number;
  duration_s: number;
  scheduled: number;
  sent: number;
  ok: number;
  errors_by_status: Record<string, number>;
  rejections_429: number;
  abandoned: number;
  /** Sends that waited because the same sender still had an op in flight (nonce order). */
  delayed_sends: number;
  achieved_rate: number;
  /** From the scheduled send time (no coordinated omission). */
  ack: LatencySummary;
  /** From the actual send time (service time as the client saw it). */
  service: LatencySummary;
  feed: LatencySummary;
}

export type LoadgenMessage =
  | { type: "log"; msg: string }
  | { type: "phase"; label: string; state: "start" | "end"; ok?: number }
  | { type: "sweep"; row: SweepRow }
  | { type: "open_loop"; row: OpenLoopRow }
  | {
      type: "done";
      knee: { rate: number | null; reason: string };
      feed_overall: LatencySummary;
      feed_closed: string | null;
      signer: string;
      sign_rate_per_s: number;
    };
