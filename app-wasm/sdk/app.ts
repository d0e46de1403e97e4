// The base class of an app. An app extends App, overrides the hooks it needs, and calls
// run(new MyApp()) once at the top level of its entry file, which also re-exports the ABI:
//
//   export * from "../sdk/abi";
//
// What the SDK does before the app sees anything (the app's protocol duties, docs/app-abi.md
// §5): it checks the op's nonce (replay protection), refuses an op whose sender cannot pay the
// fee, and on inclusion increments the nonce and moves the fee from the sender's balance to
// the fee recipient (the batch submitter), then calls `execute`. Deposits from the
// EtherPortal, and from the ERC20Portal in the configured token, credit that same balance.

import { Address } from "./address";
import { Reader, Record, Writer } from "./codec";
import { AddressMap, Persistent } from "./collections";
import { notice, report } from "./outputs";
import { U256 } from "./u256";

/** An account: the op nonce (replay protection) and the balance that pays fees. */
export class Account extends Record {
  nonce: u32 = 0;
  balance: U256 = U256.zero();
  encode(w: Writer): void {
    w.u32(this.nonce).u256LE(this.balance);
  }
  decode(r: Reader): void {
    this.nonce = r.u32();
    this.balance = r.u256LE();
  }
  isEmpty(): bool {
    return this.nonce == 0 && this.balance.isZero();
  }
}

/** A signed user op, as the app sees it. */
export class Op {
  constructor(
    public readonly sender: Address,
    public readonly nonce: u32,
    /** The frame's fee exponent (SPEC 2.3) and its linear amount, computed by the host. */
    public readonly fee: u32,
    public readonly feeLinear: U256,
    public readonly data: Uint8Array,
    /**
     * The app clock at this op (max of every executed input's L1 block and this op's safe
     * block): the same in check() and execute(), so a rule that depends on time is judged
     * the same way in both.
     */
    public readonly block: i64,
  ) {}
}

/** An L1 input that is not a portal deposit the SDK decoded. */
export class Input {
  constructor(
    public readonly sender: Address,
    public readonly block: i64,
    public readonly payload: Uint8Array,
  ) {}
}

/** A portal deposit: ETH (`token` null) or the configured ERC-20 token. */
export class Deposit {
  constructor(
    public readonly portal: Address,
    public readonly token: Address | null,
    public readonly owner: Address,
    public readonly amount: U256,
    public readonly extra: Uint8Array,
    public readonly block: i64,
  ) {}
}

/** An inspect query: read-only, on durable state. `block` is the clock of that state. */
export class Query {
  constructor(
    public readonly payload: Uint8Array,
    public readonly block: i64,
  ) {}
}

export abstract class App {
  /** Nonces and fee balances, always the first thing in the dump. */
  readonly accounts: AddressMap<Account> = new AddressMap<Account>();
  /** From the host's config (docs/app-abi.md §5). */
  feeRecipient: Address = Address.zero();
  etherPortal: Address = Address.zero();
  erc20Portal: Address = Address.zero();
  erc20Token: Address = Address.zero();
  /** What the dump is made of, in order: accounts, then whatever the app persisted. */
  readonly stores: Persistent[] = [];

  /**
   * @param magic 4 ASCII characters that start every dump of this app
   * @param version the dump format version (bump it when the state's shape changes)
   * @param maxDataLength the largest op data the app accepts
   */
  constructor(
    public readonly magic: string,
    public readonly version: u32,
    public readonly maxDataLength: i32,
  ) {
    this.stores.push(this.accounts);
  }

  /**
   * Adds a collection to the state (dumped and loaded in the order of these calls). Call it
   * in the constructor after super(): a field initializer runs before the base class has
   * set itself up.
   */
  persist<T extends Persistent>(store: T): T {
    this.stores.push(store);
    return store;
  }

  // ---- hooks ------------------------------------------------------------------------------

  /** The app's own init config (SEQ_APP_CONFIG). null = accepted, else the reason. */
  configure(config: Uint8Array): string | null {
    return config.length == 0 ? null : "this app takes no app config (SEQ_APP_CONFIG must be empty)";
  }

  /**
   * App-specific admission, after the SDK checked nonce and fee. Read-only. null = accept,
   * else the reason the user sees (422). Most apps need none: an op that does nothing useful
   * is better included as a no-op with a report, so its fee is paid.
   */
  check(op: Op): string | null {
    return null;
  }

  /** Executes an included op. Nonce and fee are already done. Never trap on user input. */
  abstract execute(op: Op): void;

  /** A portal deposit. By default credits `owner` and emits `portal || owner || amount`. */
  onDeposit(d: Deposit): void {
    if (!d.amount.isZero()) {
      const a = this.accounts.get(d.owner);
      const sum = a.balance.checkedAdd(d.amount);
      if (sum == null) {
        // refused rather than clamped: the funds stay in the portal
        report("deposit refused: the balance would overflow");
        return;
      }
      a.balance = sum;
      this.accounts.set(d.owner, a);
    }
    const w = new Writer(72);
    notice(w.address(d.portal).address(d.owner).u256BE(d.amount).finish());
  }

  /** Any other L1 input. By default ignored, with a report. */
  onInput(input: Input): void {
    report("input ignored: not from a configured portal");
  }

  /** An inspect query: answer with reports. true = accepted, false = rejected. */
  query(q: Query): bool {
    report("this app answers no inspect queries");
    return false;
  }

  // ---- helpers for business rules -----------------------------------------------------------

  balanceOf(owner: Address): U256 {
    return this.accounts.get(owner).balance;
  }

  /** Takes `amount` from a balance (to pay it out in a voucher); false if it is too low. */
  debit(owner: Address, amount: U256): bool {
    const a = this.accounts.get(owner);
    const rest = a.balance.checkedSub(amount);
    if (rest == null) return false;
    a.balance = rest;
    this.accounts.set(owner, a);
    return true;
  }

  /** Moves `amount` between balances; false (nothing changed) if `from` has too little. */
  pay(from: Address, to: Address, amount: U256): bool {
    const a = this.accounts.get(from);
    if (a.balance.lt(amount)) return false;
    if (from.equals(to) || amount.isZero()) return true;
    const b = this.accounts.get(to);
    const sum = b.balance.checkedAdd(amount);
    if (sum == null) return false;
    b.balance = sum;
    this.accounts.set(to, b);
    a.balance = a.balance.sub(amount);
    this.accounts.set(from, a);
    return true;
  }
}

let current: App | null = null;

/** Registers the app. Call once, at the top level of the entry file. */
export function run(app: App): void {
  current = app;
}

/** The registered app (null before run). */
export function registered(): App | null {
  return current;
}
