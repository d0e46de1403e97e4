/**
 * When an op may skip the signature worker (SignaturePool.recoverOp's `inline`).
 *
 * An op alone in the system waits for two thread wake-ups on the worker path, which cost more
 * than its ≈ 0.1 ms of recovery: recovering it on the main thread cut the c=1 ack p50 by
 * ≈ 0.18 ms. Under concurrent load the same shortcut hurts: an op that skips the worker
 * reaches the lane alone and commits alone, so the lane makes more, smaller commits (2k/s
 * feed p99 rose from 17–25 to 30–36 ms when every momentarily-alone op took it).
 *
 * So the shortcut needs the op to be alone now and its recent predecessors to have been
 * alone too: a moving average of "another op was in flight when this one arrived" must be
 * low. A sequential client (c=1) or a trickle of ops qualifies. A Poisson stream at
 * hundreds of ops a second does not, even when an op happens to arrive to an empty lane.
 * Scheduling only: nothing here decides what is executed or in which order.
 */
export class InlineSignaturePolicy {
  /** Moving average, in [0, 1], of arrivals that found another op in flight. */
  private contended = 0;

  constructor(
    private readonly weight = 0.05,
    private readonly threshold = 0.05,
  ) {}

  /** @param depth ops admitted and not yet answered, this one included. */
  decide(depth: number): boolean {
    const busy = depth > 1;
    this.contended += ((busy ? 1 : 0) - this.contended) * this.weight;
    return !busy && this.contended < this.threshold;
  }
}
