/**
 * The wallet with failure triggers, for the sequencer ≡ scheduler property with failing
 * inputs (SPEC 2.8). Built from the real wallet sources plus one wrapper entry file, so every
 * other input behaves exactly as in the wallet:
 *
 * - an op whose data starts with 0xf1 loops forever in apply (fuel), 0xf2 hits `unreachable`
 *   in apply (trap), 0xf3 recurses without bound in apply (depth), 0xf4 loops in validate;
 * - a direct input whose payload starts with 0xf1 loops forever (an included no-op).
 *
 * Such data is ≤ 53 bytes and does not decode as a wallet method, so without the triggers
 * the wallet would include it as a no-op: the failure is the only difference.
 */
import { compileWallet } from "../../scripts/build-wasm.ts";

export const CHAOS = { applyLoop: 0xf1, applyTrap: 0xf2, applyRecursion: 0xf3, validateLoop: 0xf4 } as const;

const ENTRY = `
import {
  validate as walletValidate,
  apply_user_op as walletApplyUserOp,
  apply_direct_input as walletApplyDirectInput,
} from "./index";
export {
  abi_version, alloc, dealloc, init, max_data_len, last_error_ptr, last_error_len,
  nonce_of, dump, dump_ptr, dump_len, load,
} from "./index";

let sink: u32 = 0;
function spin(): void { while (true) { sink++; } }
function deeper(n: u32): u32 { return n == 0xffffffff ? 0 : deeper(n + 1) + 1; }

export function validate(sender: usize, nonce: u32, fee: u32, feeLinear: usize, data: usize, dataLen: usize): i32 {
  if (dataLen > 0 && load<u8>(data) == ${CHAOS.validateLoop}) spin();
  return walletValidate(sender, nonce, fee, feeLinear, data, dataLen);
}

export function apply_user_op(sender: usize, nonce: u32, fee: u32, feeLinear: usize, data: usize, dataLen: usize, safeBlock: i64): i32 {
  const rc = walletApplyUserOp(sender, nonce, fee, feeLinear, data, dataLen, safeBlock);
  // after the wallet changed state: the restore must undo it
  if (dataLen > 0) {
    const t = load<u8>(data);
    if (t == ${CHAOS.applyLoop}) spin();
    if (t == ${CHAOS.applyTrap}) unreachable();
    if (t == ${CHAOS.applyRecursion}) sink += deeper(0);
  }
  return rc;
}

export function apply_direct_input(sender: usize, block: i64, payload: usize, len: usize): i32 {
  const rc = walletApplyDirectInput(sender, block, payload, len);
  if (len > 0 && load<u8>(payload) == ${CHAOS.applyLoop}) spin();
  return rc;
}
`;

let compiled: Promise<Uint8Array> | null = null;

/** The chaos wallet module (compiled once per process). */
export function chaosWalletBytes(): Promise<Uint8Array> {
  compiled ??= compileWallet({
    "assembly/chaos.ts": ENTRY,
    "asconfig.json": JSON.stringify({
      entries: ["assembly/chaos.ts"],
      options: { outFile: "build/chaos.wasm", runtime: "incremental", optimizeLevel: 3, shrinkLevel: 0, converge: true, noColors: true },
    }),
  });
  return compiled;
}
