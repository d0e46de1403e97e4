/**
 * Snapshots end to end (SPEC §7, issue 5): a real sequencer process on a real anvil whose
 * batches land and become safe. The state routes answer 404 before finalization, then the
 * finalized state with its ETag (304), `verify --state` accepts those bytes, an indexer
 * bootstraps from /latest_snapshot + the feed and reaches the sequencer's bytes, restarts
 * load the newest snapshot, orphans are swept, and a missing snapshot stops startup.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { AppHost } from "../../src/app/host.ts";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { bytesToHex, hexToBytes } from "../../src/core/bytes.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { sha256, snapshotDir, snapshotFileName, TEMP_PREFIX, writeSnapshotFile } from "../../src/storage/snapshot-files.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until, type FeedClient } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");
const key = (i: number) => DEVNET_KEYS[i] as Hex;
const who = (i: number) => DEVNET_ADDRESSES[i]!.toLowerCase() as Hex;
const ENV = { SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100" };

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let miner: ReturnType<typeof setInterval> | undefined;
const dir = tempDir("snapshots-e2e-");
const dataDir = join(dir.path, "seq");
const nonces = new Map<number, number>();
const feeds: FeedClient[] = [];

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  miner = setInterval(() => void anvil.mine(1).catch(() => {}), 200);
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir, env: ENV });
}, 60_000);

afterAll(async () => {
  if (miner) clearInterval(miner);
  for (const f of feeds) f.close();
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
});

async function op(signer: number, data: Hex): Promise<void> {
  const nonce = nonces.get(signer) ?? 0;
  const r = await postTx(seq.url, await signOp(key(signer), { nonce, maxFee: 1409, data }));
  if (r.status !== 200) throw new Error(`POST /tx ${r.status}: ${JSON.stringify(r.json)}`);
  nonces.set(signer, nonce + 1);
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const r = await fetch(seq.internalUrl + path, { headers });
  return { status: r.status, headers: r.headers, bytes: new Uint8Array(await r.arrayBuffer()) };
}

function snapshotRows(): { file_name: string; l2_tx_index: number }[] {
  const db = new Database(join(dataDir, "sequencer.db"), { readonly: true });
  try {
    return db.query("SELECT file_name, l2_tx_index FROM snapshots ORDER BY l2_tx_index").all() as { file_name: string; l2_tx_index: number }[];
  } finally {
    db.close();
  }
}

function run(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** An indexer's own app, configured from the sequencer's public /info. */
async function indexerApp(): Promise<AppHost> {
  const info = (await getJson(`${seq.url}/info`)).json;
  return AppHost.create(loadDefaultAppBytes(), {
    feeRecipient: info.batch_submitter_address,
    etherPortal: info.ether_portal_address,
    erc20Portal: info.erc20_portal_address,
    erc20Token: info.erc20_token_address,
  });
}

/** Applies one feed entry the way the sequencer executed it. */
function apply(app: AppHost, e: any): void {
  if (e.kind === "user_op") {
    // The feed carries no safe block; the wallet's state does not depend on it (docs/snapshots.md).
    app.applyUserOp(e.sender, e.nonce, e.fee, hexToBytes(e.data), app.clock);
  } else if (e.kind === "direct_input") {
    app.applyDirectInput(e.sender, BigInt(e.block_number), hexToBytes(e.payload));
  } else {
    throw new Error(`unexpected feed message ${JSON.stringify(e)}`);
  }
}

