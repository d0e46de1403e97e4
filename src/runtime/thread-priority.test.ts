import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lowerThreadPriority, type PriorityResult } from "./thread-priority.ts";

/** The nice value of one thread of this process, from /proc (field 19 of stat). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

function inWorker(nice: number): Promise<PriorityResult> {
  const w = new Worker(join(import.meta.dir, "..", "..", "test", "support", "thread-priority-worker.ts"));
  return new Promise<PriorityResult>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<PriorityResult>) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage({ nice });
  }).finally(() => setTimeout(() => w.terminate(), 50));
}

describe.skipIf(process.platform !== "linux")("lowerThreadPriority (the inspect follower's thread)", () => {
  test("lowers only the calling thread: the worker is at nice 19, the main thread keeps its own", async () => {
    const mainBefore = niceOf(process.pid);
    const r = await inWorker(19);
    expect(r).toMatchObject({ ok: true, nice: 19 });
    if (!r.ok) return;
    expect(r.tid).not.toBe(process.pid);
    expect(niceOf(r.tid)).toBe(19); // read while the worker lives (terminated 50 ms after its answer)
    expect(niceOf(process.pid)).toBe(mainBefore);
  });

  test("a value outside 0..19 is refused without a call", async () => {
    expect(await lowerThreadPriority(-5)).toEqual({ ok: false, reason: "nice -5 is not an integer in 0..19" });
    expect(await lowerThreadPriority(1.5)).toMatchObject({ ok: false });
  });
});
