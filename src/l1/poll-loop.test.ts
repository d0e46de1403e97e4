import { describe, expect, test } from "bun:test";
import { PollLoop } from "./poll-loop.ts";

describe("PollLoop", () => {
  test("runs steps until stopped, waiting as told after successes and failures", async () => {
    const outcomes: boolean[] = [];
    let n = 0;
    const loop = new PollLoop(
      async () => {
        n++;
        if (n % 2 === 0) throw new Error("even");
      },
      (o) => {
        outcomes.push(o.ok);
        return o.ok ? 5 : 1;
      },
    );
    loop.start();
    loop.start(); // idempotent: still one chain of steps
    await Bun.sleep(60);
    await loop.stop();
    const seen = n;
    expect(seen).toBeGreaterThan(4);
    expect(outcomes.slice(0, 4)).toEqual([true, false, true, false]);
    await Bun.sleep(30);
    expect(n).toBe(seen); // nothing runs after stop
    expect(loop.isRunning).toBe(false);
  });

  test("stop waits for the step in flight", async () => {
    let finished = false;
    const loop = new PollLoop(
      async () => {
        await Bun.sleep(40);
        finished = true;
      },
      () => 1000,
    );
    loop.start();
    await Bun.sleep(5);
    await loop.stop();
    expect(finished).toBe(true);
  });
});
