/**
 * Lowers the scheduling priority (nice) of the calling thread, on Linux through libc's
 * `gettid` and `setpriority` (a thread is a schedulable task there, with its own nice value).
 *
 * Why: the inspect follower answers reads on a worker thread. On a small machine its CPU
 * competes with the lane's main thread, and a read must never delay a write's
 * acknowledgement. At nice 19 the kernel's fair scheduler gives the thread ~1/70 of the
 * weight of a nice-0 thread, so a waking main thread preempts it at once; when the machine
 * is otherwise idle the follower still gets a whole core.
 *
 * Best effort: on another OS, without glibc's libc.so.6, or if the call fails, the thread
 * keeps its priority and the reason is returned for the log.
 */
export type PriorityResult = { ok: true; tid: number; nice: number } | { ok: false; reason: string };

export async function lowerThreadPriority(nice: number): Promise<PriorityResult> {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) return { ok: false, reason: `nice ${nice} is not an integer in 0..19` };
  if (process.platform !== "linux") return { ok: false, reason: `not supported on ${process.platform}` };
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      gettid: { args: [], returns: FFIType.i32 },
      setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    });
    try {
      const tid = libc.symbols.gettid();
      const PRIO_PROCESS = 0; // with a tid, Linux applies it to that one thread
      if (libc.symbols.setpriority(PRIO_PROCESS, tid, nice) !== 0) return { ok: false, reason: "setpriority failed" };
      return { ok: true, tid, nice };
    } finally {
      libc.close();
    }
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}
