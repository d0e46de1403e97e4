/**
 * `npm run dev -- COMMAND`: an app author's hands on the devnet (`npm start` running):
 *
 *   deposit ETH [--account N]          EtherPortal.depositEther(app, 0x) from anvil account N
 *   op DATA [--account N]              signs {nonce, max_fee, data} with EIP-712 and POSTs /tx
 *   inspect PAYLOAD                    POST /inspect; prints each report as hex and as text
 *
 * DATA and PAYLOAD are 0x-hex, or `text:...` for UTF-8. The account defaults to 2 (anvil's
 * third public development key). Ports: the same variables as `npm start` (SEQ_HTTP_ADDR,
 * SEQ_DEVNET_ANVIL_PORT; see scripts/lib/demo-urls.ts). The keys are anvil's PUBLIC
 * development keys: never point this at a real network.
 */
import { createPublicClient, createWalletClient, defineChain, http, parseEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signUserOp } from "./lib/user-op.ts";
import { demoUrls } from "./lib/demo-urls.ts";
import { DEVNET_KEYS, etherPortalAbi } from "../src/l1/contracts.ts";

const { api: API, rpc: RPC } = demoUrls(process.env);

class UsageError extends Error {}

function bytesArg(s: string | undefined): Hex {
  if (s === undefined) throw new UsageError("missing DATA: 0x-hex or text:...");
  if (s.startsWith("text:")) return `0x${Buffer.from(s.slice(5), "utf8").toString("hex")}`;
  if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new UsageError(`not 0x-hex with an even number of digits, nor text:...: ${s}`);
  return s.toLowerCase() as Hex;
}

async function api(path: string, init?: RequestInit): Promise<{ status: number; json: any }> {
  const res = await fetch(`${API}${path}`, { ...init, signal: AbortSignal.timeout(10_000) }).catch((e: Error) => {
    throw new Error(`cannot reach ${API} (${e.message}): is \`npm start\` running?`);
  });
  return { status: res.status, json: await res.json() };
}

function keyOf(args: string[]): Hex {
  const i = args.indexOf("--account");
  const n = i >= 0 ? Number(args[i + 1]) : 2;
  if (!Number.isInteger(n) || n < 0 || n >= DEVNET_KEYS.length) throw new UsageError(`--account must be 0..${DEVNET_KEYS.length - 1}`);
  return DEVNET_KEYS[n]! as Hex;
}

function account(args: string[]) {
  return privateKeyToAccount(keyOf(args));
}

function printable(b: Buffer): string | null {
  const t = b.toString("utf8");
  return /^[\x20-\x7e\n\t]*$/.test(t) && t.length > 0 ? t : null;
}

async function main(args: string[]): Promise<void> {
  const [cmd, arg] = args;
  const info = (await api("/info")).json;
  if (cmd === "deposit") {
    const value = parseEther(arg ?? "");
    const from = account(args);
    const chain = defineChain({ id: info.chain_id, name: "devnet", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [RPC] } } });
    const wallet = createWalletClient({ account: from, chain, transport: http(RPC) });
    const hash = await wallet.writeContract({ address: info.ether_portal_address, abi: etherPortalAbi, functionName: "depositEther", args: [info.app_address, "0x"], value });
    const receipt = await createPublicClient({ chain, transport: http(RPC) }).waitForTransactionReceipt({ hash });
    console.log(JSON.stringify({ deposited: arg, from: from.address, l1_tx: hash, block: Number(receipt.blockNumber), status: receipt.status }));
  } else if (cmd === "op") {
    const data = bytesArg(arg);
    const from = account(args);
    const sender = from.address.toLowerCase();
    const nonce = (await api(`/nonce?sender=${sender}`)).json.next_nonce as number;
    const maxFee = (await api("/fee")).json.suggested_max_fee as number;
    const body = await signUserOp(keyOf(args), { nonce, maxFee, data }, BigInt(info.chain_id), info.app_address);
    const r = await api("/tx", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    console.log(JSON.stringify({ status: r.status, ...r.json }));
    if (r.status !== 200) process.exitCode = 1;
  } else if (cmd === "inspect") {
    const payload = bytesArg(arg);
    const r = await api("/inspect", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ payload }) });
    console.log(JSON.stringify({ status: r.status, ...r.json }));
    for (const rep of (r.json.reports ?? []) as { payload: string }[]) {
      const t = printable(Buffer.from(rep.payload.slice(2), "hex"));
      if (t !== null) console.log(`  report (text): ${t}`);
    }
  } else {
    throw new UsageError("usage: npm run dev -- deposit ETH | op DATA | inspect PAYLOAD  [--account N]");
  }
}

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`dev: ${e.message}\n`);
  process.exit(e instanceof UsageError ? 64 : 1);
});
