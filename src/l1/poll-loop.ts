/**
 * The run-until-stopped mechanics shared by the L1 workers (input reader, batch submitter):
 * run one step, wait, run again; `stop` cancels the wait and lets a step in flight finish.
 * What a step does, and how long to wait after a success or a failure, is the worker's.
 */
export class PollLoop {
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly step: () => Promise<unknown>,
    /** Milliseconds to wait before the next step, given how this one ended. */
    private readonly delayAfter: (outcome: { ok: true } | { ok: false; error: unknown }) => number,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight?.catch(() => {});
  }

  private run(): void {
    if (!this.running) return;
    this.inFlight = this.step().then(
      () => this.schedule(this.delayAfter({ ok: true })),
      (error: unknown) => this.schedule(this.delayAfter({ ok: false, error })),
    );
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => this.run(), ms);
  }
}
