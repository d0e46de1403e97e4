/**
 * An app run in-process, without a chain or a sequencer (in the spirit of CosmWasm's
 * cw-multi-test): app authors drive ops, deposits and inspect queries against their module
 * and assert on outputs, rejections and state. It uses the real host (AppHost), so the
 * metering, the limits and the failure rules are exactly those of the sequencer; only the
 * things around the app are simplified: no signatures (the sender is given), nonces are
 * taken from the app, and the clock is a block number the test moves.
 */
import { readFileSync } from "node:fs";
import type { FailureClass } from "../core/execution-limits.ts";
import { ExecutionFailedError } from "../core/execution-limits.ts";
import { AppHost, prepareAppRuntime, type AppConfig, type AppHostOptions, type AppOutput, type InspectResult } from "./host.ts";
import { ZERO_ADDRESS } from "../core/bytes.ts";

export type Address = `0x${string}`;

/**
 * Fixed stand-in addresses for tests without L1. They are not the devnet's (which deploys its
 * own contracts): what matters is that `LocalApp`'s deposits come from `etherPortal`, so the
 * app credits them as it would real ones. Override any of them with `options.config`.
 */
export const LOCAL_CONFIG: AppConfig = {
  feeRecipient: "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
  etherPortal: "0xc70074bdd26d8cf983ca6a5b89b8db52d5850051",
  erc20Portal: "0xc700d6add016eecd59d989c028214eaa0fcc0051",
  erc20Token: ZERO_ADDRESS,
};

export type OpResult =
  | { status: "included"; outputs: readonly AppOutput[]; fuel: bigint }
  | { status: "rejected"; reason: string }
  | { status: "failed"; failure: FailureClass; reason: string };

export interface OpOptions {
  /** Fee exponent of the frame (SPEC 2.3); default 0 (a fee of 0). */
  fee?: number;
  /** Nonce to sign with; default the app's next nonce for the sender. */
  nonce?: number;
}

export class LocalApp {
  /** The L1 block the next input executes at; move it with advance(). */
  block = 1n;
  /** Debug lines the app printed (env.log), in order. */
  readonly logs: string[] = [];
  readonly host: AppHost;
  readonly config: AppConfig;

  constructor(wasm: Uint8Array, options: { config?: Partial<AppConfig>; appConfig?: Uint8Array } = {}) {
    this.config = { ...LOCAL_CONFIG, ...options.config };
    const hostOptions: AppHostOptions = { onLog: (line) => this.logs.push(line) };
    if (options.appConfig) hostOptions.appConfig = options.appConfig;
    this.host = AppHost.create(wasm, this.config, hostOptions);
  }

  static fromFile(path: string, options?: { config?: Partial<AppConfig>; appConfig?: Uint8Array }): LocalApp {
    return new LocalApp(new Uint8Array(readFileSync(path)), options);
  }

  /** Like fromFile, for any module: loads the WASI runtime first when the module needs it. */
  static async open(path: string, options?: { config?: Partial<AppConfig>; appConfig?: Uint8Array }): Promise<LocalApp> {
    const bytes = new Uint8Array(readFileSync(path));
    await prepareAppRuntime(bytes);
    return new LocalApp(bytes, options);
  }

  advance(blocks: bigint | number): this {
    this.block += BigInt(blocks);
    return this;
  }

  /** A signed op as the lane runs it: validate, then apply at the current block. */
  op(sender: Address, data: Uint8Array, options: OpOptions = {}): OpResult {
    const fee = options.fee ?? 0;
    const nonce = options.nonce ?? this.host.nonceOf(sender);
    const v = this.host.validate(sender, nonce, fee, data, { safeBlock: this.block });
    if (!v.ok) return v.failure ? { status: "failed", failure: v.failure, reason: v.reason } : { status: "rejected", reason: v.reason };
    try {
      const outputs = this.host.applyUserOp(sender, nonce, fee, data, this.block);
      return { status: "included", outputs, fuel: this.host.lastFuelUsed };
    } catch (e) {
      if (e instanceof ExecutionFailedError) return { status: "failed", failure: e.failure, reason: e.message };
      throw e;
    }
  }

  /** An ETH deposit through the EtherPortal: sender (20) || value (32, big-endian). */
  deposit(owner: Address, amount: bigint, extra: Uint8Array = new Uint8Array(0)): { outputs: readonly AppOutput[]; failure: FailureClass | null } {
    const payload = new Uint8Array(52 + extra.length);
    payload.set(hex20(owner), 0);
    payload.set(be32(amount), 20);
    payload.set(extra, 52);
    return this.host.applyDirectInput(this.config.etherPortal, this.block, payload);
  }

  /** Any other L1 input (from a contract that is not a portal). */
  input(sender: Address, payload: Uint8Array): { outputs: readonly AppOutput[]; failure: FailureClass | null } {
    return this.host.applyDirectInput(sender, this.block, payload);
  }

  inspect(payload: Uint8Array): InspectResult {
    return this.host.inspect(payload);
  }

  nonceOf(sender: Address): number {
    return this.host.nonceOf(sender);
  }

  /** The app's canonical state bytes. */
  dump(): Uint8Array {
    return this.host.dump();
  }
}

function hex20(a: Address): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new TypeError(`not an address: ${a}`);
  return Uint8Array.from(Buffer.from(a.slice(2), "hex"));
}

function be32(v: bigint): Uint8Array {
  if (v < 0n || v >> 256n !== 0n) throw new RangeError(`not a uint256: ${v}`);
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
