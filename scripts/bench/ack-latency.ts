/**
 * Ack latency of `POST /tx` on a real devnet: anvil + the sequencer as a child process, and
 * this process as the load generator. Ops are pre-signed so signing is not measured.
 *
 *   bun scripts/bench/ack-latency.ts [opsPerLevel=2000] [concurrencies=1,8,64]
 *   BENCH_APP_WASM=path runs another app module (an A/B of the app alone).
 *
 * Prints p50/p95/p99/p99.9 and throughput per concurrency level and writes
 * bench-results/ack-latency.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { DEVNET_KEYS, etherPortalAbi } from "../../src/l1/contracts.ts";
import { withDevnetAnvil } from "../lib/devnet-anvil.ts";
import { signOp, subscribe, transferData } from "../lib/http-client.ts";
import { startSequencerProcess, tempDir } from "../lib/sequencer-process.ts";

const opsPerLevel = Number(process.argv[2] ?? 2000);
const levels = (process.argv[3] ?? "1,8,64").split(",").map(Number);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const anvil = await withDevnetAnvil();
const dir = tempDir("seq-bench-");
// BENCH_APP_WASM: run another module (an A/B of the app alone, e.g. the pre-SDK wallet)
const appEnv: Record<string, string> = process.env.BENCH_APP_WASM ? { SEQ_APP_WASM: process.env.BENCH_APP_WASM } : {};
// BENCH_INSPECT=false: without the inspect follower (an A/B of its cost to /tx)
if (process.env.BENCH_INSPECT) appEnv.SEQ_INSPECT_ENABLED = process.env.BENCH_INSPECT;
const seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path, env: { SEQ_LOG_LEVEL: "info", ...appEnv } });
try {
  const maxC = Math.max(...levels);
  // One funded sender per concurrent stream: nonces of one sender must arrive in order.
  const keys = Array.from({ length: maxC }, () => generatePrivateKey());
  const feed = subscribe(seq.url);
  for (const k of keys) {
    const account = privateKeyToAccount(k);
    // Fund the fresh key on L1, then let it deposit: the EtherPortal credits msg.sender.
    await anvil.publicClient.request({
      method: "anvil_setBalance" as never,
      params: [account.address, "0xde0b6b3a7640000"] as never,
    });
    const wallet = createWalletClient({ account, chain: anvil.walletClient(0).chain, transport: http(anvil.url) });
    const hash = await wallet.writeContract({
      address: anvil.deployment.etherPortal,
      abi: etherPortalAbi,
      functionName: "depositEther",
      args: [anvil.deployment.application, "0x"],
      value: 10n ** 17n,
    });
    await anvil.publicClient.waitForTransactionReceipt({ hash });
  }
  await anvil.mine(7);
  await feed.waitFor(keys.length, 60_000);
  feed.close();

  const to = privateKeyToAccount(DEVNET_KEYS[3] as Hex).address.toLowerCase() as Hex;
  const results: Record<string, unknown>[] = [];
  const nonces = new Array(maxC).fill(0);
  for (const c of levels) {
    const perStream = Math.ceil(opsPerLevel / c);
    const bodies = await Promise.all(
      Array.from({ length: c }, (_, s) =>
        Promise.all(
          Array.from({ length: perStream }, (_, i) =>
            signOp(keys[s]!, { nonce: nonces[s] + i, maxFee: 1409, data: transferData(1n, to) }).then((b) => JSON.stringify(b)),
          ),
        ),
      ),
    );
    const lat: number[] = [];
    let failures = 0;
    const started = performance.now();
    await Promise.all(
      bodies.map(async (list, s) => {
        for (const body of list) {
          const t0 = performance.now();
          const r = await fetch(`${seq.url}/tx`, { method: "POST", body, headers: { "content-type": "application/json" } });
          await r.arrayBuffer();
          lat.push(performance.now() - t0);
          if (r.status !== 200) failures++;
          else nonces[s]++;
        }
      }),
    );
    const secs = (performance.now() - started) / 1000;
    lat.sort((a, b) => a - b);
    const row = {
      concurrency: c,
      ops: lat.length,
      failures,
      throughput_ops_s: Math.round(lat.length / secs),
      p50_ms: +pct(lat, 50).toFixed(3),
      p95_ms: +pct(lat, 95).toFixed(3),
      p99_ms: +pct(lat, 99).toFixed(3),
      p999_ms: +pct(lat, 99.9).toFixed(3),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/ack-latency.json", JSON.stringify({ when: new Date().toISOString(), results }, null, 2));
} finally {
  await seq.stop();
  await anvil.stop();
  dir.remove();
}
