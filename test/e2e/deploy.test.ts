/**
 * deploy/: the Prometheus alert rules (promtool check and unit tests), the Grafana dashboard
 * (every query names metrics the real sequencer exports) and the systemd unit
 * (systemd-analyze verify; the key never in its environment). The metric names come from a
 * real sequencer's /metrics on the devnet.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { testIf, which } from "../support/optional-tools.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
let anvil: DevnetAnvil;
let seq: SequencerProcess;
let exported: Set<string>;
const dir = tempDir("seq-deploy-");

/** Metric names in a PromQL expression: seq_* and up, with histogram suffixes folded. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(seq_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));
}

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path });
  // Wait for the submitter's balance: it appears after the first read.
  let text = "";
  for (let i = 0; i < 100 && !/^seq_submitter_balance_wei /m.test(text); i++) {
    text = await (await fetch(`${seq.internalUrl}/metrics`)).text();
    await Bun.sleep(50);
  }
  exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
});

afterAll(async () => {
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
});

describe("deploy/", () => {
  test("the Grafana dashboard's queries use only exported metrics, and every panel has a query", () => {
    const dash = JSON.parse(readFileSync(join(DEPLOY, "grafana", "sequencer-dashboard.json"), "utf8"));
    expect(dash.uid).toBe("cartesi-sequencer");
    const panels = (dash.panels as any[]).filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const used = new Set<string>();
    for (const p of panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) for (const m of metricsIn(t.expr)) used.add(m);
    }
    for (const m of used) expect(`${m} exported`).toBe(`${m} ${exported.has(m) ? "exported" : "NOT exported"}`);
    // The operator's questions are all on it.
    for (const m of ["seq_ready", "seq_danger_blocks_left", "seq_tx_ack_seconds", "seq_batches", "seq_l1_safe_block", "seq_recovery_generation", "seq_submitter_balance_wei"]) {
      expect(used.has(m)).toBe(true);
    }
  });

  test("the alert rules use only exported metrics, and cover the five conditions", () => {
    const text = readFileSync(join(DEPLOY, "prometheus", "alerts.yml"), "utf8");
    const exprs = [...text.matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!);
    for (const e of exprs) for (const m of metricsIn(e)) expect(`${m} exported`).toBe(`${m} ${exported.has(m) ? "exported" : "NOT exported"}`);
    for (const a of ["SequencerNotReady", "SequencerDangerNear", "SequencerL1ViewStale", "SequencerCanonicalDivergence", "SequencerSubmitterBalanceLow"]) {
      expect(text).toContain(`alert: ${a}`);
    }
  });

  testIf(which("promtool") !== null, "promtool check/test rules", "promtool (Debian prometheus)")(
    "the alert rules pass promtool check rules and their unit tests",
    () => {
      const check = Bun.spawnSync(["promtool", "check", "rules", "alerts.yml"], { cwd: join(DEPLOY, "prometheus"), stdout: "pipe", stderr: "pipe" });
      expect(`${check.stdout}${check.stderr}`).toContain("SUCCESS");
      expect(check.exitCode).toBe(0);
      const unit = Bun.spawnSync(["promtool", "test", "rules", "alerts.test.yml"], { cwd: join(DEPLOY, "prometheus"), stdout: "pipe", stderr: "pipe" });
      expect(`${unit.stdout}${unit.stderr}`).not.toContain("FAILED");
      expect(unit.exitCode).toBe(0);
    },
  );

  test("the systemd unit restarts on crashes but not on configuration errors, and keeps the key out of the environment", () => {
    const unit = readFileSync(join(DEPLOY, "systemd", "cartesi-sequencer.service"), "utf8");
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/sequencer run$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(new RegExp(`^RestartPreventExitStatus=.*\\b${EXIT.CONFIG}\\b`, "m"));
    expect(unit).toMatch(/^LoadCredential=submitter_key:/m);
    expect(unit).toMatch(/^Environment=SEQ_BATCH_SUBMITTER_PRIVATE_KEY_FILE=%d\/submitter_key$/m);
    const env = readFileSync(join(DEPLOY, "systemd", "env.example"), "utf8");
    expect(`${unit}\n${env}`).not.toMatch(/^[^#]*SEQ_BATCH_SUBMITTER_PRIVATE_KEY=/m);
    // Every variable the example sets is one the sequencer reads.
    const config = readFileSync(join(import.meta.dir, "..", "..", "src", "cli", "config.ts"), "utf8");
    for (const [, name] of env.matchAll(/^#?(SEQ_[A-Z_]+)=/gm)) expect(`${name} ${config.includes(`"${name}"`)}`).toBe(`${name} true`);
  });

  testIf(which("systemd-analyze") !== null, "systemd-analyze verify of the unit", "systemd-analyze (Debian systemd)")(
    "the systemd unit passes systemd-analyze verify",
    () => {
      // verify checks that ExecStart exists: point it at a stand-in executable in a temp dir.
      const tmp = mkdtempSync(join(tmpdir(), "seq-unit-"));
      try {
        const bin = join(tmp, "sequencer");
        writeFileSync(bin, "#!/bin/sh\n");
        chmodSync(bin, 0o755);
        const unit = readFileSync(join(DEPLOY, "systemd", "cartesi-sequencer.service"), "utf8").replaceAll("/usr/local/bin/sequencer", bin);
        writeFileSync(join(tmp, "cartesi-sequencer.service"), unit);
        const p = Bun.spawnSync(["systemd-analyze", "verify", "--man=no", join(tmp, "cartesi-sequencer.service")], { stdout: "pipe", stderr: "pipe" });
        expect(`${p.stdout}${p.stderr}`.trim()).toBe("");
        expect(p.exitCode).toBe(0);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
});
