/**
 * Test helpers for the app host (imported by *.test.ts only): wallet payload builders,
 * a dump decoder (the ABI has no balance query, so tests read balances from the canonical
 * dump), and a tiny AssemblyScript compiler wrapper for hand-written fixture modules.
 */
import asc from "assemblyscript/asc";
import { encodePacked } from "viem";
import { hexToBytes } from "../../src/core/bytes.ts";
import { loadDefaultAppBytes } from "../../src/app/default-app.ts";
import { AppHost, type AppConfig } from "../../src/app/host.ts";
import { ANVIL_0, ANVIL_2, ANVIL_3, SUBMITTER, ZERO, type Addr } from "./fixture-addresses.ts";

export type { Addr } from "./fixture-addresses.ts";

export const FEE_RECIPIENT: Addr = ANVIL_3;
export const ETHER_PORTAL: Addr = "0xc70074bdd26d8cf983ca6a5b89b8db52d5850051";
export const ERC20_PORTAL: Addr = "0xc700d6add016eecd59d989c028214eaa0fcc0051";
export const TOKEN: Addr = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
export const ALICE: Addr = ANVIL_0;
export const BOB: Addr = SUBMITTER;
export const CAROL: Addr = ANVIL_2;
export { ZERO };

export const CONFIG: AppConfig = {
  feeRecipient: FEE_RECIPIENT,
  etherPortal: ETHER_PORTAL,
  erc20Portal: ERC20_PORTAL,
  erc20Token: TOKEN,
};

const walletBytes = loadDefaultAppBytes();

export function newWallet(config: AppConfig = CONFIG): AppHost {
  return AppHost.create(walletBytes, config);
}

export const U256_MAX = (1n << 256n) - 1n;

export function u256LE(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

export function u256BE(v: bigint): Uint8Array {
  return u256LE(v).reverse();
}

export function readBE(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function readLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** Withdrawal{amount}: 0x00 || amount u256 LE. */
export function withdrawalData(amount: bigint): Uint8Array {
  return Uint8Array.of(0x00, ...u256LE(amount));
}

/** Transfer{amount, to}: 0x01 || amount u256 LE || to(20). */
export function transferData(amount: bigint, to: Addr): Uint8Array {
  return Uint8Array.of(0x01, ...u256LE(amount), ...hexToBytes(to, 20));
}

/** EtherPortal: abi.encodePacked(address sender, uint256 value, bytes extra). */
export function etherDeposit(sender: Addr, value: bigint, extra: Addr | "0x" = "0x"): Uint8Array {
  return hexToBytes(encodePacked(["address", "uint256", "bytes"], [sender, value, extra]));
}

/** ERC20Portal: abi.encodePacked(address token, address sender, uint256 value, bytes extra). */
export function erc20Deposit(token: Addr, sender: Addr, value: bigint, extra: Addr | "0x" = "0x"): Uint8Array {
  return hexToBytes(encodePacked(["address", "address", "uint256", "bytes"], [token, sender, value, extra]));
}

export interface Account {
  nonce: number;
  balance: bigint;
}

/** Decodes wallet dump format v1 (docs/app-abi.md). */
export function decodeDump(dump: Uint8Array): Map<Addr, Account> {
  const dv = new DataView(dump.buffer, dump.byteOffset, dump.byteLength);
  if (new TextDecoder().decode(dump.subarray(0, 4)) !== "CWAL") throw new Error("bad magic");
  if (dv.getUint32(4, true) !== 1) throw new Error("bad version");
  const n = dv.getUint32(8, true);
  if (dump.length !== 12 + 56 * n) throw new Error("bad length");
  const out = new Map<Addr, Account>();
  for (let i = 0; i < n; i++) {
    const e = 12 + 56 * i;
    const addr = `0x${Buffer.from(dump.subarray(e, e + 20)).toString("hex")}` as Addr;
    out.set(addr, { nonce: dv.getUint32(e + 20, true), balance: readLE(dump.subarray(e + 24, e + 56)) });
  }
  return out;
}

export function balanceOf(host: AppHost, who: Addr): bigint {
  return decodeDump(host.dump()).get(who)?.balance ?? 0n;
}

/** Compiles an AssemblyScript fixture module (stub runtime, so it has few imports). */
export async function compileAs(source: string): Promise<Uint8Array> {
  const { error, binary, stderr } = await asc.compileString(source, { runtime: "stub", optimizeLevel: 1 });
  if (error || !binary) throw new Error(`fixture failed to compile: ${error?.message}\n${stderr.toString()}`);
  return binary;
}

/**
 * A minimal ABI v1 module whose pieces can be swapped, for host contract tests.
 * `overrides` replaces whole export bodies by name; `prelude` adds declarations.
 */
export function fixtureSource(overrides: Record<string, string> = {}, prelude = ""): string {
  const body: Record<string, string> = {
    abi_version: "export function abi_version(): i32 { return 1; }",
    alloc: "export function alloc(len: usize): usize { return heap.alloc(len); }",
    dealloc: "export function dealloc(ptr: usize): void { heap.free(ptr); }",
    init: "export function init(ptr: usize, len: usize): i32 { return 0; }",
    max_data_len: "export function max_data_len(): i32 { return 53; }",
    last_error_ptr: "export function last_error_ptr(): usize { return 0; }",
    last_error_len: "export function last_error_len(): usize { return 0; }",
    validate:
      "export function validate(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize): i32 { return 0; }",
    apply_user_op:
      "export function apply_user_op(s: usize, n: u32, f: u32, fl: usize, d: usize, l: usize, b: i64): i32 { return 0; }",
    apply_direct_input:
      "export function apply_direct_input(s: usize, b: i64, p: usize, l: usize): i32 { return 0; }",
    nonce_of: "export function nonce_of(s: usize): i64 { return 0; }",
    dump: "export function dump(): i32 { return 0; }",
    dump_ptr: "export function dump_ptr(): usize { return 0; }",
    dump_len: "export function dump_len(): usize { return 0; }",
    load: "function loadState(p: usize, l: usize): i32 { return 0; }\nexport { loadState as load };",
  };
  for (const [k, v] of Object.entries(overrides)) body[k] = v;
  return [prelude, ...Object.values(body)].join("\n");
}
