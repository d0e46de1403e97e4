/**
 * Fold speed of `sequencer verify`: generates a large synthetic L1 input file (deposits and
 * batches of really signed wallet transfers, pre-signed with the native signer), then times
 *   1. the real CLI (`bun src/cli/main.ts verify ...`, a child process: parse + fold + report), and
 *   2. the fold alone, in process.
 *
 *   bun scripts/bench/verify-fold.ts [batches=500] [opsPerBatch=100] [users=2000]
 *
 * Prints L1 inputs/s and executed L2 entries/s (an L1 batch input carries many entries).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { signatureBackend } from "../../src/core/signature.ts";
import { formatL1InputLine } from "../../src/replay/files.ts";
import { makeSigner, syntheticInputs } from "../lib/synthetic-inputs.ts";
import { verify } from "../../src/replay/verify.ts";
import { loadMeteringPass } from "../../src/app/metering.ts";
import { installNativeCrypto } from "../../src/runtime/native-addons.ts";
import { SUBMITTER, ZERO } from "../lib/fixture-addresses.ts";

// Native keccak and secp256k1, as the sequencer runs them (src/runtime/native-addons.ts).
installNativeCrypto();

// Hosts are built synchronously below: load the on-demand metering pass first.
await loadMeteringPass();

const batches = Number(process.argv[2] ?? 500);
const opsPerBatch = Number(process.argv[3] ?? 100);
const users = Number(process.argv[4] ?? 2000);

const CHAIN_ID = 31337n;
const APP = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9" as const;
const PORTAL = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as const;

const signer = makeSigner();
console.log(`generating ${batches} batches x ${opsPerBatch} ops, ${users} users (signer: ${signer.backend})...`);
let t = performance.now();
const inputs = syntheticInputs(
  { chainId: CHAIN_ID, app: APP, submitter: SUBMITTER, etherPortal: PORTAL, users, batches, opsPerBatch },
  signer.sign,
);
console.log(`  ${inputs.length} L1 inputs in ${Math.round(performance.now() - t)} ms`);

const dir = mkdtempSync(join(tmpdir(), "verify-bench-"));
try {
  const file = join(dir, "inputs.jsonl");
  writeFileSync(file, inputs.map(formatL1InputLine).join("\n") + "\n");
  console.log(`  file: ${(statSync(file).size / 1e6).toFixed(1)} MB`);

  // 1. the real CLI
  const main = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");
  t = performance.now();
  const p = Bun.spawnSync(
    [process.execPath, main, "verify", "--l1-inputs", file, "--chain-id", String(CHAIN_ID), "--app", APP, "--batch-submitter", SUBMITTER, "--ether-portal", PORTAL],
    { stdout: "pipe", stderr: "pipe" },
  );
  const wall = performance.now() - t;
  if (p.exitCode !== 0) throw new Error(`verify exited ${p.exitCode}: ${p.stderr.toString()}`);
  const report = JSON.parse(p.stdout.toString());
  const finished = JSON.parse(p.stderr.toString().trim().split("\n").pop()!);
  const entries = report.executed_input_count as number;
  console.log(`CLI verify (process wall time, incl. startup and parsing): ${Math.round(wall)} ms`);
  console.log(`  fold (as reported by verify): ${finished.fold_ms} ms`);
  console.log(`  ${rate(inputs.length, finished.fold_ms)} L1 inputs/s, ${rate(entries, finished.fold_ms)} L2 entries/s`);
  console.log(`  match=${report.match} entries=${entries} next_batch_nonce=${report.next_batch_nonce} skipped=${JSON.stringify(report.user_ops.skipped)}`);

  // 2. in process (warm)
  const wasm = loadDefaultAppBytes();
  const params = { inputs, chainId: CHAIN_ID, app: APP, batchSubmitter: SUBMITTER, appWasm: wasm, etherPortal: PORTAL, erc20Portal: ZERO, erc20Token: ZERO };
  verify({ ...params, inputs: inputs.slice(0, Math.min(inputs.length, 200)) }); // warm-up
  t = performance.now();
  const r2 = verify(params);
  const ms = performance.now() - t;
  if (r2.state_digest !== report.state_digest) throw new Error("in-process fold disagrees with the CLI");
  console.log(`in-process fold (recovery backend: ${signatureBackend()}): ${Math.round(ms)} ms`);
  console.log(`  ${rate(inputs.length, ms)} L1 inputs/s, ${rate(entries, ms)} L2 entries/s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function rate(n: number, ms: number): string {
  return Math.round((n * 1000) / ms).toLocaleString("en-US");
}
