import { bytesToHex, hexToBytes } from "../core/bytes.ts";
import { DecodeError, SignatureError } from "../core/errors.ts";
import type { InclusionLane } from "./lane.ts";
import type { RecoveredOp, UserOpToRecover } from "./sigpool.ts";
import { errorReply, type HttpReply } from "../http/reply.ts";

export interface TxRouteDeps {
  lane: InclusionLane;
  /** Largest `data` the app accepts; longer data is a 400 before any work is done. */
  maxDataLength: number;
  /**
   * EIP-712 digest, signer recovery and tx_hash of the op, off the main thread (the worker
   * pool). Throws SignatureError for a bad signature.
   */
  recover: (op: UserOpToRecover) => Promise<RecoveredOp>;
  /** Null when the service is accepting ops, else the reason it is not. */
  unavailableReason: () => string | null;
  /** Observability hook: the outcome, the error message if any, and the time spent (ms). */
  onOutcome?: (outcome: TxOutcome, message: string | null, elapsedMs: number) => void;
}

export type TxOutcome = "accepted" | "bad_request" | "invalid_signature" | "rejected" | "overloaded" | "unavailable" | "internal";

interface ParsedTx {
  nonce: number;
  maxFee: number;
  data: Uint8Array;
  signature: Uint8Array;
  sender: `0x${string}`;
}

/**
 * `POST /tx`: bounds-check and decode, recover the signer off-thread, then hand the op to the
 * inclusion lane and answer only once the lane reports the op durable.
 */
export async function handleTx(body: string, deps: TxRouteDeps): Promise<HttpReply> {
  const started = deps.onOutcome ? performance.now() : 0;
  const outcome = (o: TxOutcome, r: HttpReply, message: string | null = null): HttpReply => {
    deps.onOutcome?.(o, message, performance.now() - started);
    return r;
  };
  let tx: ParsedTx;
  try {
    tx = parseTxBody(body, deps.maxDataLength);
  } catch (e) {
    if (e instanceof DecodeError) return outcome("bad_request", errorReply(400, "BAD_REQUEST", e.message));
    throw e;
  }
  const unavailable = deps.unavailableReason();
  if (unavailable !== null) return outcome("unavailable", errorReply(503, "UNAVAILABLE", unavailable));
  if (!deps.lane.tryReserve()) return outcome("overloaded", errorReply(429, "OVERLOADED", "queue full"));

  let signer: `0x${string}`;
  let hash: Uint8Array;
  try {
    const r = await deps.recover({ nonce: tx.nonce, maxFee: tx.maxFee, data: tx.data, signature: tx.signature });
    signer = r.signer;
    hash = r.txHash;
  } catch (e) {
    deps.lane.release();
    if (e instanceof SignatureError) {
      return outcome("invalid_signature", errorReply(400, "INVALID_SIGNATURE", e.message));
    }
    throw e;
  }
  if (signer !== tx.sender) {
    deps.lane.release();
    return outcome(
      "invalid_signature",
      errorReply(400, "INVALID_SIGNATURE", `signature is by ${signer}, not by sender ${tx.sender}`),
    );
  }
  const result = await deps.lane.submit({
    sender: tx.sender,
    senderBytes: hexToBytes(tx.sender, 20),
    nonce: tx.nonce,
    maxFee: tx.maxFee,
    data: tx.data,
    signature: tx.signature,
    txHash: hash,
  });
  if (!result.ok) {
    const status = result.code === "EXECUTION_REJECTED" ? 422 : result.code === "UNAVAILABLE" ? 503 : 500;
    const o: TxOutcome = status === 422 ? "rejected" : status === 503 ? "unavailable" : "internal";
    return outcome(o, errorReply(status, result.code, result.message), result.message);
  }
  return outcome("accepted", {
    status: 200,
    body:
      `{"ok":true,"sender":"${tx.sender}","nonce":${tx.nonce},` +
      `"tx_hash":"${bytesToHex(hash)}","offset":${result.offset}}`,
  });
}

/** Strict decoding of the request body; every failure is a DecodeError with a precise reason. */
export function parseTxBody(body: string, maxDataLength: number): ParsedTx {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new DecodeError("malformed JSON body");
  }
  if (!isObject(json)) throw new DecodeError("body must be a JSON object");
  const message = json.message;
  if (!isObject(message)) throw new DecodeError("message must be an object");
  const nonce = uint(message.nonce, "message.nonce", 0xffff_ffff);
  const maxFee = uint(message.max_fee, "message.max_fee", 0xffff);
  if (typeof message.data !== "string") throw new DecodeError("message.data must be a 0x-hex string");
  const data = hexField(message.data, "message.data");
  if (data.length > maxDataLength) {
    throw new DecodeError(`message.data is ${data.length} bytes; the app accepts at most ${maxDataLength}`);
  }
  if (typeof json.signature !== "string") throw new DecodeError("signature must be a 0x-hex string");
  const signature = hexField(json.signature, "signature");
  if (signature.length !== 65) throw new DecodeError(`signature must be 65 bytes, got ${signature.length}`);
  if (typeof json.sender !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(json.sender)) {
    throw new DecodeError("sender must be a 0x-prefixed 20-byte hex address");
  }
  return { nonce, maxFee, data, signature, sender: json.sender.toLowerCase() as `0x${string}` };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function uint(v: unknown, name: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new DecodeError(`${name} must be an integer between 0 and ${max}`);
  }
  return v;
}

function hexField(v: string, name: string): Uint8Array {
  try {
    return hexToBytes(v);
  } catch {
    throw new DecodeError(`${name} is not valid 0x-prefixed even-length hex`);
  }
}
