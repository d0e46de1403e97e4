/**
 * Batch wire format (SPEC 2.2): SSZ, posted raw as the InputBox payload.
 *
 *   Batch      { nonce: uint64, frames: List[Frame, 2^16] }
 *   Frame      { user_ops: List[WireUserOp, 2^20], safe_block: uint64, fee_price: uint16 }
 *   WireUserOp { nonce: uint32, max_fee: uint16, data: List[uint8, 65536], signature: List[uint8, 256] }
 *
 * The decoder is strict: it accepts exactly the byte strings the encoder produces (it
 * re-encodes and compares), so one batch has one encoding and the scheduler, the live
 * sequencer and the replay verifier can never disagree about a payload's meaning.
 */
import {
  ByteListType,
  ContainerType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
  type ValueOf,
} from "@chainsafe/ssz";
import { keccak256 } from "./keccak.ts";
import { bytesEqual, U16_MAX, U32_MAX, U64_MAX, writeU16LE, writeU32LE } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import { EncodeError } from "./protocol-errors.ts";

// ---- limits (documented in docs/protocol.md) --------------------------------------------

/** Largest `data` the codec accepts; ingress must also apply the app's (smaller) maximum. */
export const MAX_USER_OP_DATA_BYTES = 65_536;
/** The codec does not pin signatures to 65 bytes: a wrong length is a bad signature, skipped. */
export const MAX_SIGNATURE_BYTES = 256;
export const MAX_USER_OPS_PER_FRAME = 1 << 20;
export const MAX_FRAMES_PER_BATCH = 1 << 16;

/** The signature length the protocol actually signs with (r || s || v). */
export const SIGNATURE_BYTES = 65;

// ---- sizes -------------------------------------------------------------------------------

/** nonce u32 + max_fee u16 + two 4-byte offsets. */
const WIRE_USER_OP_FIXED = 14;
/** Bytes one op adds to a frame besides its data: list offset 4 + fixed 14 + signature 65. */
export const WIRE_USER_OP_OVERHEAD = 4 + WIRE_USER_OP_FIXED + SIGNATURE_BYTES; // 83
/** Bytes one (empty) frame adds to a batch: list offset 4 + user_ops offset 4 + u64 + u16. */
export const FRAME_OVERHEAD = 4 + 4 + 8 + 2; // 18
/** Bytes of an empty batch: nonce u64 + frames offset 4. */
export const BATCH_OVERHEAD = 8 + 4; // 12

/** Bytes a well-formed op (65-byte signature) adds to its frame. */
export function wireUserOpSize(dataLen: number): number {
  return WIRE_USER_OP_OVERHEAD + dataLen;
}

// ---- value types -------------------------------------------------------------------------

export interface WireUserOp {
  nonce: number;
  maxFee: number;
  data: Uint8Array;
  signature: Uint8Array;
}

export interface Frame {
  userOps: WireUserOp[];
  safeBlock: bigint;
  feePrice: number;
}

export interface Batch {
  nonce: bigint;
  frames: Frame[];
}

// ---- SSZ types (field order is wire order) -----------------------------------------------

export const WireUserOpSsz = new ContainerType(
  {
    nonce: new UintNumberType(4),
    maxFee: new UintNumberType(2),
    data: new ByteListType(MAX_USER_OP_DATA_BYTES),
    signature: new ByteListType(MAX_SIGNATURE_BYTES),
  },
  { typeName: "WireUserOp" },
);

export const FrameSsz = new ContainerType(
  {
    userOps: new ListCompositeType(WireUserOpSsz, MAX_USER_OPS_PER_FRAME),
    safeBlock: new UintBigintType(8),
    feePrice: new UintNumberType(2),
  },
  { typeName: "Frame" },
);

export const BatchSsz = new ContainerType(
  {
    nonce: new UintBigintType(8),
    frames: new ListCompositeType(FrameSsz, MAX_FRAMES_PER_BATCH),
  },
  { typeName: "Batch" },
);

// ---- validation before encoding ----------------------------------------------------------
// @chainsafe/ssz silently truncates out-of-range integers and does not check list limits on
// serialize, so every value is checked here: the encoder must never emit bytes that the
// decoder (and therefore the scheduler) would read differently.

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`${what} out of range: ${v}`);
}

function checkU64(v: bigint, what: string): void {
  if (typeof v !== "bigint" || v < 0n || v > U64_MAX) throw new EncodeError(`${what} out of range: ${v}`);
}

