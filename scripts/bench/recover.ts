/**
 * Micro-benchmark of signer recovery: native vs JS on one thread, then through SignaturePool.
 *   bun scripts/bench/recover.ts [count=20000] [poolSize=CPUs]
 * Prints recoveries per second; no percentiles (see the HTTP load bench for latency).
 */
import { availableParallelism } from "node:os";
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
import { createRecoverer, type Recoverer } from "../../src/core/signature.ts";
import { SignaturePool } from "../../src/ingress/sigpool.ts";
import { installNativeCrypto } from "../../src/runtime/native-addons.ts";

// Native keccak and secp256k1, as the sequencer runs them (src/runtime/native-addons.ts).
installNativeCrypto();

const count = Number(process.argv[2] ?? 20_000);
const poolSize = Number(process.argv[3] ?? availableParallelism());

function fixtures(n: number): { digests: Uint8Array[]; sigs: Uint8Array[] } {
  const keys = Array.from({ length: 8 }, () => secp256k1.utils.randomPrivateKey());
  const digests: Uint8Array[] = [];
  const sigs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const d = keccak_256(new TextEncoder().encode(`bench-${i}`));
    const s = secp256k1.sign(d, keys[i % keys.length]!);
    const sig = new Uint8Array(65);
    sig.set(s.toCompactRawBytes());
    sig[64] = 27 + s.recovery;
    digests.push(d);
    sigs.push(sig);
  }
  return { digests, sigs };
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString("en-US")} ops/s`;
}

function benchSync(name: string, recover: Recoverer, f: ReturnType<typeof fixtures>, n: number): void {
  for (let i = 0; i < Math.min(n, 500); i++) recover(f.digests[i]!, f.sigs[i]!); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) recover(f.digests[i]!, f.sigs[i]!);
  console.log(`${name.padEnd(28)} ${rate(n, performance.now() - t0)}`);
}

async function benchPool(f: ReturnType<typeof fixtures>, n: number, inFlight: number): Promise<void> {
  const pool = SignaturePool.create(poolSize);
  await Promise.all(f.digests.slice(0, 500).map((d, i) => pool.recover(d, f.sigs[i]!))); // warm-up
  const t0 = performance.now();
  // Keep `inFlight` requests outstanding, like that many concurrent HTTP clients.
  let next = 0;
  const lanes = Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      await pool.recover(f.digests[i]!, f.sigs[i]!);
    }
  });
  await Promise.all(lanes);
  console.log(`${`pool(${poolSize}) in-flight ${inFlight}`.padEnd(28)} ${rate(n, performance.now() - t0)}`);
  await pool.close();
}

console.log(`preparing ${count} signatures...`);
const f = fixtures(count);
benchSync("native, 1 thread", createRecoverer("native"), f, count);
benchSync("js (noble), 1 thread", createRecoverer("js"), f, Math.min(count, 5000));
for (const inFlight of [1, 16, 256]) await benchPool(f, inFlight === 1 ? Math.min(count, 5000) : count, inFlight);
