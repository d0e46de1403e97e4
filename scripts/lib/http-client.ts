import { bytesToHex, type Hex } from "viem";
import { encodeTransfer, encodeWithdrawal } from "../../src/app/wallet-payloads.ts";
import { signUserOp, type TxBody } from "./user-op.ts";
import { DEVNET_DEPLOYMENT } from "../../src/l1/contracts.ts";

export type { TxBody } from "./user-op.ts";

/** signUserOp (scripts/lib/user-op.ts) with the devnet's chain and application by default. */
export async function signOp(
  key: Hex,
  op: { nonce: number; maxFee: number; data: Hex },
  chainId = BigInt(DEVNET_DEPLOYMENT.chainId),
  app = DEVNET_DEPLOYMENT.application.toLowerCase() as Hex,
): Promise<TxBody> {
  return signUserOp(key, op, chainId, app);
}

/** Wallet method payload: Transfer{amount u256 LE, to} with selector 0x01 (53 bytes). */
export function transferData(amount: bigint, to: Hex): Hex {
  return bytesToHex(encodeTransfer(amount, to));
}

/** Wallet method payload: Withdrawal{amount u256 LE} with selector 0x00 (33 bytes). */
export function withdrawalData(amount: bigint): Hex {
  return bytesToHex(encodeWithdrawal(amount));
}

export async function postTx(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/tx`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

export async function getJson(url: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url);
  return { status: res.status, json: await res.json() };
}

/** A WebSocket feed subscriber that records every message and the close event. */
export interface FeedClient {
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  /** Resolves once `n` messages have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  close(): void;
}

export function subscribe(url: string, query = ""): FeedClient {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws/subscribe${query}`);
  const messages: any[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`websocket error: ${String((e as ErrorEvent).message ?? e)}`));
  });
  opened.catch(() => {});
  ws.onmessage = (m) => {
    messages.push(JSON.parse(String(m.data)));
    for (const w of [...waiters]) {
      if (messages.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  ws.onclose = (e) => resolveClosed({ code: e.code, reason: e.reason });
  return {
    messages,
    closed,
    opened,
    waitFor: (n, timeoutMs = 15_000) => {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`feed: got ${messages.length} messages, wanted ${n}`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(messages);
          },
        });
      });
    },
    close: () => ws.close(),
  };
}

/** Polls `fn` until it returns a truthy value. */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}
