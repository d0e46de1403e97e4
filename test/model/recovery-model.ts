/**
 * Explicit-state model check of liveness recovery (issue 6 item 8; SPEC §2.4 rules 4/7, §6).
 *
 * This models the DESIGN abstractly, not the code: the sequencer's durable state (batch chain
 * with write-once invalidation stamps, wallet-nonce watermark W, recovery phase marker, the
 * reader's durable view of L1 safe), its volatile state (process up/serving, wall-clock
 * validity, an unpersisted watermark raise in the broken variant), an adversarial L1 mempool,
 * the canonical scheduler's batch-nonce gate and staleness rule, a `safe` head lagging `latest`
 * by 0–1 blocks, and crashes at any step. A breadth-first search enumerates every reachable
 * state under small bounds and checks the invariants on every state and every transition.
 *
 * Invariants (see docs/recovery.md "Model check"):
 *  I1  every batch the scheduler accepted (at latest, hence also at safe) is live in the
 *      sequencer's history, at its nonce: sequencer and L1 agree on the executed prefix, and
 *      the sequencer's accepted count equals the scheduler's next_batch_nonce.
 *  I2a a soft confirmation is never issued into a doomed batch (one that can never be
 *      accepted: any landing would be stale, or an earlier unaccepted live batch is doomed —
 *      nonce poisoning).
 *  I2b when the sequencer comes (back) online — end of a recovery, or a restart — no live
 *      batch holding soft-confirmed ops is doomed or was skipped as stale.
 *  I3  no zombie: a transaction carrying an invalidated batch never lands.
 *
 * Abstractions: one wallet (the submitter's); a batch is (nonce, first-frame safe block,
 * sealed, live, has-ops); ops are a single "has soft-confirmed ops" bit; a block includes up to
 * `maxIncludePerBlock` of our txs; no reorgs of `latest` beyond the safe lag; ages in blocks.
 */

export type ConfirmGuard = "post" | "pre" | "none";

export interface ModelConfig {
  /** Scheduler staleness bound (MAX_WAIT_BLOCKS): stale iff inclusion - firstSafe >= maxWait. */
  maxWait: number;
  /** danger threshold = maxWait - margin. */
  margin: number;
  /** Wallet nonce slots 0..slots-1 (broadcasts at higher nonces are not explored). */
  slots: number;
  /** Live batch nonces 0..maxBatches-1. */
  maxBatches: number;
  /**
   * Time bound: latest - (oldest block the state still refers to) <= maxBlock. States are
   * time-shifted to that origin, so time itself is unbounded.
   */
  maxBlock: number;
  maxIncludePerBlock: number;
  /**
   * Adversarial mempool: every transaction ever signed at a wallet nonce stays includable
   * (a private mempool or builder kept it) until the nonce is consumed, even after it was
   * replaced or evicted from the public pool. false = honest pool (replace/drop is final).
   */
  adversarialMempool: boolean;
  /** The process may crash at any step (volatile state lost, restart runs the startup decision). */
  crashes: boolean;
  /** Wall-clock fallback: the danger estimate of the safe head is at least latest - 1. */
  wallClockFallback: boolean;
  /** The startup decision waits until the reader has observed L1 at least once. */
  startupRequiresSync: boolean;
  /**
   * How the lane gates a confirmation:
   *  post — refuse if the state AFTER the confirmation is in danger (the target counts);
   *  pre  — refuse if the detector's predicate holds BEFORE it (the open batch counts only
   *         when it already has content — the rule as written);
   *  none — no gate; only the asynchronous detector stops confirmations.
   */
  confirmGuard: ConfirmGuard;
  /** The detector counts the open batch even when it has no ops (the issue's wording). */
  dangerCountsEmptyOpen: boolean;
  /** First op into an empty open batch restamps its first frame to the reader's safe block. */
  restampEmptyOpen: boolean;
  /** Broken (a): the flush finishes when pending <= safe count, ignoring the watermark. */
  flushIgnoresWatermark: boolean;
  /** Probe: the flush finishes on safe count >= W alone (drops pending <= safe). */
  flushIgnoresPending: boolean;
  /** Broken (b): the submitter broadcasts first and persists the watermark afterwards. */
  submitterRaisesAfterBroadcast: boolean;
  /** Broken (c): the cascade does not wait for the reader to reach the flush's safe block. */
  cascadeWithoutResync: boolean;
  /**
   * Stop once a violation of each listed invariant has been found (broken variants). Empty:
   * explore everything and keep the first (shortest) counterexample of each invariant.
   */
  stopWhenFound: Invariant[];
  maxStates: number;
}