describe("snapshots on a real devnet", () => {
  test("state routes: 404 before any finalization, internal listener only", async () => {
    for (const p of ["/finalized_state/inclusion_block", "/finalized_state", "/latest_snapshot"]) {
      const r = await fetch(seq.internalUrl + p);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ ok: false, code: "NOT_FOUND" });
      const pub = await fetch(seq.url + p);
      expect(pub.status).toBe(404);
      expect(((await pub.json()) as { message: string }).message).toBe("no such route");
    }
  });

  let finalized: { bytes: Uint8Array; index: number; block: number };

  test("batches land: finalized state with ETag/304, and `verify --state` accepts its bytes", async () => {
    await anvil.deposit(2, 10n ** 18n);
    await anvil.deposit(3, 10n ** 18n);
    const all = subscribe(seq.url);
    feeds.push(all);
    await all.waitFor(2, 30_000); // both deposits executed
    await op(2, transferData(10n ** 15n, who(3)));
    await op(3, transferData(2n * 10n ** 15n, who(4)));
    const ib = await until(async () => {
      const r = await getJson(`${seq.internalUrl}/finalized_state/inclusion_block`);
      return r.status === 200 ? r.json : null;
    }, 45_000, "a finalized snapshot");
    expect(typeof ib.inclusion_block).toBe("number");
    expect(ib.l2_tx_index).toBeGreaterThan(0);

    const r = await get("/finalized_state");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    const block = Number(r.headers.get("x-inclusion-block"));
    const index = Number(r.headers.get("x-l2-tx-index"));
    expect(block).toBeGreaterThanOrEqual(ib.inclusion_block);
    expect(r.headers.get("etag")).toBe(`"block-${block}"`);
    expect(r.headers.get("content-length")).toBe(String(r.bytes.length));
    expect(r.headers.get("x-snapshot-sha256")).toBe(bytesToHex(sha256(r.bytes)));
    finalized = { bytes: r.bytes, index, block };
    const again = await get("/finalized_state", { "if-none-match": `"block-${block}"` });
    // the pointer may have moved meanwhile (then 200 with a new ETag); otherwise 304
    if (again.headers.get("etag") === `"block-${block}"`) {
      expect(again.status).toBe(304);
      expect(again.bytes.length).toBe(0);
    } else {
      expect(again.status).toBe(200);
    }

    // Air-gapped verification of those exact bytes at X-L2-Tx-Index.
    const d = anvil.deployment;
    const inputs = join(dir.path, "l1-inputs.jsonl");
    const stateFile = join(dir.path, "finalized.state");
    writeFileSync(stateFile, finalized.bytes);
    expect(run(["export-l1", "--rpc-url", anvil.url, "--input-box", d.inputBox, "--app", d.application, "--out", inputs]).code).toBe(0);
    const v = run([
      "verify", "--l1-inputs", inputs, "--chain-id", String(d.chainId), "--app", d.application,
      "--batch-submitter", d.batchSubmitter, "--ether-portal", d.etherPortal, "--erc20-portal", d.erc20Portal,
      "--state", stateFile, "--state-l2-tx-index", String(finalized.index),
    ]);
    const report = JSON.parse(v.out);
    expect(report.state).toMatchObject({ l2_tx_index: finalized.index });
    expect(report.state_match).toBe(true);
    expect(v.code).toBe(0);
    // the same bytes claimed at another index do not verify
    const wrong = run([
      "verify", "--l1-inputs", inputs, "--chain-id", String(d.chainId), "--app", d.application,
      "--batch-submitter", d.batchSubmitter, "--ether-portal", d.etherPortal, "--erc20-portal", d.erc20Portal,
      "--state", stateFile, "--state-l2-tx-index", String(finalized.index - 1),
    ]);
    expect(wrong.code).not.toBe(0);
  }, 120_000);

  test("an indexer bootstraps from /latest_snapshot + the feed and reaches the sequencer's bytes", async () => {
    const boot = await get("/latest_snapshot");
    expect(boot.status).toBe(200);
    const from = Number(boot.headers.get("x-l2-tx-index"));
    const app = await indexerApp();
    app.load(boot.bytes, {
      executedInputCount: BigInt(boot.headers.get("x-executed-input-count")!),
      clock: BigInt(boot.headers.get("x-app-clock")!),
    });
    const feed = subscribe(seq.url, `?from_offset=${from}`);
    feeds.push(feed);
    await feed.opened;

    // more traffic: ops and a deposit, across at least one more batch
    await op(2, transferData(5n, who(5)));
    await anvil.deposit(4, 3n * 10n ** 17n);
    await op(3, transferData(6n, who(2)));
    const target = (await until(async () => {
      const r = await get("/latest_snapshot");
      const idx = Number(r.headers.get("x-l2-tx-index"));
      return idx >= from + 3 ? { idx, bytes: r.bytes } : null;
    }, 30_000, "a newer snapshot covering the new traffic"))!;
    await feed.waitFor(target.idx - from, 20_000);
    const entries = feed.messages.slice(0, target.idx - from);
    expect(entries.map((e) => e.offset)).toEqual(entries.map((_, i) => from + i));
    for (const e of entries) apply(app, e);
    expect(Number(app.executedInputCount)).toBe(target.idx);
    expect(bytesToHex(app.dump())).toBe(bytesToHex(target.bytes));
  }, 90_000);

  test("restart loads the newest snapshot and replays only what follows it", async () => {
    const before = await get("/latest_snapshot");
    const index = Number(before.headers.get("x-l2-tx-index"));
    await op(2, transferData(1n, who(3))); // one entry after the last seal (usually)
    const nonceBefore = (await getJson(`${seq.url}/nonce?sender=${who(2)}`)).json.next_nonce;
    expect(await seq.stop()).toBe(0);
    seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir, env: ENV });
    const rebuilt = seq.logs.find((l) => l.msg === "app state rebuilt from history")!;
    expect(rebuilt.snapshot).toContain(snapshotDir(dataDir));
    expect(rebuilt.snapshot_l2_tx_index as number).toBeGreaterThanOrEqual(index);
    // replayed only the tail after the snapshot, not the history since genesis
    const head = (rebuilt.snapshot_l2_tx_index as number) + (rebuilt.entries as number);
    expect(head).toBeGreaterThan(index);
    expect(rebuilt.entries as number).toBeLessThan(head - 2);
    expect((await getJson(`${seq.url}/nonce?sender=${who(2)}`)).json.next_nonce).toBe(nonceBefore);
    nonces.set(2, nonceBefore);
    await op(2, transferData(1n, who(3)));
  }, 60_000);

  test("crash between fsync and row insert: the orphan is swept at start, no row references a missing file", async () => {
    expect(await seq.stop()).toBe(0);
    const sdir = snapshotDir(dataDir);
    const bytes = finalized.bytes;
    const orphan = snapshotFileName(10_000_000, 999_999, sha256(bytes));
    writeSnapshotFile(sdir, orphan, bytes); // the real writer; the process "died" before the insert
    writeFileSync(join(sdir, `${TEMP_PREFIX}${orphan}-0badc0de`), bytes.subarray(0, 7));
    seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir, env: ENV });
    const cleanup = seq.logs.find((l) => l.msg === "snapshot startup cleanup")!;
    // Both planted files are swept. A seal right before the stop may add a third orphan of
    // its own (written, not yet registered when the process stopped): also swept, correctly.
    expect(cleanup.files as string[]).toContain(orphan);
    expect(cleanup.files as string[]).toContain(`${TEMP_PREFIX}${orphan}-0badc0de`);
    expect(cleanup.orphans_swept as number).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(sdir, orphan))).toBe(false);
    const rows = snapshotRows();
    expect(readdirSync(sdir).sort()).toEqual(rows.map((r) => r.file_name).sort());
    // the rebuild did not pick up the orphan (it claimed a far higher index)
    const rebuilt = seq.logs.find((l) => l.msg === "app state rebuilt from history")!;
    expect(rebuilt.snapshot_l2_tx_index as number).toBeLessThan(10_000_000);
  }, 60_000);

  test("a missing referenced snapshot is a fatal startup error naming the file", async () => {
    expect(await seq.stop()).toBe(0);
    const rows = snapshotRows();
    const newest = rows.at(-1)!;
    const path = join(snapshotDir(dataDir), newest.file_name);
    const aside = join(dir.path, "aside.snap");
    renameSync(path, aside);
    let err = "";
    try {
      seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir, env: ENV });
    } catch (e) {
      err = (e as Error).message;
    }
    expect(err).toContain(path);
    expect(err).toContain("SNAPSHOT_MISSING");
    renameSync(aside, path);
    seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir, env: ENV });
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(200);
  }, 60_000);
});
