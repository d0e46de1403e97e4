/**
 * End to end on a real anvil with the preloaded Cartesi deployment and the real sequencer
 * process: EtherPortal deposit → direct_input in the feed → signed transfer → soft
 * confirmation → user_op in the feed → nonce advances.
 */
import { testIf, which } from "../support/optional-tools.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
const dir = tempDir();
const USER_KEY = DEVNET_KEYS[2] as Hex;
const USER = DEVNET_ADDRESSES[2]!.toLowerCase() as Hex;
const RECIPIENT = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

beforeAll(async () => {
  anvil = await withDevnetAnvil();
  seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: dir.path });
});

afterAll(async () => {
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
});

describe("hot path on anvil", () => {
  test("deposit, signed transfer, soft confirmation and feed", async () => {
    const feed = subscribe(seq.url);
    await feed.opened;

    const receipt = await anvil.deposit(2, 10n ** 18n);
    expect(receipt.status).toBe("success");
    // The lane drains a direct input once the safe head is 5 blocks past the open frame.
    await anvil.mine(7);
    const [deposit] = await feed.waitFor(1);
    expect(deposit.kind).toBe("direct_input");
    expect(deposit.offset).toBe(0);
    expect(deposit.sender).toBe(anvil.deployment.etherPortal.toLowerCase());
    expect(deposit.input_index).toBe(0);
    expect(deposit.block_number).toBe(Number(receipt.blockNumber));
    // EtherPortal payload: sender (20) || value (32, big-endian).
    expect(deposit.payload.slice(2, 42)).toBe(USER.slice(2));
    expect(BigInt("0x" + deposit.payload.slice(42, 106))).toBe(10n ** 18n);

    const before = await getJson(`${seq.url}/nonce?sender=${USER}`);
    expect(before.json).toEqual({ sender: USER, next_nonce: 0 });
    const fee = (await getJson(`${seq.url}/fee`)).json;
    expect(fee.fee).toBe(1356);
    expect(fee.suggested_max_fee).toBe(1409);

    const body = await signOp(USER_KEY, { nonce: 0, maxFee: fee.suggested_max_fee, data: transferData(10n ** 15n, RECIPIENT) });
    const res = await postTx(seq.url, body);
    expect(res.status).toBe(200);
    expect(res.json.ok).toBe(true);
    expect(res.json.sender).toBe(USER);
    expect(res.json.nonce).toBe(0);
    expect(res.json.offset).toBe(1);
    expect(res.json.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);

    const msgs = await feed.waitFor(2);
    expect(msgs[1]).toEqual({
      kind: "user_op",
      offset: 1,
      sender: USER,
      fee: 1356,
      data: body.message.data,
      nonce: 0,
      tx_hash: res.json.tx_hash,
      // the wallet's transfer notice: from || to || amount (big-endian)
      outputs: [{ kind: "notice", payload: `${USER}${RECIPIENT.slice(2).toLowerCase()}${(10n ** 15n).toString(16).padStart(64, "0")}` }],
    });
    expect((await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce).toBe(1);
    feed.close();
  });

  test("read routes describe the deployment", async () => {
    const info = (await getJson(`${seq.url}/info`)).json;
    expect(info.chain_id).toBe(31337);
    expect(info.app_address).toBe(anvil.deployment.application.toLowerCase());
    expect(info.input_box_address).toBe(anvil.deployment.inputBox.toLowerCase());
    expect(info.ether_portal_address).toBe(anvil.deployment.etherPortal.toLowerCase());
    expect(info.batch_submitter_address).toBe(anvil.deployment.batchSubmitter.toLowerCase());
    expect(info.max_wait_blocks).toBe(1200);
    const domain = (await getJson(`${seq.url}/domain`)).json;
    const fields = {
      name: "CartesiAppSequencer",
      version: "1",
      chainId: 31337,
      verifyingContract: anvil.deployment.application.toLowerCase(),
    };
    expect(domain).toEqual({
      ...fields,
      domain: fields,
      types: { UserOp: [{ name: "nonce", type: "uint32" }, { name: "max_fee", type: "uint16" }, { name: "data", type: "bytes" }] },
      primaryType: "UserOp",
    });
    expect((await getJson(`${seq.url}/healthz`)).status).toBe(200);
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(200);
    // Internal routes are not on the public port.
    expect((await getJson(`${seq.internalUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${seq.url}/metrics`)).status).toBe(404);
  });

  test("internal /metrics reports ops, ack latency, queue, feed, heads, batches and snapshots", async () => {
    const feed = subscribe(seq.url);
    await feed.waitFor(1);
    const res = await fetch(`${seq.internalUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const value = (line: string) => Number(text.split("\n").find((l) => l.startsWith(line + " "))?.slice(line.length + 1));
    expect(value('seq_tx_total{outcome="accepted"}')).toBeGreaterThanOrEqual(1);
    expect(value("seq_tx_ack_seconds_count")).toBe(value('seq_tx_total{outcome="accepted"}'));
    expect(value("seq_lane_queue_depth")).toBe(0);
    // Every lane commit is timed, and none takes less than nothing.
    expect(value("seq_lane_commit_seconds_count")).toBe(value("seq_lane_commits_total"));
    expect(value("seq_lane_commit_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(value("seq_lane_commit_seconds_sum")).toBeGreaterThan(0);
    expect(value("seq_feed_subscribers")).toBeGreaterThanOrEqual(1);
    expect(value("seq_l1_safe_block")).toBeGreaterThan(0);
    expect(value("seq_l2_head_offset")).toBeGreaterThanOrEqual(2);
    expect(value('seq_batches{state="open"}')).toBe(1);
    expect(value('seq_snapshots{kind="all"}')).toBeGreaterThanOrEqual(0);
    expect(value("seq_ready")).toBe(1);
    expect(value("seq_process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    feed.close();
  });

  test("metric types: everything named _total is a counter, and nothing else is", async () => {
    const text = await (await fetch(`${seq.internalUrl}/metrics`)).text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(types.length).toBeGreaterThan(20);
    for (const [name, type] of types) expect(`${name} ${type}`).toBe(`${name} ${name.endsWith("_total") ? "counter" : type === "counter" ? "(a counter must end in _total)" : type}`);
  });

  testIf(which("promtool") !== null, "promtool check metrics", "promtool (Debian prometheus)")("every metric passes promtool check metrics", async () => {
    const feed = subscribe(seq.url);
    await feed.waitFor(1);
    const text = await (await fetch(`${seq.internalUrl}/metrics`)).text();
    feed.close();
    const p = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    const out = `${p.stdout.toString()}${p.stderr.toString()}`;
    expect(out.trim()).toBe("");
    expect(p.exitCode).toBe(0);
  });

  test("rejections are counted by reason", async () => {
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    const r = await postTx(seq.url, await signOp(USER_KEY, { nonce: nonce + 5, maxFee: 1409, data: transferData(1n, RECIPIENT) }));
    expect(r.status).toBe(422);
    const text = await (await fetch(`${seq.internalUrl}/metrics`)).text();
    expect(text).toContain('seq_tx_total{outcome="rejected",reason="bad_nonce"} 1');
  });

  test("an op paying less than the frame fee is rejected and not stored", async () => {
    const nonce = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce;
    const body = await signOp(USER_KEY, { nonce, maxFee: 1355, data: transferData(1n, RECIPIENT) });
    const res = await postTx(seq.url, body);
    expect(res.status).toBe(422);
    expect(res.json.code).toBe("EXECUTION_REJECTED");
    expect((await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce).toBe(nonce);
  });

  test("batches close after SEQ_MAX_BATCH_OPEN_SECONDS with chained nonces", async () => {
    const d2 = tempDir();
    const s2 = await startSequencerProcess({
      rpcUrl: anvil.url,
      dataDir: d2.path,
      env: { SEQ_MAX_BATCH_OPEN_SECONDS: "1" },
    });
    try {
      // Account 2 already has 1 ETH on L1-side history; this sequencer reads the same deposit.
      await anvil.mine(7);
      await until(async () => (await getJson(`${s2.url}/fee`)).status === 200);
      const feed = subscribe(s2.url);
      await feed.waitFor(1);
      for (let n = 0; n < 2; n++) {
        const body = await signOp(USER_KEY, { nonce: n, maxFee: 1409, data: transferData(1n, RECIPIENT) });
        expect((await postTx(s2.url, body)).status).toBe(200);
        const withOps = () => s2.logs.filter((l) => l.msg === "batch closed" && (l.user_ops as number) > 0);
        await until(() => withOps().length > n, 10_000, "batch close");
      }
      // Nonces chain 0, 1, 2, … (a batch may also close holding only the drained deposit),
      // and each op sits in its own time-closed batch.
      const closed = s2.logs.filter((l) => l.msg === "batch closed");
      expect(closed.map((l) => l.nonce)).toEqual([...closed.keys()]);
      const withOps = closed.filter((l) => (l.user_ops as number) > 0);
      expect(withOps.length).toBe(2);
      expect(withOps.every((l) => l.user_ops === 1)).toBe(true);
      feed.close();
    } finally {
      await s2.stop();
      d2.remove();
    }
  });
});
