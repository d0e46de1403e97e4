/**
 * Per-op status and the operator batch view against the real sequencer process and a real
 * anvil. Automine is switched off after the deposit so that each step of an op's life
 * (soft_confirmed → submitted → included → safe → finalized) is held until the test mines
 * the next block, and observed over HTTP. Devnet anvil runs `--slots-in-an-epoch 1`: the safe
 * head trails latest by one block and the finalized head by two.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { hexToBytes } from "../../src/core/bytes.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { getJson, postTx, signOp, subscribe, transferData, until } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";
import type { Hex } from "viem";
import { submitterBatchesOnL1 } from "../support/l1-batches.ts";

const KEY = DEVNET_KEYS[2] as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

let anvil: DevnetAnvil;
let seq: SequencerProcess | undefined;
const dir = tempDir();

beforeEach(async () => {
  anvil = await withDevnetAnvil();
});

afterEach(async () => {
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
});

async function setAutomine(on: boolean): Promise<void> {
  await anvil.publicClient.request({ method: "evm_setAutomine" as never, params: [on] as never });
}

async function status(hash: string) {
  return (await getJson(`${seq!.url}/tx/${hash}`)).json;
}

async function statusIs(hash: string, want: string) {
  return until(async () => {
    const s = await status(hash);
    return s.status === want ? s : null;
  }, 20_000, `status ${want}`);
}

test("an op is observed in every status, and the batch view agrees", async () => {
  seq = await startSequencerProcess({
    rpcUrl: anvil.url,
    dataDir: dir.path,
    env: { SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100" },
  });
  const feed = subscribe(seq.url);
  await anvil.deposit(2, 10n ** 18n);
  // The deposit becomes safe and is drained once the lane opens a frame (safe head moved on).
  await until(async () => {
    await anvil.mine(1);
    return feed.messages.length >= 1;
  }, 20_000, "deposit drained");
  await setAutomine(false);

  const ack = await postTx(seq.url, await signOp(KEY, { nonce: 0, maxFee: 1409, data: transferData(1n, TO) }));
  expect(ack.status).toBe(200);
  const hash: string = ack.json.tx_hash;

  // Durable here, nothing on L1.
  const soft = await status(hash.toUpperCase().replace("0X", "0x"));
  expect(soft).toEqual({
    tx_hash: hash,
    status: "soft_confirmed",
    offset: ack.json.offset,
    batch_nonce: 0,
    l1_tx_hash: null,
    l1_block: null,
    // the wallet's transfer notice: from || to || amount
    outputs: [{ kind: "notice", payload: `${DEVNET_ADDRESSES[2]!.toLowerCase()}${TO.slice(2)}${(1n).toString(16).padStart(64, "0")}` }],
  });

  // The batch closes and is broadcast; with automine off it waits in the mempool.
  const submitted = await statusIs(hash, "submitted");
  expect(submitted.l1_tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
  expect(submitted.l1_block).toBeNull();
  const internal = async () => (await getJson(`${seq!.internalUrl}/batches`)).json.batches;
  expect((await internal())[0]).toMatchObject({ nonce: 0, state: "submitted", user_ops: 1, l1_tx_hash: submitted.l1_tx_hash });

  await anvil.mine(1);
  const minedBlock = Number(await anvil.publicClient.getBlockNumber());
  const included = await statusIs(hash, "included");
  expect(included).toMatchObject({ l1_block: minedBlock });

  await anvil.mine(1); // safe = the block the batch landed in
  const safe = await statusIs(hash, "safe");
  expect(safe).toMatchObject({ l1_block: minedBlock, batch_nonce: 0, offset: ack.json.offset });

  await anvil.mine(1); // finalized reaches it
  const fin = await statusIs(hash, "finalized");
  expect(fin).toMatchObject({ l1_block: minedBlock });

  // The operator view: same state, the L1 payload's exact size, landing position.
  const ours = await submitterBatchesOnL1(anvil);
  expect(ours).toHaveLength(1);
  const landed = ours[0]!;
  const [b0] = await internal();
  expect(b0).toMatchObject({
    nonce: 0,
    state: "finalized",
    finalized: true,
    user_ops: 1,
    bytes: hexToBytes(landed.payload).length,
    landed_block: minedBlock,
    landed_input_index: landed.index,
    mined_block: minedBlock,
    l1_tx_hash: fin.l1_tx_hash,
    wallet_nonce: 0,
  });
  expect(fin.l1_tx_hash).toBe(landed.transactionHash);

  // Errors, and each route only on its own listener.
  expect((await getJson(`${seq.url}/tx/0x1234`)).json).toMatchObject({ ok: false, code: "BAD_REQUEST" });
  const missing = await getJson(`${seq.url}/tx/0x${"ab".repeat(32)}`);
  expect(missing.status).toBe(404);
  expect(missing.json.code).toBe("NOT_FOUND");
  expect((await getJson(`${seq.url}/batches`)).status).toBe(404);
  expect((await getJson(`${seq.internalUrl}/tx/${hash}`)).status).toBe(404);
  expect((await getJson(`${seq.internalUrl}/batches?limit=0`)).status).toBe(400);

  await setAutomine(true);
  feed.close();
}, 60_000);
