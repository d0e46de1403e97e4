/**
 * An export recorded before the SDK (issue #15) still verifies: test/fixtures/export-before-sdk
 * was made by the sequencer at 526c998 on a devnet (two deposits; a transfer, a withdrawal,
 * a no-op transfer and undecodable data), with export-l1 --sequencer (its header names the
 * pre-SDK wallet's sha256 and metering version 1) and the live feed it served. `verify`
 * finds the embedded pre-SDK wallet by that hash and folds with version 1's costs.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const DIR = join(ROOT, "test", "fixtures", "export-before-sdk");

async function verify(...extra: string[]): Promise<{ code: number; report: any }> {
  const p = Bun.spawn(
    [process.execPath, join(ROOT, "src", "cli", "main.ts"), "verify", "--l1-inputs", join(DIR, "inputs.jsonl"), "--feed", join(DIR, "feed.jsonl"), ...extra],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  return { code, report: JSON.parse(out.trim().split("\n").at(-1)!) };
}

describe("verify of an export made before the SDK", () => {
  test("matches with no flags: the embedded pre-SDK wallet, metering version 1", async () => {
    const { code, report } = await verify();
    expect(report.verdict).toBe("match");
    expect(report.feed.compared).toBe(6);
    expect(report.app_module_sha256).toBe("347af1cd2ea646029187143775240284b7f55b99f2c4fe04a7116982fde639e6");
    expect(report.parameters.execution_limits.metering_version).toBe(1);
    expect(code).toBe(0);
  });

  test("with today's wallet it is a parameter mismatch, not a silent pass", async () => {
    const { code, report } = await verify("--app-wasm", join(ROOT, "app-wasm", "build", "wallet.wasm"));
    expect(report.verdict).toBe("divergence");
    expect(Object.keys(report.parameter_mismatch)).toEqual(["app_module_sha256"]);
    expect(code).toBe(1);
  });
});
