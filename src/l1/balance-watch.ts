/**
 * The batch submitter's L1 balance, read every `intervalMs` for operators (a metric and its
 * alert, the dashboard): a wallet that runs dry stops batches from landing, and the sequencer
 * learns of it only when the danger detector fires. Nothing is decided on this value.
 */
import type { PublicClient } from "viem";

export class BalanceWatch {
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The last balance read, in wei; null until the first read succeeds. */
  wei: bigint | null = null;

  constructor(
    private readonly client: PublicClient,
    private readonly address: `0x${string}`,
    private readonly intervalMs = 15_000,
  ) {}

  start(): void {
    const read = () =>
      void this.client.getBalance({ address: this.address }).then(
        (b) => (this.wei = b),
        // A failed read keeps the last value; the L1 view's own staleness alert covers an RPC outage.
        () => {},
      );
    read();
    this.timer ??= setInterval(read, this.intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
