import { Counter, CounterFunc, Gauge, Histogram, LATENCY_BUCKETS_S, Registry } from "./metrics.ts";

/** The live values the scrape reads from their owners. */
export interface MetricSources {
  /** The stored L1 heads (the input reader's store), or null before the first sync. */
  l1Heads: () => { safeBlock: number; finalizedBlock: number; safeAdvancedAtMs: number } | null;
  queueDepth: () => number;
  /** Lane transactions committed, and ops answered by them (their ratio is the group size). */
  commits: () => { commits: number; ops: number };
  headOffset: () => number;
  feedSubscribers: () => number;
  ready: () => boolean;
  diverged: () => boolean;
  recovering: () => boolean;
  generation: () => number;
  /** Batches by state (StatusQueries.batchStateCounts). */
  batchStates: () => Record<string, number>;
  l1Latest: () => number | null;
  /** The batch submitter's L1 balance as last read; null before the first read. */
  submitterBalanceWei: () => bigint | null;
  /** The danger gauge; null when no batch is at risk. */
  dangerHeadroom: () => { blocksLeft: number } | null;
  snapshots: () => { count: number; bytes: number; pending: number; leases: number };
  /** Cumulative snapshot seal cost: count, milliseconds on the lane's thread, failed writes. */
  snapshotSeals: () => { count: number; totalMs: number; workerMs: number; failed: number; dumpFailures: number };
  /** The inspect follower's counters (kept by inspect-service.ts); absent when inspect is off. */
  inspect?: () => InspectCounters;
  /** Ops whose signature was recovered on the main thread because they were alone. */
  inlineSignatureChecks?: () => number;
  /** The storage worker's counters (tx index, checkpoints); absent in tools without one. */
  storage?: () => {
    txIndexLag: number;
    checkpoints: number;
    lastCheckpointMs: number;
    walFrames: number;
    catchUps: number;
    lastCatchUpMs: number;
    failures: number;
    restarts: number;
  };
}

/** What the inspect service counts, as the scrape reads it. */
export interface InspectCounters {
  /** Public-port queries taken, and refused with 429. */
  queries: number;
  overloaded: number;
  /** The same on the inspect listener (SEQ_INSPECT_HTTP_ADDR), as the worker last reported. */
  listenerQueries: number;
  listenerOverloaded: number;
  rebuilds: number;
  restarts: number;
  /** Entries the follower has applied (the next offset it expects). */
  head: number;
}

export interface SequencerMetrics {
  registry: Registry;
  txOutcomes: Counter;
  ackLatency: Histogram;
  /** How long each inclusion-lane transaction took, COMMIT (and its fsync) included. */
  laneCommit: Histogram;
  /** Classifies a 422 message into a bounded label set (messages carry numbers). */
  rejectionReason(message: string): string;
}

/** Finer at the low end than LATENCY_BUCKETS_S: a healthy disk commits in well under 1 ms. */
const COMMIT_BUCKETS_S = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The sequencer's metrics (served on the internal listener as `/metrics`). Names are
 * prefixed `seq_`; latencies are in seconds, as Prometheus conventions ask.
 */