export const DEFAULT_CONFIG: ModelConfig = {
  maxWait: 4,
  margin: 2,
  slots: 3,
  maxBatches: 3,
  maxBlock: 4,
  maxIncludePerBlock: 2,
  adversarialMempool: true,
  crashes: true,
  wallClockFallback: true,
  startupRequiresSync: true,
  confirmGuard: "post",
  dangerCountsEmptyOpen: false,
  restampEmptyOpen: true,
  flushIgnoresWatermark: false,
  flushIgnoresPending: false,
  submitterRaisesAfterBroadcast: false,
  cascadeWithoutResync: false,
  stopWhenFound: [],
  maxStates: 5_000_000,
};

// ---------------------------------------------------------------------------------------------
// State

interface Batch {
  /** Batch nonce. */
  n: number;
  /** Safe block of its first frame. */
  f: number;
  sealed: boolean;
  /** false once stamped invalidated (write-once). */
  live: boolean;
  /** Holds soft-confirmed ops. */
  ops: boolean;
}

/** Tx codes in mempool slots: 0 = nothing, 1 = no-op self transfer, 2 + r = batch record r. */
const NONE = 0;
const NOOP = 1;
const txOfRecord = (r: number): number => r + 2;

export interface State {
  // --- L1 (latest)
  L: number;
  /** Wallet tx count at latest. */
  wc: number;
  /** Record ids the scheduler accepted, index = batch nonce; length = next_batch_nonce. */
  acc: number[];
  // --- L1 safe view (lags latest by 0–1 blocks); acc is append-only so safe is a prefix.
  sB: number;
  sNext: number;
  sWc: number;
  /** Public mempool: per wallet nonce, the visible pending tx code. */
  pub: number[];
  /** Per wallet nonce, bitmask of every tx code signed there (adversarial inclusion). */
  hid: number[];
  // --- sequencer durable (SQLite)
  b: Batch[];
  W: number;
  /** 0 none, 1 flushing, 2 cascading. */
  phase: number;
  flushSafe: number;
  /** Reader's durable view of L1 safe: block and next_batch_nonce there. */
  seenB: number;
  seenNext: number;
  // --- sequencer volatile
  /** Process has taken its startup decision (serving, or recovering). false = starting. */
  run: boolean;
  /** Wall-clock extrapolation is valid (reader observed L1 since the process started). */
  clock: boolean;
  /** Broken (b): watermark value decided but not yet persisted; -1 none. */
  pRaise: number;
}

export type Invariant = "I1" | "I2a" | "I2b" | "I3";

export interface Violation {
  invariant: Invariant;
  message: string;
  /** Actions from the initial state; the last one is the violating transition (or leads to
   * the violating state). */
  trace: string[];
  /** Compact state after each action (same length as trace). */
  states: string[];
  depth: number;
}

export interface ExploreResult {
  config: ModelConfig;
  states: number;
  transitions: number;
  maxDepth: number;
  ms: number;
  truncated: boolean;
  violations: Violation[];
  /** Transitions explored per kind (`action@phase+detail`), to rule out vacuity. */
  coverage: Record<string, number>;
}

function initialState(cfg: ModelConfig): State {
  return {
    L: 0,
    wc: 0,
    acc: [],
    sB: 0,
    sNext: 0,
    sWc: 0,
    pub: new Array<number>(cfg.slots).fill(NONE),
    hid: new Array<number>(cfg.slots).fill(0),
    b: [{ n: 0, f: 0, sealed: false, live: true, ops: false }],
    W: 0,
    phase: 0,
    flushSafe: 0,
    seenB: 0,
    seenNext: 0,
    run: true,
    clock: true,
    pRaise: -1,
  };
}