function checkWireUserOp(op: WireUserOp): void {
  checkUint(op.nonce, U32_MAX, "user op nonce");
  checkUint(op.maxFee, U16_MAX, "user op max_fee");
  if (!(op.data instanceof Uint8Array) || op.data.length > MAX_USER_OP_DATA_BYTES) {
    throw new EncodeError(`user op data must be a Uint8Array of at most ${MAX_USER_OP_DATA_BYTES} bytes`);
  }
  if (!(op.signature instanceof Uint8Array) || op.signature.length > MAX_SIGNATURE_BYTES) {
    throw new EncodeError(`user op signature must be a Uint8Array of at most ${MAX_SIGNATURE_BYTES} bytes`);
  }
}

function checkFrame(f: Frame): void {
  checkU64(f.safeBlock, "frame safe_block");
  checkUint(f.feePrice, U16_MAX, "frame fee_price");
  if (f.userOps.length > MAX_USER_OPS_PER_FRAME) {
    throw new EncodeError(`frame holds ${f.userOps.length} user ops, limit ${MAX_USER_OPS_PER_FRAME}`);
  }
  for (const op of f.userOps) checkWireUserOp(op);
}

function checkBatch(b: Batch): void {
  checkU64(b.nonce, "batch nonce");
  if (b.frames.length > MAX_FRAMES_PER_BATCH) {
    throw new EncodeError(`batch holds ${b.frames.length} frames, limit ${MAX_FRAMES_PER_BATCH}`);
  }
  for (const f of b.frames) checkFrame(f);
}

// ---- WireUserOp --------------------------------------------------------------------------

/**
 * Hand-written fixed-layout encoder: it runs once per op on the hot path (tx_hash), where
 * the generic container serializer costs several allocations. Cross-checked against
 * WireUserOpSsz in tests.
 */
export function encodeWireUserOp(op: WireUserOp): Uint8Array {
  checkWireUserOp(op);
  const dataLen = op.data.length;
  const out = new Uint8Array(WIRE_USER_OP_FIXED + dataLen + op.signature.length);
  writeU32LE(out, 0, op.nonce);
  writeU16LE(out, 4, op.maxFee);
  writeU32LE(out, 6, WIRE_USER_OP_FIXED);
  writeU32LE(out, 10, WIRE_USER_OP_FIXED + dataLen);
  out.set(op.data, WIRE_USER_OP_FIXED);
  out.set(op.signature, WIRE_USER_OP_FIXED + dataLen);
  return out;
}

/** Operation id (SPEC 2.1): keccak256 of the op's SSZ encoding, signature included. */
export function txHash(op: WireUserOp): Uint8Array {
  return keccak256(encodeWireUserOp(op));
}

/**
 * Runs a library decode, turning every failure into a DecodeError, then insists on the
 * canonical encoding so that no two byte strings decode to the same value.
 */
function strictDecode<T>(what: string, bytes: Uint8Array, decode: (b: Uint8Array) => T, encode: (v: T) => Uint8Array): T {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: input must be a Uint8Array`);
  let value: T;
  try {
    value = decode(bytes);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError(`${what}: invalid SSZ (${reason})`, { cause });
  }
  let again: Uint8Array;
  try {
    again = encode(value);
  } catch (cause) {
    throw new DecodeError(`${what}: decoded value does not re-encode`, { cause });
  }
  if (!bytesEqual(again, bytes)) throw new DecodeError(`${what}: non-canonical SSZ encoding`);
  return value;
}

export function decodeWireUserOp(bytes: Uint8Array): WireUserOp {
  return strictDecode("WireUserOp", bytes, (b) => WireUserOpSsz.deserialize(b), encodeWireUserOp);
}

// ---- Frame and Batch ---------------------------------------------------------------------

export function encodeFrame(frame: Frame): Uint8Array {
  checkFrame(frame);
  return FrameSsz.serialize(frame as ValueOf<typeof FrameSsz>);
}

export function decodeFrame(bytes: Uint8Array): Frame {
  return strictDecode("Frame", bytes, (b) => FrameSsz.deserialize(b), encodeFrame);
}

/** @throws EncodeError when a value is out of its wire range or a list is over its limit. */
export function encodeBatch(batch: Batch): Uint8Array {
  checkBatch(batch);
  return BatchSsz.serialize(batch as ValueOf<typeof BatchSsz>);
}

/**
 * Decodes untrusted bytes (any InputBox payload from the submitter) into a Batch.
 * @throws DecodeError and nothing else, whatever the input.
 */
export function decodeBatch(bytes: Uint8Array): Batch {
  return strictDecode("Batch", bytes, (b) => BatchSsz.deserialize(b), encodeBatch);
}

/** Exact encoded size of a batch, without encoding it. */
export function batchEncodedSize(batch: Batch): number {
  let size = BATCH_OVERHEAD;
  for (const f of batch.frames) {
    size += FRAME_OVERHEAD;
    for (const op of f.userOps) size += 4 + WIRE_USER_OP_FIXED + op.data.length + op.signature.length;
  }
  return size;
}
