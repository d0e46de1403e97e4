// A worker that lowers its own priority and reports its tid and the result (thread-priority.test.ts).
import { lowerThreadPriority } from "../../src/runtime/thread-priority.ts";

declare const self: Worker;
self.onmessage = async (e: MessageEvent<{ nice: number }>) => {
  self.postMessage(await lowerThreadPriority(e.data.nice));
};
