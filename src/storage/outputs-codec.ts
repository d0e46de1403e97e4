/**
 * How an entry's outputs are stored (`user_ops.outputs`, `direct_outputs.outputs`): for each output, in emission
 * order, its kind code (u8, core/l2tx.ts OUTPUT_KINDS) || payload length (u32 LE) || payload.
 * Compact and self-delimiting; only this module reads or writes it.
 */
import { DecodeError } from "../core/errors.ts";
import { OUTPUT_KINDS, type Output } from "../core/l2tx.ts";

const NONE: readonly Output[] = Object.freeze([]);

export function encodeOutputs(outputs: readonly Output[]): Uint8Array {
  let size = 0;
  for (const o of outputs) size += 5 + o.payload.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const o of outputs) {
    out[p] = OUTPUT_KINDS.indexOf(o.kind);
    dv.setUint32(p + 1, o.payload.length, true);
    out.set(o.payload, p + 5);
    p += 5 + o.payload.length;
  }
  return out;
}

/** @throws DecodeError when the bytes are not what encodeOutputs writes. */
export function decodeOutputs(bytes: Uint8Array | null): readonly Output[] {
  if (bytes === null || bytes.length === 0) return NONE;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Output[] = [];
  let p = 0;
  while (p < bytes.length) {
    const kind = OUTPUT_KINDS[bytes[p]!];
    if (kind === undefined || p + 5 > bytes.length) throw new DecodeError(`stored outputs: bad record at byte ${p}`);
    const len = dv.getUint32(p + 1, true);
    if (p + 5 + len > bytes.length) throw new DecodeError(`stored outputs: record at byte ${p} overruns`);
    out.push({ kind, payload: bytes.slice(p + 5, p + 5 + len) });
    p += 5 + len;
  }
  return out;
}