function clone(s: State): State {
  return {
    ...s,
    acc: s.acc.slice(),
    pub: s.pub.slice(),
    hid: s.hid.slice(),
    b: s.b.map((x) => ({ ...x })),
  };
}

// ---------------------------------------------------------------------------------------------
// Derived predicates

const at = <T>(xs: readonly T[], i: number): T => {
  const v = xs[i];
  if (v === undefined) throw new Error(`index ${i} out of range`);
  return v;
};

/** Live batches in nonce order (the live chain has exactly one batch per nonce 0..k). */
function liveChain(s: State): Batch[] {
  return s.b.filter((x) => x.live).sort((x, y) => x.n - y.n);
}

function openBatch(s: State): Batch | undefined {
  return s.b.find((x) => x.live && !x.sealed);
}

/** The sequencer's estimate of the current safe head. */
function est(cfg: ModelConfig, s: State): number {
  return cfg.wallClockFallback && s.clock ? Math.max(s.seenB, s.L - 1) : s.seenB;
}

/** The danger detector: first unaccepted sealed live batch, else the open batch if it has ops. */
function danger(cfg: ModelConfig, s: State): boolean {
  const first = liveChain(s).find((x) => x.n >= s.seenNext);
  if (!first) return false;
  if (!first.sealed && !first.ops && !cfg.dangerCountsEmptyOpen) return false;
  return est(cfg, s) - first.f >= cfg.maxWait - cfg.margin;
}

/** A live unaccepted batch no landing can make acceptable (true L1 state). */
function isDoomedSelf(cfg: ModelConfig, s: State, x: Batch): boolean {
  return x.live && x.n >= s.acc.length && s.L + 1 - x.f >= cfg.maxWait;
}

/** Lowest nonce of a doomed live batch (it poisons every later nonce), or Infinity. */
function firstDoomed(cfg: ModelConfig, s: State): number {
  let m = Infinity;
  for (const x of s.b) if (isDoomedSelf(cfg, s, x)) m = Math.min(m, x.n);
  return m;
}

