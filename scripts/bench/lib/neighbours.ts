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
import { pacedClients } from "./paced-clients.ts";

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
const { lat, failed } = await pacedClients(url, clients, () => performance.now() >= end, pace);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ failed, lat, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) }));
