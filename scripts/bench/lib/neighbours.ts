/**
 * The neighbour clients of the inspect bench, in a process of their own so that their work
 * does not sit in the event loop that times /tx (in one process, every answer to a neighbour
 * delayed the /tx stream's own callbacks, and that is the load generator's cost, not the
 * sequencer's).
 *
 *   bun scripts/bench/lib/neighbours.ts URL CLIENTS PACE_MS SECONDS
 *
 * Prints `ready`, waits for a line on stdin, runs CLIENTS loops on URL for SECONDS (PACE_MS
 * between one client's requests; 0: as fast as answered), then prints one JSON line:
 * the latencies in ms and this process's CPU ms.
 */
import { readLines } from "../../lib/lines.ts";

const [url, clientsArg, paceArg, secondsArg] = process.argv.slice(2);
if (!url || !clientsArg || paceArg === undefined || !secondsArg) {
  process.stderr.write("usage: neighbours.ts URL CLIENTS PACE_MS SECONDS\n");
  process.exit(64);
}
const clients = Number(clientsArg);
const pace = Number(paceArg);
const ms = Number(secondsArg) * 1000;

console.log("ready");
await readLines(Bun.stdin.stream()).next(); // the start signal

const cpu0 = process.cpuUsage();
const end = performance.now() + ms;
const lat: number[] = [];
let failed: string | null = null;
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (performance.now() < end && failed === null) {
      const t0 = performance.now();
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status !== 200) failed = `${url} answered ${r.status}`;
      lat.push(performance.now() - t0);
      if (pace > 0) await Bun.sleep(Math.max(0, pace - (performance.now() - t0)));
    }
  }),
);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ failed, lat, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) }));
