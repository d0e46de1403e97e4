/**
 * The operator dashboard (GET /dashboard on the internal port) in headless Chromium, driven by
 * playwright-core, against a real sequencer on the devnet: the page renders the L1 heads, the
 * batch pipeline, the danger gauge, the recovery generation, subscribers and the app, and the
 * numbers move live as deposits, ops and blocks arrive. It saves a screenshot.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { Hex } from "viem";
import { DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { DEVNET_ADDRESSES } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { testIf } from "../support/optional-tools.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT_DIR = join(import.meta.dir, "..", "..", "test-artifacts");
const KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let browser: Browser | undefined;
let miner: ReturnType<typeof setInterval> | undefined;
const feeds: FeedClient[] = [];
const dir = tempDir("seq-dashboard-");

const browserTest = testIf(existsSync(CHROMIUM), "the dashboard's Chromium test", `Debian chromium at ${CHROMIUM}`);

describe("operator dashboard", () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) return;
    anvil = await withDevnetAnvil();
    seq = await startSequencerProcess({
      rpcUrl: anvil.url,
      dataDir: dir.path,
      env: { SEQ_MAX_BATCH_OPEN_SECONDS: "2", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100" },
    });
    miner = setInterval(() => void anvil.mine(1).catch(() => {}), 250);
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-background-networking"] });
  });

  afterAll(async () => {
    if (miner) clearInterval(miner);
    for (const f of feeds) f.close();
    await browser?.close();
    await seq?.stop();
    await anvil?.stop();
    dir.remove();
  });

  const text = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).innerText();
  const num = async (page: Page, id: string) => Number((await text(page, id)).replace(/[^0-9.-]/g, ""));

  browserTest("shows the heads, pipeline, danger, recovery, feed, app and plots, and they move live", async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    const res = await page.goto(`${seq.internalUrl}/dashboard`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-type"]).toContain("text/html");
    expect(res?.headers()["access-control-allow-origin"]).toBeUndefined();

    // First render: ready, heads, generation 0, the app's module hash.
    await page.waitForFunction(`document.querySelector('[data-testid="status"]')?.textContent === "ready"`, null, { timeout: 15_000 });
    const info = (await getJson(`${seq.url}/info`)).json;
    expect(await text(page, "app-module")).toBe(info.app_module_sha256);
    expect(await text(page, "app-metered")).toBe(info.app_metered_sha256);
    expect(await text(page, "app-limits")).toContain("fuel_per_call");
    expect(await text(page, "recovery-generation")).toBe("0");
    expect(await text(page, "recovery-state")).toBe("idle");
    const safe0 = await num(page, "l1-safe");
    expect(safe0).toBeGreaterThan(0);
    expect(await num(page, "l1-latest")).toBeGreaterThanOrEqual(safe0);
    expect(await num(page, "l1-finalized")).toBeLessThanOrEqual(safe0);
    expect(await num(page, "batches-open")).toBe(1);
    await until(async () => /ETH$/.test(await text(page, "submitter-balance")), 20_000, "the submitter's balance");
    expect(await num(page, "feed-subscribers")).toBe(0);
    const offset0 = await num(page, "head-offset");

    // Drive the devnet: a subscriber, a deposit, a burst of ops, blocks.
    const feed = subscribe(seq.url);
    feeds.push(feed);
    await anvil.deposit(2, 10n ** 18n);
    await feed.waitFor(1, 20_000);
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    for (let i = 0; i < 40; i++) {
      const r = await postTx(seq.url, await signOp(KEY, { nonce: nonce + i, maxFee: 1409, data: transferData(BigInt(i + 1), TO) }));
      expect(r.status).toBe(200);
    }

    // The page follows, without a reload (the predicates run in the page, as text: this
    // project's types have no DOM).
    await page.waitForFunction(
      `Number(document.querySelector('[data-testid="head-offset"]')?.textContent?.replace(/[^0-9]/g, "")) >= ${offset0 + 41}`,
      null,
      { timeout: 15_000 },
    );
    expect(await num(page, "feed-subscribers")).toBe(1);
    await until(async () => (await num(page, "l1-safe")) > safe0, 15_000, "the safe head to move on the page");
    await until(async () => (await num(page, "ops-max")) > 0, 15_000, "the throughput plot");
    // The series are sampled on a timer (observability/recent-series.ts) and the page polls
    // once a second: the burst shows within a few samples, all 40 ops of it.
    await until(async () => (await num(page, "ops-minute")) >= 40, 15_000, "the burst's 40 ops in the last minute");
    expect(await text(page, "latency-p50")).toMatch(/ms$/);
    expect(await page.locator('[data-testid="plot-ops"] path').count()).toBe(1);
    expect(await page.locator('[data-testid="plot-latency"] path').count()).toBe(2);
    // The batch closes (2 s), is submitted and accepted on L1; the gauge shows a batch at risk meanwhile.
    await until(async () => (await num(page, "batches-safe")) + (await num(page, "batches-finalized")) >= 1, 30_000, "an accepted batch on the page");
    const danger = await text(page, "danger-blocks-left");
    const detail = await text(page, "danger-detail");
    expect(danger === "—" || Number(danger.replace(/,/g, "")) > 0).toBe(true);
    expect(detail).toMatch(/threshold 900 blocks|of 900 blocks old/);

    // The state JSON and the page agree with /metrics.
    const metrics = await (await fetch(`${seq.internalUrl}/metrics`)).text();
    const gen = Number(/^seq_recovery_generation (\d+)/m.exec(metrics)?.[1]);
    expect(await num(page, "recovery-generation")).toBe(gen);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const shot = join(SCREENSHOT_DIR, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 120_000);

  browserTest("the dashboard is on the internal port only", async () => {
    const pub = await fetch(`${seq.url}/dashboard`);
    expect(pub.status).toBe(404);
    const state = await fetch(`${seq.internalUrl}/dashboard/state`, { headers: { origin: "https://evil.example" } });
    expect(state.status).toBe(200);
    expect(state.headers.get("access-control-allow-origin")).toBeNull();
    const j = (await state.json()) as Record<string, any>;
    expect(Object.keys(j).sort()).toEqual(["app", "batches", "danger", "feed", "l1", "lane", "now_ms", "ready", "recovery", "series", "unavailable_reason", "version"]);
  });
});
