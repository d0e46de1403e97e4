/**
 * `npm run demo`: the end-to-end example the devnet banner advertises. Run it while
 * `npm start` is up (in another terminal):
 *
 *   1. reads GET /info (chain id, application, EtherPortal, InputBox);
 *   2. subscribes to the WebSocket feed and prints every message as it arrives;
 *   3. deposits 1 ETH from anvil account 2 through EtherPortal.depositEther(app, "0x");
 *   4. waits for that deposit to appear in the feed as a `direct_input` (the devnet mines a
 *      block per second and the sequencer drains an input once the L1 safe head is 5 blocks
 *      past its open frame, so this takes a few seconds);
 *   5. reads GET /fee and GET /nonce, signs a wallet Transfer of 0.001 ETH to account 3 with
 *      EIP-712 and POSTs it to /tx: the 200 answer carries `tx_hash` and `offset`;
 *   6. waits for the `user_op` in the feed and prints the sender's new nonce.
 *
 * Environment: SEQ_DEMO_API (default http://127.0.0.1:3000), SEQ_DEMO_RPC (default
 * http://127.0.0.1:8545). Exit 0 on success, 1 with a one-line reason otherwise.
 *
 * The accounts are anvil's PUBLIC development keys: never point this at a real network.
 */
import {
  type Address,
  type Hex,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  formatEther,
  http,
  parseEther,
  parseEventLogs,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEVNET_KEYS, etherPortalAbi, inputBoxAbi } from "../src/l1/contracts.ts";
import { encodeTransfer } from "../src/app/wallet-payloads.ts";
import { signUserOp } from "./lib/user-op.ts";

const API = (process.env.SEQ_DEMO_API ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
const RPC = process.env.SEQ_DEMO_RPC ?? "http://127.0.0.1:8545";
const DEPOSITOR_INDEX = 2;
const RECIPIENT_INDEX = 3;
const DEPOSIT = parseEther("1");
const TRANSFER = parseEther("0.001");
const DEPOSIT_TIMEOUT_MS = 90_000;
const OP_TIMEOUT_MS = 20_000;

class DemoError extends Error {}

function say(s: string): void {
  process.stdout.write(s + "\n");
}

function short(hex: unknown, keep = 18): string {
  const s = String(hex);
  return s.length > keep * 2 + 3 ? `${s.slice(0, keep + 2)}…${s.slice(-keep)} (${(s.length - 2) / 2} bytes)` : s;
}

function describeFeedMessage(m: Record<string, unknown>): string {
  switch (m.kind) {
    case "direct_input":
      return `direct_input offset=${m.offset} block=${m.block_number} input_index=${m.input_index} sender=${m.sender} payload=${short(m.payload)}`;
    case "user_op":
      return `user_op      offset=${m.offset} sender=${m.sender} nonce=${m.nonce} fee=${m.fee} tx_hash=${m.tx_hash} data=${short(m.data)}`;
    case "rollback":
      return `rollback     offset=${m.offset} generation=${m.generation}`;
    default:
      return JSON.stringify(m);
  }
}

async function api<T = any>(path: string, init?: RequestInit): Promise<{ status: number; json: T }> {
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new DemoError(
      `cannot reach the sequencer API at ${API} (${(e as Error).message}). ` +
        "Is the devnet running? Start it with `npm start` in another terminal, or set SEQ_DEMO_API.",
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as T };
  } catch {
    throw new DemoError(`${API}${path} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
}

interface Feed {
  messages: Record<string, unknown>[];
  waitFor(pred: (m: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>;
  close(): void;
}

/** Subscribes from offset 0 and prints each message as it arrives. */
async function openFeed(): Promise<Feed> {
  const url = `${API.replace(/^http/, "ws")}/ws/subscribe`;
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let closedWith: string | null = null;
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new DemoError(`cannot open the feed at ${url}`));
  });
  say(`feed: subscribed to ${url}`);
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as Record<string, unknown>;
    messages.push(m);
    say(`  feed ▸ ${describeFeedMessage(m)}`);
    for (const w of waiters) w();
  };
  ws.onclose = (ev) => {
    closedWith = `${ev.code}${ev.reason ? ` ${ev.reason}` : ""}`;
    for (const w of waiters) w();
  };
  let closing = false;
  return {
    messages,
    waitFor(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(pred);
          if (hit) return done(() => resolve(hit));
          if (closedWith !== null && !closing) {
            return done(() => reject(new DemoError(`the feed closed (${closedWith}) while waiting for ${what}`)));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new DemoError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`))),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      closing = true;
      ws.close();
    },
  };
}

