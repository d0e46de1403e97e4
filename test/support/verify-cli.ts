/**
 * Runs the real CLI the way an auditor would: `export-l1` against the chain, then the offline
 * `verify` of that export against a recorded feed (and optionally a state file).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DevnetAnvil } from "./anvil.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");

export interface VerifyRun {
  exportCode: number;
  verifyCode: number;
  /** The JSON line `verify` printed (its last stdout line). */
  report: any;
}

export async function exportAndVerifyCli(o: {
  anvil: DevnetAnvil;
  workDir: string;
  feedMessages: readonly unknown[];
  extraVerifyArgs?: string[];
  /** e.g. ["--sequencer", url]: the header then records the deployment's parameters. */
  extraExportArgs?: string[];
}): Promise<VerifyRun> {
  const inputs = join(o.workDir, "inputs.jsonl");
  const feedFile = join(o.workDir, "feed.jsonl");
  writeFileSync(feedFile, o.feedMessages.map((m) => JSON.stringify(m)).join("\n") + "\n");
  const d = o.anvil.deployment;
  const exp = Bun.spawn(
    [process.execPath, MAIN, "export-l1", "--rpc-url", o.anvil.url, "--input-box", d.inputBox, "--app", d.application, "--out", inputs, ...(o.extraExportArgs ?? [])],
    { stdout: "pipe", stderr: "pipe" },
  );
  const exportCode = await exp.exited;
  const ver = Bun.spawn(
    [
      process.execPath, MAIN, "verify", "--l1-inputs", inputs, "--chain-id", String(d.chainId), "--app", d.application,
      "--batch-submitter", d.batchSubmitter, "--ether-portal", d.etherPortal, "--erc20-portal", d.erc20Portal, "--feed", feedFile,
      ...(o.extraVerifyArgs ?? []),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [verifyCode, out] = await Promise.all([ver.exited, new Response(ver.stdout).text()]);
  const last = out.trim().split("\n").at(-1) ?? "";
  return { exportCode, verifyCode, report: last ? JSON.parse(last) : null };
}

/**
 * Mines slowly (a block every 250 ms, far below the 900-block danger threshold) until the op
 * `txHash` is in a batch the scheduler accepted in a safe block.
 */
export async function waitUntilSafe(anvil: DevnetAnvil, seqUrl: string, txHash: string, timeoutMs = 45_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const r = await fetch(`${seqUrl}/tx/${txHash}`);
    const status = ((await r.json()) as { status?: string }).status;
    if (status === "safe" || status === "finalized") return;
    await anvil.mine(1);
    await Bun.sleep(250);
  }
  throw new Error(`timed out waiting for ${txHash} to be safe`);
}