/** Pending count as an Ethereum node reports it: latest count + contiguous pending txs. */
function pendingCount(cfg: ModelConfig, s: State): number {
  let n = s.wc;
  while (n < cfg.slots && at(s.pub, n) !== NONE) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Canonical form: drop invalidated records no transaction refers to, renumber records.

/** Canonical form in place; returns the time shift applied (for absolute block numbers in traces). */
function normalize(s: State): number {
  // Time shift: only differences between block numbers matter, so shift the origin to the
  // oldest block the state still refers to. Invalidated records' blocks no longer matter.
  let shift = Math.min(s.seenB, s.sB);
  for (const x of s.b) if (x.live) shift = Math.min(shift, x.f);
  if (s.phase === 2) shift = Math.min(shift, s.flushSafe);
  if (s.phase !== 2) s.flushSafe = 0;
  if (shift > 0) {
    s.L -= shift;
    s.sB -= shift;
    s.seenB -= shift;
    if (s.phase === 2) s.flushSafe -= shift;
    // an invalidated record's age only matters if it lands (a zombie is reported regardless)
    for (const x of s.b) x.f = x.live ? x.f - shift : Math.max(x.f - shift, -9);
  }
  const applied = Math.max(shift, 0);
  const referenced = new Set<number>();
  for (const r of s.acc) referenced.add(r);
  for (let n = 0; n < s.pub.length; n++) {
    const p = at(s.pub, n);
    if (p >= 2) referenced.add(p - 2);
    const h = at(s.hid, n);
    for (let c = 2; h >> c; c++) if ((h >> c) & 1) referenced.add(c - 2);
  }
  const keep: number[] = [];
  s.b.forEach((x, i) => {
    if (x.live || referenced.has(i)) keep.push(i);
  });
  keep.sort((i, j) => {
    const x = at(s.b, i);
    const y = at(s.b, j);
    if (x.live !== y.live) return x.live ? -1 : 1;
    return x.n - y.n || x.f - y.f || Number(x.sealed) - Number(y.sealed) || Number(x.ops) - Number(y.ops);
  });
  const map = new Map<number, number>();
  keep.forEach((old, i) => map.set(old, i));
  const m = (r: number): number => {
    const v = map.get(r);
    if (v === undefined) throw new Error("dangling record");
    return v;
  };
  s.b = keep.map((i) => at(s.b, i));
  s.acc = s.acc.map(m);
  s.pub = s.pub.map((p) => (p >= 2 ? txOfRecord(m(p - 2)) : p));
  s.hid = s.hid.map((h) => {
    let out = h & 3;
    for (let c = 2; h >> c; c++) if ((h >> c) & 1) out |= 1 << txOfRecord(m(c - 2));
    return out;
  });
  return applied;
}

export function encode(s: State): string {
  const b = s.b
    .map((x) => `${x.n}${x.f}${x.sealed ? "S" : "o"}${x.live ? "" : "x"}${x.ops ? "+" : ""}`)
    .join(",");
  return [
    s.L,
    s.wc,
    s.acc.join(""),
    s.sB,
    s.sNext,
    s.sWc,
    s.pub.join(""),
    s.hid.join("."),
    b,
    s.W,
    s.phase,
    s.phase === 2 ? s.flushSafe : "",
    s.seenB,
    s.seenNext,
    s.run ? "R" : "s",
    s.clock ? "c" : "",
    s.pRaise,
  ].join("|");
}

/** Human-readable compact state for traces. */
export function describe(s: State, off = 0): string {
  const tx = (c: number): string => (c === NONE ? "-" : c === NOOP ? "noop" : `r${c - 2}`);
  const batches = s.b
    .map((x, i) => `r${i}:#${x.n}@b${x.f + off}${x.sealed ? "S" : "open"}${x.live ? "" : "X"}${x.ops ? "+ops" : ""}`)
    .join(" ");
  const pub = s.pub.map((c, n) => `${n}:${tx(c)}`).join(" ");
  const hid = s.hid
    .map((h, n) => {
      const cs: string[] = [];
      for (let c = 1; h >> c; c++) if ((h >> c) & 1) cs.push(tx(c));
      return cs.length ? `${n}:{${cs.join(",")}}` : "";
    })
    .filter(Boolean)
    .join(" ");
  const phase = ["none", "flushing", "cascading"][s.phase] ?? "?";
  return (
    `L=b${s.L + off} wc=${s.wc} next=${s.acc.length}[${s.acc.map((r) => `r${r}`).join(",")}] ` +
    `safe=(b${s.sB + off} next${s.sNext} wc${s.sWc}) mempool{${pub}}${hid ? ` signed{${hid}}` : ""} | ` +
    `${batches} | W=${s.W}${s.pRaise >= 0 ? ` unpersistedW=${s.pRaise}` : ""} phase=${phase}` +
    `${s.phase === 2 ? `(flushSafe=b${s.flushSafe + off})` : ""} seen=(b${s.seenB + off} next${s.seenNext}) ` +
    `${s.run ? (s.phase === 0 ? "ONLINE" : "recovering") : "starting"}${s.clock ? "" : " noclock"}`
  );
}

// ---------------------------------------------------------------------------------------------
// Transitions

interface Step {
  label: string;
  next: State;
  /** A violation detected on the transition itself. */
  bad?: { invariant: Invariant; message: string };
}

function checkOnline(cfg: ModelConfig, s: State): Step["bad"] {
  // I2b: coming online with a doomed (or stale-skipped, which implies doomed) batch with ops.
  const fd = firstDoomed(cfg, s);
  const victim = s.b.find((x) => x.live && x.ops && x.n >= fd);
  if (victim) return { invariant: "I2b", message: `came online with soft-confirmed ops in doomed batch #${victim.n}` };
  return undefined;
}

function successors(cfg: ModelConfig, s: State, off = 0): Step[] {
  const out: Step[] = [];
  const TH = cfg.maxWait - cfg.margin;
  const online = s.run && s.phase === 0;

  // ---------------- L1: mine a block including k of our txs (k = 0..max) at wallet count.
  if (s.L < cfg.maxBlock) {
    const mine = (cur: State, k: number, picked: string[], zombie: string | undefined): void => {
      // finish the block: advance, then choose the safe head (lags <= 1 block)
      const finish = (): void => {
        const old = { B: s.L, next: s.acc.length, wc: s.wc };
        const a = clone(cur);
        a.L = s.L + 1;
        a.sB = a.L;
        a.sNext = a.acc.length;
        a.sWc = a.wc;
        const label = `mine b${a.L + off} [${picked.join(" ") || "empty"}]`;
        const bad = zombie ? { invariant: "I3" as const, message: zombie } : undefined;
        out.push({ label: `${label} safe=b${a.L + off}`, next: a, bad });
        const c = clone(cur);
        c.L = s.L + 1;
        c.sB = old.B;
        c.sNext = old.next;
        c.sWc = old.wc;
        out.push({ label: `${label} safe=b${old.B + off}`, next: c, bad });
      };
      finish();
      if (k >= cfg.maxIncludePerBlock || cur.wc >= cfg.slots) return;
      const n = cur.wc;
      const cands: number[] = [];
      if (cfg.adversarialMempool) {
        const h = at(cur.hid, n) | (at(cur.pub, n) !== NONE ? 1 << at(cur.pub, n) : 0);
        for (let c = 1; h >> c; c++) if ((h >> c) & 1) cands.push(c);
      } else if (at(cur.pub, n) !== NONE) cands.push(at(cur.pub, n));
      for (const c of cands) {
        const t = clone(cur);
        t.wc++;
        t.pub[n] = NONE;
        t.hid[n] = 0;
        let what = `n${n}:noop`;
        let z = zombie;
        if (c >= 2) {
          const r = c - 2;
          const x = at(t.b, r);
          const tag = x.live ? "" : "(INVALIDATED)";
          const incl = s.L + 1;
          if (!x.live) z ??= `zombie: invalidated batch record r${r} (#${x.n}) landed at wallet nonce ${n}`;
          if (x.n === t.acc.length && incl - x.f < cfg.maxWait) {
            t.acc.push(r);
            what = `n${n}:r${r}#${x.n}${tag} ACCEPTED`;
          } else if (x.n === t.acc.length) what = `n${n}:r${r}#${x.n}${tag} STALE-skipped`;
          else what = `n${n}:r${r}#${x.n}${tag} rejected(nonce)`;
        }
        mine(t, k + 1, [...picked, what], z);
      }
    };
    mine(s, 0, [], undefined);
  }

  // ---------------- L1: safe catches up
  if (s.sB < s.L) {
    const a = clone(s);
    a.sB = s.L;
    a.sNext = s.acc.length;
    a.sWc = s.wc;
    out.push({ label: `safe->b${s.L + off}`, next: a });
  }

  // ---------------- L1: evict a pending tx from the public pool
  for (let n = 0; n < cfg.slots; n++) {
    if (at(s.pub, n) === NONE) continue;
    const a = clone(s);
    a.pub[n] = NONE;
    out.push({ label: `evict n${n}`, next: a });
  }

  // ---------------- Reader observes L1 safe (durable progress; validates wall clock)
  if (s.seenB !== s.sB || s.seenNext !== s.sNext || !s.clock) {
    const a = clone(s);
    a.seenB = s.sB;
    a.seenNext = s.sNext;
    a.clock = true;
    out.push({ label: `reader sync safe=b${s.sB + off} next=${s.sNext}`, next: a });
  }

  // ---------------- Crash: volatile state lost; process restarts and must decide again
  if (cfg.crashes && (s.run || s.clock || s.pRaise >= 0)) {
    const a = clone(s);
    a.run = false;
    a.clock = false;
    a.pRaise = -1;
    out.push({ label: "CRASH", next: a });
  }

  // ---------------- Startup decision (same procedure as at runtime)
  if (!s.run && (!cfg.startupRequiresSync || s.clock)) {
    const a = clone(s);
    a.run = true;
    if (a.phase === 0 && danger(cfg, a)) {
      a.phase = 1;
      out.push({ label: "startup: danger -> offline, flushing", next: a });
    } else if (a.phase === 0) {
      out.push({ label: "startup: online", next: a, bad: checkOnline(cfg, a) });
    } else out.push({ label: `startup: resume ${a.phase === 1 ? "flush" : "cascade"}`, next: a });
  }

  // ---------------- Lane: confirm an op into the open batch
  if (online) {
    const ob = openBatch(s);
    if (ob) {
      const a = clone(s);
      const t = openBatch(a);
      if (!t) throw new Error("no open batch");
      let label = `confirm op into #${t.n}`;
      if (!t.ops && cfg.restampEmptyOpen && t.f !== a.seenB) {
        t.f = a.seenB;
        label += ` (restamp first frame b${a.seenB + off})`;
      }
      t.ops = true;
      const allowed =
        cfg.confirmGuard === "none" ||
        (cfg.confirmGuard === "pre" && !danger(cfg, s)) ||
        (cfg.confirmGuard === "post" && !danger(cfg, a));
      if (allowed) {
        const fd = firstDoomed(cfg, a);
        const bad =
          t.n >= fd
            ? {
                invariant: "I2a" as const,
                message: `soft-confirmed an op into batch #${t.n} which can never be accepted (first doomed #${fd})`,
              }
            : undefined;
        out.push({ label, next: a, bad });
      }
    }
    // ---------------- Lane: seal the open batch (it has ops), open the next
    if (ob && ob.ops && ob.n + 1 < cfg.maxBatches) {
      const a = clone(s);
      const t = openBatch(a);
      if (!t) throw new Error("no open batch");
      t.sealed = true;
      a.b.push({ n: t.n + 1, f: a.seenB, sealed: false, live: true, ops: false });
      out.push({ label: `seal #${t.n}, open #${t.n + 1}@b${a.seenB + off}`, next: a });
    }
    // ---------------- Submitter: post the i-th unaccepted sealed live batch at wc + i
    if (s.pRaise < 0) {
      const todo = liveChain(s).filter((x) => x.sealed && x.n >= s.seenNext);
      todo.forEach((x, i) => {
        const n = s.wc + i;
        if (n >= cfg.slots) return;
        const r = s.b.indexOf(x);
        const tx = txOfRecord(r);
        if (at(s.pub, n) === tx) return;
        const a = clone(s);
        if (cfg.submitterRaisesAfterBroadcast) {
          if (n >= a.W) a.pRaise = n + 1;
        } else if (n >= a.W) a.W = n + 1;
        a.pub[n] = tx;
        if (cfg.adversarialMempool) a.hid[n] = at(a.hid, n) | (1 << tx);
        out.push({ label: `submit r${r}#${x.n} at n${n}${n >= s.W ? ` (W->${n + 1}${cfg.submitterRaisesAfterBroadcast ? " later" : ""})` : ""}`, next: a });
      });
    }
    // ---------------- Detector
    if (s.pRaise < 0 && danger(cfg, s)) {
      const a = clone(s);
      a.phase = 1;
      out.push({ label: "DANGER -> offline, flushing", next: a });
    }
  }
  // ---------------- Broken (b): persist the watermark after the broadcast
  if (s.run && s.pRaise >= 0) {
    const a = clone(s);
    a.W = Math.max(a.W, a.pRaise);
    a.pRaise = -1;
    out.push({ label: `persist W=${a.W}`, next: a });
  }

  // ---------------- Flush
  if (s.run && s.phase === 1) {
    const cp = pendingCount(cfg, s);
    const hi = Math.max(cp, s.W);
    for (let n = s.wc; n < hi; n++) {
      if (at(s.pub, n) === NOOP) continue;
      const a = clone(s);
      if (n >= a.W) a.W = n + 1;
      a.pub[n] = NOOP;
      if (cfg.adversarialMempool) a.hid[n] = at(a.hid, n) | (1 << NOOP);
      out.push({ label: `flush noop at n${n}`, next: a });
    }
    if ((cfg.flushIgnoresPending || cp <= s.sWc) && (cfg.flushIgnoresWatermark || s.sWc >= s.W)) {
      const a = clone(s);
      a.phase = 2;
      a.flushSafe = s.sB;
      out.push({ label: `flush done (pending=${cp} safe=${s.sWc} W=${s.W}) flushSafe=b${s.sB + off}`, next: a });
    }
  }

  // ---------------- Cascade (one atomic SQLite transaction), then back online
  if (s.run && s.phase === 2 && (cfg.cascadeWithoutResync || s.seenB >= s.flushSafe)) {
    const a = clone(s);
    const N = a.seenNext;
    const first = liveChain(a).find((x) => x.n >= N);
    let label: string;
    if (first && est(cfg, a) - first.f >= TH) {
      for (const x of a.b) if (x.live && x.n >= N) x.live = false;
      a.b.push({ n: N, f: a.seenB, sealed: false, live: true, ops: false });
      label = `CASCADE N=${N}: invalidate #${N}.., reopen #${N}@b${a.seenB + off}, online`;
    } else label = `cascade N=${N}: nothing doomed, online`;
    a.phase = 0;
    out.push({ label, next: a, bad: checkOnline(cfg, a) });
  }
  return out;
}

/** Invariants on states. */
function checkState(s: State): Step["bad"] {
  for (let i = 0; i < s.acc.length; i++) {
    const x = at(s.b, at(s.acc, i));
    if (!x.live) return { invariant: "I1", message: `scheduler executed batch #${i} (r${at(s.acc, i)}) which the sequencer invalidated` };
    if (x.n !== i) return { invariant: "I1", message: `accepted batch at nonce ${i} has nonce ${x.n}` };
  }
  const chain = liveChain(s);
  for (let i = 0; i < chain.length; i++)
    if (at(chain, i).n !== i) return { invariant: "I1", message: "live chain is not contiguous" };
  const counted = chain.filter((x) => x.n < s.seenNext && s.acc[x.n] === s.b.indexOf(x)).length;
  if (counted !== s.seenNext)
    return { invariant: "I1", message: `sequencer counts ${counted} accepted, scheduler next=${s.seenNext} at the reader's block` };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Explorer

/** Coverage bucket of a transition (to show the interesting paths are actually reached). */
function coverageKind(s: State, label: string): string {
  const phase = ["", "@flushing", "@cascading"][s.phase] ?? "";
  const first = (label.startsWith("flush ") ? label.split(" ").slice(0, 2).join(" ") : (label.split(" ")[0] ?? label)).replace(/->b\d+/, "");
  let k = `${first}${s.run ? phase : "@starting"}`;
  if (label.includes("STALE")) k += "+stale";
  if (label.includes("ACCEPTED")) k += "+accepted";
  if (label.startsWith("flush noop") && s.pub.some((c) => c >= 2)) k += "+over-batch";
  return k;
}

export function explore(partial: Partial<ModelConfig> = {}): ExploreResult {
  const cfg: ModelConfig = { ...DEFAULT_CONFIG, ...partial };
  const t0 = performance.now();
  const init = initialState(cfg);
  normalize(init);
  const k0 = encode(init);
  // parent links (key -> parent key) for counterexample reconstruction by replay
  const parent = new Map<string, string | null>();
  parent.set(k0, null);
  let frontier: State[] = [init];
  let frontierKeys: string[] = [k0];
  let transitions = 0;
  let maxDepth = 0;
  let truncated = false;
  const violations: Violation[] = [];
  const found = new Set<Invariant>();
  const coverage: Record<string, number> = {};

  /** Replays from the initial state along the parent chain (and optionally one more labelled
   * step) to rebuild readable states with absolute block numbers. */
  const traceTo = (key: string, lastLabel?: string): { trace: string[]; states: string[] } => {
    const keys: string[] = [];
    for (let k: string | null = key; k !== null && k !== k0; k = parent.get(k) ?? null) keys.push(k);
    keys.reverse();
    const trace: string[] = [];
    const states: string[] = [];
    let cur = init;
    let off = 0;
    const advance = (pick: (st: Step, ns: State) => boolean): void => {
      for (const st of successors(cfg, cur, off)) {
        const ns = clone(st.next);
        const shift = normalize(ns);
        if (!pick(st, ns)) continue;
        off += shift;
        trace.push(st.label);
        states.push(describe(ns, off));
        cur = ns;
        return;
      }
      throw new Error("trace replay failed");
    };
    for (const want of keys) advance((_st, ns) => encode(ns) === want);
    if (lastLabel !== undefined) {
      const j = successors(cfg, cur, 0).findIndex((st) => st.label === lastLabel);
      let idx = 0;
      advance(() => idx++ === j);
    }
    return { trace, states };
  };
  const record = (inv: Invariant, message: string, key: string, depth: number, lastLabel?: string): boolean => {
    if (!found.has(inv)) {
      found.add(inv);
      violations.push({ invariant: inv, message, depth, ...traceTo(key, lastLabel) });
    }
    return cfg.stopWhenFound.length > 0 && cfg.stopWhenFound.every((i) => found.has(i));
  };

  let depth = 0;
  let stop = false;
  while (frontier.length > 0 && !stop) {
    const nextFrontier: State[] = [];
    const nextKeys: string[] = [];
    for (let i = 0; i < frontier.length && !stop; i++) {
      const s = at(frontier, i);
      const key = at(frontierKeys, i);
      for (const step of successors(cfg, s)) {
        transitions++;
        const ns = step.next;
        normalize(ns);
        if (step.bad && !found.has(step.bad.invariant)) {
          if (record(step.bad.invariant, step.bad.message, key, depth + 1, step.label)) {
            stop = true;
            break;
          }
        }
        const kind = coverageKind(s, step.label);
        coverage[kind] = (coverage[kind] ?? 0) + 1;
        const nk = encode(ns);
        if (parent.has(nk)) continue;
        parent.set(nk, key);
        const bad = checkState(ns);
        if (bad && record(bad.invariant, bad.message, nk, depth + 1)) {
          stop = true;
          break;
        }
        nextFrontier.push(ns);
        nextKeys.push(nk);
        if (parent.size >= cfg.maxStates) {
          truncated = true;
          stop = true;
          break;
        }
      }
    }
    if (nextFrontier.length > 0) maxDepth = depth + 1;
    depth++;
    frontier = nextFrontier;
    frontierKeys = nextKeys;
  }
  return {
    config: cfg,
    states: parent.size,
    transitions,
    maxDepth,
    ms: Math.round(performance.now() - t0),
    truncated,
    violations,
    coverage,
  };
}

export function formatViolation(v: Violation): string {
  const lines = [`${v.invariant} violated at depth ${v.depth}: ${v.message}`];
  v.trace.forEach((a, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${a}\n        ${v.states[i] ?? ""}`));
  return lines.join("\n");
}

if (import.meta.main) {
  const variant = process.argv[2] ?? "correct";
  const over = process.argv[3] ? (JSON.parse(process.argv[3]) as Partial<ModelConfig>) : {};
  const variants: Record<string, Partial<ModelConfig>> = {
    correct: {},
    "flush-ignores-watermark": { flushIgnoresWatermark: true, stopWhenFound: ["I3"] },
    "raise-after-broadcast": { submitterRaisesAfterBroadcast: true, stopWhenFound: ["I3"] },
    "cascade-without-resync": { cascadeWithoutResync: true, stopWhenFound: ["I1"] },
    "confirm-guard-pre": { confirmGuard: "pre", restampEmptyOpen: false, stopWhenFound: ["I2a"] },
    "startup-without-sync": { startupRequiresSync: false, stopWhenFound: ["I2a"] },
    "no-wall-clock": { wallClockFallback: false, stopWhenFound: ["I2a"] },
    "honest-mempool": { adversarialMempool: false },
    "confirm-guard-none": { confirmGuard: "none", stopWhenFound: ["I2a"] },
    "pre-guard-counting-empty-open": { confirmGuard: "pre", restampEmptyOpen: false, dangerCountsEmptyOpen: true },
    "flush-ignores-pending": { flushIgnoresPending: true },
  };
  const r = explore({ ...(variants[variant] ?? {}), ...over });
  console.log(`${variant}: states=${r.states} transitions=${r.transitions} maxDepth=${r.maxDepth} ${r.ms}ms${r.truncated ? " TRUNCATED" : ""}`);
  for (const v of r.violations) console.log(formatViolation(v));
  if (process.env.COVERAGE) console.log(r.coverage);
}