async function main(): Promise<void> {
  say(`sequencer API: ${API}`);
  say(`L1 (anvil):    ${RPC}`);

  // 1. /info
  const info = await api<{
    chain_id: number;
    app_address: Address;
    input_box_address: Address;
    ether_portal_address: Address | null;
    batch_submitter_address: Address;
    version: string;
  }>("/info");
  if (info.status !== 200) throw new DemoError(`GET /info answered ${info.status}: ${JSON.stringify(info.json)}`);
  say(`\nGET /info → ${JSON.stringify(info.json, null, 2)}`);
  const { chain_id: chainId, app_address: app, input_box_address: inputBox } = info.json;
  const portal = info.json.ether_portal_address;
  if (!portal) throw new DemoError("this sequencer has no EtherPortal configured (SEQ_ETHER_PORTAL_ADDRESS)");

  // L1 clients, checked against the sequencer's chain.
  const chain = defineChain({
    id: chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [RPC] } },
  });
  const transport = http(RPC, { retryCount: 0, timeout: 10_000 });
  const l1 = createPublicClient({ chain, transport, pollingInterval: 250 });
  let rpcChainId: number;
  try {
    rpcChainId = await l1.getChainId();
  } catch (e) {
    throw new DemoError(
      `cannot reach anvil at ${RPC} (${(e as Error).message.split("\n")[0]}). ` +
        "Is the devnet running (`npm start`)? Set SEQ_DEMO_RPC if anvil is on another port.",
    );
  }
  if (rpcChainId !== chainId) {
    throw new DemoError(`${RPC} is chain ${rpcChainId} but the sequencer at ${API} is bound to chain ${chainId}`);
  }

  const depositor = privateKeyToAccount(DEVNET_KEYS[DEPOSITOR_INDEX]);
  const recipient = privateKeyToAccount(DEVNET_KEYS[RECIPIENT_INDEX]).address;
  const sender = depositor.address.toLowerCase() as Hex;

  // 2. the feed
  say("");
  const feed = await openFeed();
  try {
    // 3. deposit through the real EtherPortal
    say(`\nL1: EtherPortal(${portal}).depositEther(${app}, 0x) with ${formatEther(DEPOSIT)} ETH from account ${DEPOSITOR_INDEX} (${depositor.address})`);
    const wallet = createWalletClient({ account: depositor, chain, transport });
    const hash = await wallet.writeContract({
      address: portal,
      abi: etherPortalAbi,
      functionName: "depositEther",
      args: [app, "0x"],
      value: DEPOSIT,
    });
    const receipt = await l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    if (receipt.status !== "success") throw new DemoError(`the deposit transaction ${hash} reverted`);
    const added = parseEventLogs({ abi: inputBoxAbi, eventName: "InputAdded", logs: receipt.logs }).find(
      (l) => l.address.toLowerCase() === inputBox.toLowerCase() && l.args.appContract.toLowerCase() === app.toLowerCase(),
    );
    if (!added) throw new DemoError(`the deposit ${hash} emitted no InputAdded for ${app}`);
    const inputIndex = Number(added.args.index);
    say(`L1: deposit mined in block ${receipt.blockNumber} (tx ${hash}), InputBox input index ${inputIndex}`);

    // 4. wait for it in the feed
    say(`waiting for input ${inputIndex} as a direct_input in the feed (the sequencer takes it once L1 marks it safe)…`);
    await feed.waitFor(
      (m) => m.kind === "direct_input" && Number(m.input_index) === inputIndex,
      DEPOSIT_TIMEOUT_MS,
      `input ${inputIndex} as a direct_input in the feed`,
    );

    // 5. fee, nonce, sign, POST
    const fee = await api<{ fee: number; recommended_fee: number; suggested_max_fee: number }>("/fee");
    if (fee.status !== 200) throw new DemoError(`GET /fee answered ${fee.status}: ${JSON.stringify(fee.json)}`);
    say(`\nGET /fee → ${JSON.stringify(fee.json)}`);
    const nonce = await api<{ sender: string; next_nonce: number }>(`/nonce?sender=${sender}`);
    if (nonce.status !== 200) throw new DemoError(`GET /nonce answered ${nonce.status}: ${JSON.stringify(nonce.json)}`);
    say(`GET /nonce?sender=${sender} → ${JSON.stringify(nonce.json)}`);

    const body = await signUserOp(
      DEVNET_KEYS[DEPOSITOR_INDEX],
      {
        nonce: nonce.json.next_nonce,
        maxFee: fee.json.suggested_max_fee,
        data: bytesToHex(encodeTransfer(TRANSFER, recipient.toLowerCase() as Hex)),
      },
      BigInt(chainId),
      app.toLowerCase() as Hex,
    );
    say(`\nsigned (EIP-712 UserOp) a Transfer of ${formatEther(TRANSFER)} ETH to account ${RECIPIENT_INDEX} (${recipient}):`);
    say(JSON.stringify(body, null, 2));
    const res = await api<{ ok: boolean; tx_hash?: string; offset?: number; code?: string; message?: string }>("/tx", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    say(`POST /tx → ${res.status} ${JSON.stringify(res.json)}`);
    if (res.status !== 200 || !res.json.ok || !res.json.tx_hash) {
      throw new DemoError(`the sequencer refused the transfer: ${res.status} ${res.json.code ?? ""} ${res.json.message ?? ""}`.trim());
    }
    const txHash = res.json.tx_hash;

    // 6. the op in the feed, and the new nonce
    await feed.waitFor((m) => m.kind === "user_op" && m.tx_hash === txHash, OP_TIMEOUT_MS, `user_op ${txHash} in the feed`);
    const after = await api<{ sender: string; next_nonce: number }>(`/nonce?sender=${sender}`);
    say(`\nGET /nonce?sender=${sender} → ${JSON.stringify(after.json)}`);
    say(`\ndone: soft-confirmed at offset ${res.json.offset} with tx_hash ${txHash}; next nonce ${after.json.next_nonce}`);
  } finally {
    feed.close();
  }
}

try {
  await main();
  process.exit(0);
} catch (e) {
  const msg = e instanceof DemoError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`demo failed: ${msg}\n`);
  process.exit(1);
}
