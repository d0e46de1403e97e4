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
 * It uses the TypeScript client (client/) as a frontend would: getInfo, subscribe, getFee,
 * getNonce, signUserOp, sendUserOp, getTxStatus.
 *
 * Ports: the same variables as `npm start`: SEQ_HTTP_ADDR (default 127.0.0.1:3000) and
 * SEQ_DEVNET_ANVIL_PORT (default 8545); SEQ_DEMO_API and SEQ_DEMO_RPC override them with
 * whole URLs. Exit 0 on success, 1 with a one-line reason otherwise.
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
import { createSequencerClient, SequencerApiError, SequencerTransportError, type FeedEntry, type Rollback } from "../client/src/index.ts";
import { demoUrls } from "./lib/demo-urls.ts";

const { api: API, rpc: RPC } = demoUrls(process.env);
const seq = createSequencerClient({ url: API });
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

/** The client's errors, as one line for the person running the demo. */
function explain(e: unknown, what: string): never {
  if (e instanceof SequencerTransportError) {
    throw new DemoError(
      `cannot reach the sequencer API at ${API} (${e.message}). ` +
        "Is the devnet running? Start it with `npm start` in another terminal (the demo follows SEQ_HTTP_ADDR like it).",
    );
  }
  if (e instanceof SequencerApiError) throw new DemoError(`${what}: ${e.message}`);
  throw e;
}

interface Feed {
  messages: (FeedEntry | Rollback)[];
  waitFor(pred: (m: FeedEntry | Rollback) => boolean, timeoutMs: number, what: string): Promise<FeedEntry | Rollback>;
  close(): void;
}

/** Follows the feed from offset 0 with the client, printing each message as it arrives. */
function openFeed(): Feed {
  const messages: (FeedEntry | Rollback)[] = [];
  const waiters = new Set<() => void>();
  const record = (m: FeedEntry | Rollback) => {
    messages.push(m);
    say(`  feed ▸ ${describeFeedMessage(m as unknown as Record<string, unknown>)}`);
    for (const w of waiters) w();
  };
  const sub = seq.subscribe({
    fromOffset: 0,
    onEntry: record,
    onRollback: record,
    onStatus: (st) => {
      if (st.state === "open") say(`feed: following ${API.replace(/^http/, "ws")}/ws/subscribe from offset ${st.fromOffset}`);
      if (st.state === "reconnecting") say(`feed: ${st.reason}; reconnecting in ${st.inMs} ms`);
    },
  });
  return {
    messages,
    waitFor(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(pred);
          if (hit) done(() => resolve(hit));
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
    close: () => sub.close(),
  };
}

async function main(): Promise<void> {
  say(`sequencer API: ${API}`);
  say(`L1 (anvil):    ${RPC}`);

  // 1. /info
  const info = await seq.getInfo().catch((e) => explain(e, "GET /info"));
  say(`\nGET /info → ${JSON.stringify(info, null, 2)}`);
  const { chain_id: chainId, app_address: app, input_box_address: inputBox } = info;
  const portal = info.ether_portal_address as Address | null;
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
        "Is the devnet running (`npm start`)? The demo follows SEQ_DEVNET_ANVIL_PORT like it.",
    );
  }
  if (rpcChainId !== chainId) {
    throw new DemoError(`${RPC} is chain ${rpcChainId} but the sequencer at ${API} is bound to chain ${chainId}`);
  }

  const depositor = privateKeyToAccount(DEVNET_KEYS[DEPOSITOR_INDEX]);
  const recipient = privateKeyToAccount(DEVNET_KEYS[RECIPIENT_INDEX]).address;
  const sender = depositor.address.toLowerCase() as Address;

  // 2. the feed
  say("");
  const feed = openFeed();
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
    const fee = await seq.getFee().catch((e) => explain(e, "GET /fee"));
    say(`\nGET /fee → ${JSON.stringify(fee)}`);
    const nonce = await seq.getNonce(sender).catch((e) => explain(e, "GET /nonce"));
    say(`GET /nonce?sender=${sender} → ${JSON.stringify({ sender, next_nonce: nonce })}`);

    const body = await seq.signUserOp(depositor, {
      nonce,
      max_fee: fee.suggested_max_fee,
      data: bytesToHex(encodeTransfer(TRANSFER, recipient.toLowerCase() as Hex)),
    });
    say(`\nsigned (EIP-712 UserOp, the domain and types from GET /domain) a Transfer of ${formatEther(TRANSFER)} ETH to account ${RECIPIENT_INDEX} (${recipient}):`);
    say(JSON.stringify(body, null, 2));
    const res = await seq.sendUserOp(body).catch((e) => explain(e, "the sequencer refused the transfer"));
    say(`POST /tx → 200 ${JSON.stringify(res)}`);
    const txHash = res.tx_hash;

    // 6. the op in the feed, its status, and the new nonce
    await feed.waitFor((m) => m.kind === "user_op" && m.tx_hash === txHash, OP_TIMEOUT_MS, `user_op ${txHash} in the feed`);
    const status = await seq.getTxStatus(txHash).catch((e) => explain(e, "GET /tx"));
    say(`\nGET /tx/${txHash} → status ${status.status}`);
    const after = await seq.getNonce(sender).catch((e) => explain(e, "GET /nonce"));
    say(`GET /nonce?sender=${sender} → ${JSON.stringify({ sender, next_nonce: after })}`);
    say(`\ndone: soft-confirmed at offset ${res.offset} with tx_hash ${txHash}; next nonce ${after}`);
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
