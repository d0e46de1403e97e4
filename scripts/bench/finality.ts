/**
 * Time from the soft confirmation of an op to each later status on the devnet appliance
 * (anvil with 1 s blocks, `--slots-in-an-epoch 1`), with SEQ_MAX_BATCH_OPEN_SECONDS=2.
 *
 *   bun scripts/bench/finality.ts [ops=5]
 *
 * Runs `sequencer devnet` as a child process on free ports with a temporary data dir.
 */
import { join } from "node:path";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS, DEVNET_DEPLOYMENT, etherPortalAbi } from "../../src/l1/contracts.ts";
import { freePort } from "../lib/ports.ts";
import { getJson, postTx, signOp, subscribe, transferData } from "../lib/http-client.ts";
import { tempDir } from "../lib/sequencer-process.ts";
import { createWalletClient, http, createPublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";

const ops = Number(process.argv[2] ?? 5);
const dir = tempDir("seq-finality-");
const [apiPort, internalPort, anvilPort] = [await freePort(), await freePort(), await freePort()];
const api = `http://127.0.0.1:${apiPort}`;
const rpc = `http://127.0.0.1:${anvilPort}`;
const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "src", "cli", "main.ts"), "devnet"], {
  env: {
    ...process.env,
    SEQ_DATA_DIR: dir.path,
    SEQ_HTTP_ADDR: `127.0.0.1:${apiPort}`,
    SEQ_INTERNAL_HTTP_ADDR: `127.0.0.1:${internalPort}`,
    SEQ_DEVNET_ANVIL_PORT: String(anvilPort),
    SEQ_MAX_BATCH_OPEN_SECONDS: "2",
  },
  stdout: "ignore",
  stderr: "ignore",
});
try {
  for (let i = 0; ; i++) {
    if ((await fetch(`${api}/readyz`).catch(() => null))?.status === 200) break;
    if (i > 200) throw new Error("devnet did not become ready");
    await Bun.sleep(100);
  }
  const key = DEVNET_KEYS[2] as Hex;
  const wallet = createWalletClient({ account: privateKeyToAccount(key), chain: foundry, transport: http(rpc) });
  const pub = createPublicClient({ chain: foundry, transport: http(rpc) });
  const feed = subscribe(api);
  const hash = await wallet.writeContract({
    address: DEVNET_DEPLOYMENT.etherPortal,
    abi: etherPortalAbi,
    functionName: "depositEther",
    args: [DEVNET_DEPLOYMENT.application, "0x"],
    value: 10n ** 18n,
  });
  await pub.waitForTransactionReceipt({ hash });
  await feed.waitFor(1, 30_000);
  feed.close();
  const rows: Record<string, number>[] = [];
  for (let n = 0; n < ops; n++) {
    const body = await signOp(key, { nonce: n, maxFee: 1409, data: transferData(1n, DEVNET_ADDRESSES[3]!.toLowerCase() as Hex) });
    const t0 = performance.now();
    const r = await postTx(api, body);
    if (r.status !== 200) throw new Error(`POST /tx: ${JSON.stringify(r.json)}`);
    const row: Record<string, number> = { ack_ms: +(performance.now() - t0).toFixed(2) };
    let last = "soft_confirmed";
    while (last !== "finalized") {
      await Bun.sleep(25);
      const st = (await getJson(`${api}/tx/${r.json.tx_hash}`)).json.status as string;
      if (st !== last) {
        row[`${st}_ms`] = Math.round(performance.now() - t0);
        last = st;
      }
      if (performance.now() - t0 > 60_000) throw new Error("not finalized within 60 s");
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const fin = rows.map((r) => r.finalized_ms!).sort((a, b) => a - b);
  console.log(JSON.stringify({ ops, finalized_p50_ms: fin[Math.floor(fin.length / 2)], finalized_max_ms: fin.at(-1) }));
} finally {
  proc.kill("SIGTERM");
  await proc.exited;
  dir.remove();
}