export function createSequencerMetrics(src: MetricSources): SequencerMetrics {
  const registry = new Registry();
  const txOutcomes = registry.add(
    new Counter("seq_tx_total", "POST /tx answers by outcome (and, for rejections, reason)"),
  );
  const ackLatency = registry.add(
    new Histogram("seq_tx_ack_seconds", "Time from request to soft confirmation of accepted ops", LATENCY_BUCKETS_S),
  );
  const laneCommit = registry.add(
    new Histogram(
      "seq_lane_commit_seconds",
      "Inclusion-lane transaction time per chunk, COMMIT with its fsync included (synchronous=FULL)",
      COMMIT_BUCKETS_S,
    ),
  );
  registry.add(new Gauge("seq_lane_queue_depth", "Ops admitted and not yet answered", src.queueDepth));
  registry.add(new CounterFunc("seq_lane_commits_total", "Inclusion-lane transactions committed", () => src.commits().commits));
  registry.add(new CounterFunc("seq_lane_committed_ops_total", "Ops answered by those commits", () => src.commits().ops));
  registry.add(new Gauge("seq_l2_head_offset", "Entries in the ordered L2 history", src.headOffset));
  registry.add(new Gauge("seq_feed_subscribers", "Connected WebSocket feed subscribers", src.feedSubscribers));
  registry.add(new Gauge("seq_ready", "1 when POST /tx is accepted, else 0", () => (src.ready() ? 1 : 0)));
  registry.add(new Gauge("seq_recovering", "1 while a liveness recovery runs", () => (src.recovering() ? 1 : 0)));
  registry.add(new Gauge("seq_recovery_generation", "Completed cascades (feed generation)", src.generation));
  registry.add(new Gauge("seq_canonical_divergence", "1 when a canonical divergence is on record", () => (src.diverged() ? 1 : 0)));

  registry.add(new Gauge("seq_l1_safe_block", "L1 safe head as last read", () => src.l1Heads()?.safeBlock ?? 0));
  registry.add(new Gauge("seq_l1_finalized_block", "L1 finalized head as last read", () => src.l1Heads()?.finalizedBlock ?? 0));
  registry.add(
    new Gauge("seq_l1_safe_head_age_seconds", "Wall time since the L1 safe head last advanced", () => {
      const h = src.l1Heads();
      return h ? Math.max(0, (Date.now() - h.safeAdvancedAtMs) / 1000) : 0;
    }),
  );

  registry.add(
    new Gauge("seq_batches", "Batches by state (storage/status-queries.ts batchState)", () =>
      Object.entries(src.batchStates()).map(([state, value]) => ({ labels: { state }, value })),
    ),
  );
  registry.add(new Gauge("seq_l1_latest_block", "L1 latest block as last read (shown only; nothing is decided on it)", () => src.l1Latest() ?? 0));
  registry.add(
    new Gauge("seq_submitter_balance_wei", "The batch submitter's L1 balance as last read (every 15 s)", () => {
      const w = src.submitterBalanceWei();
      return w === null ? [] : [{ value: Number(w) }];
    }),
  );
  registry.add(
    new Gauge("seq_danger_blocks_left", "Blocks before the batch most at risk reaches the danger threshold (absent when none is at risk)", () => {
      const h = src.dangerHeadroom();
      return h ? [{ value: h.blocksLeft }] : [];
    }),
  );
  registry.add(
    new Gauge("seq_snapshots", "Snapshot files by kind (all, pending = newer than the finalized one)", () => {
      const st = src.snapshots();
      return [
        { labels: { kind: "all" }, value: st.count },
        { labels: { kind: "pending" }, value: st.pending },
      ];
    }),
  );
  registry.add(new Gauge("seq_snapshot_bytes", "Bytes held in snapshot files", () => src.snapshots().bytes));
  registry.add(new Gauge("seq_snapshot_leases", "Snapshots held by streaming responses", () => src.snapshots().leases));
  registry.add(new CounterFunc("seq_snapshot_seals_total", "Snapshots written at batch close", () => src.snapshotSeals().count));
  registry.add(
    new CounterFunc("seq_snapshot_seal_seconds_total", "Lane-thread time spent dumping state at batch close", () => src.snapshotSeals().totalMs / 1000),
  );
  registry.add(
    new CounterFunc("seq_snapshot_write_seconds_total", "Storage-worker time spent hashing and writing snapshot files", () => src.snapshotSeals().workerMs / 1000),
  );
  registry.add(new CounterFunc("seq_snapshot_write_failures_total", "Seals whose snapshot file could not be written", () => src.snapshotSeals().failed));
  registry.add(new CounterFunc("seq_snapshot_dump_failures_total", "Seals whose snapshot was skipped because the app could not dump its state", () => src.snapshotSeals().dumpFailures));
  const storage = src.storage;
  if (storage) {
    registry.add(new Gauge("seq_tx_index_lag_ops", "Ops not yet in the tx_hash index (found by a tail scan)", () => storage().txIndexLag));
    registry.add(new CounterFunc("seq_wal_checkpoints_total", "WAL checkpoints run by the storage worker", () => storage().checkpoints));
    registry.add(new Gauge("seq_wal_checkpoint_last_seconds", "Duration of the last WAL checkpoint", () => storage().lastCheckpointMs / 1000));
    registry.add(new Gauge("seq_wal_frames", "Frames (pages) in the WAL at the last checkpoint; stays bounded while the WAL restarts", () => storage().walFrames));
    registry.add(new CounterFunc("seq_wal_catchups_total", "Checkpoints finished on the lane's thread so the WAL can restart", () => storage().catchUps));
    registry.add(new Gauge("seq_wal_catchup_last_seconds", "Lane-thread time of the last such catch-up", () => storage().lastCatchUpMs / 1000));
    registry.add(new CounterFunc("seq_storage_worker_failures_total", "Storage worker task failures and crashes", () => storage().failures));
    registry.add(new CounterFunc("seq_storage_worker_restarts_total", "Storage worker restarts after a crash", () => storage().restarts));
  }
  const inspect = src.inspect;
  if (inspect) {
    const byListener = (pub: number, own: number) => [
      { labels: { listener: "public" }, value: pub },
      { labels: { listener: "inspect" }, value: own },
    ];
    registry.add(
      new CounterFunc("seq_inspect_queries_total", "Inspect queries taken for an answer, by listener (public port, or SEQ_INSPECT_HTTP_ADDR)", () => {
        const s = inspect();
        return byListener(s.queries, s.listenerQueries);
      }),
    );
    registry.add(
      new CounterFunc("seq_inspect_overloaded_total", "Inspect queries refused with 429 (queue full), by listener", () => {
        const s = inspect();
        return byListener(s.overloaded, s.listenerOverloaded);
      }),
    );
    registry.add(new CounterFunc("seq_inspect_follower_restarts_total", "Inspect follower worker restarts after it died", () => inspect().restarts));
    registry.add(new CounterFunc("seq_inspect_follower_rebuilds_total", "Inspect follower rebuilds (a rollback, or an entry that failed there)", () => inspect().rebuilds));
    registry.add(
      new Gauge("seq_inspect_follower_head_offset", "Entries the inspect follower has applied, as it last reported (at most ~1 s old); compare with seq_l2_head_offset", () => inspect().head),
    );
  }
  const inline = src.inlineSignatureChecks;
  if (inline) {
    registry.add(
      new CounterFunc("seq_signature_inline_total", "Ops recovered on the main thread because they arrived alone (no worker hop)", inline),
    );
  }
  registry.add(new Gauge("seq_process_resident_memory_bytes", "Resident set size", () => process.memoryUsage().rss));
  registry.add(
    new Gauge("seq_js_heap_bytes", "Main-thread JavaScript heap (used, total) and memory outside it (external, array buffers)", () => {
      const m = process.memoryUsage();
      return [
        { labels: { kind: "used" }, value: m.heapUsed },
        { labels: { kind: "total" }, value: m.heapTotal },
        { labels: { kind: "external" }, value: m.external },
        { labels: { kind: "array_buffers" }, value: m.arrayBuffers },
      ];
    }),
  );

  return {
    registry,
    txOutcomes,
    ackLatency,
    laneCommit,
    rejectionReason: (m) =>
      m.startsWith("bad nonce")
        ? "bad_nonce"
        : m.startsWith("insufficient balance")
          ? "insufficient_balance"
          : m.startsWith("max_fee")
            ? "fee_cap_below_frame_fee"
            : "app_rejected",
  };
}
