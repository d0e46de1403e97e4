// A name registry on the app SDK: register a name for a period of L1 blocks, point it at an
// address, renew it, transfer it, release it; withdraw what you deposited. Names expire by the
// app clock (the L1 safe block an op executes at); an expired name is free to register again.
//
// Op data (first byte is the method; names are 3-32 bytes of a-z, 0-9 and '-'):
//   0x00 || amount u256 BE                  withdraw: a voucher paying the sender
//   0x01 || name                            register (pays the price to the operator)
//   0x02 || name                            renew, by anyone (pays the price)
//   0x03 || to (20) || name                 transfer
//   0x04 || target (20) || name             point the name at an address
//   0x05 || name                            release
// Inspect (read-only, one report each):
//   0x01 || name  → owner (20) || target (20) || expiry u64 BE || 1 if expired else 0
//   0x02 || addr  → balance u256 BE || next nonce u32 BE
// App config (SEQ_APP_CONFIG, optional): price u256 BE (32) || period in blocks u64 BE (8).
// Notices: method (1) || name length (1) || name || owner (20) || target (20) || expiry u64 BE.

import { Address, App, BytesMap, Fields, Op, Query, Reader, Struct, U256, Writer, notice, report, reportBytes, run, voucher } from "../sdk";
export * from "../sdk/abi";

// [state]
class Name extends Struct {
  owner: Address = Address.zero();
  target: Address = Address.zero();
  expiry: u64 = 0;
  fields(f: Fields): void {
    this.owner = f.address(this.owner);
    this.target = f.address(this.target);
    this.expiry = f.u64(this.expiry);
  }
}

// [business]
const WITHDRAW: u8 = 0, REGISTER: u8 = 1, RENEW: u8 = 2, TRANSFER: u8 = 3, POINT: u8 = 4, RELEASE: u8 = 5;

function validName(n: Uint8Array): bool {
  if (n.length < 3 || n.length > 32 || n[0] == 0x2d || n[n.length - 1] == 0x2d) return false;
  for (let i = 0; i < n.length; i++) {
    const c = n[i];
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d)) return false;
  }
  return true;
}

/** One decoded op: which method, the name, and the address argument if any. */
class Call {
  constructor(public method: u8, public name: Uint8Array, public who: Address) {}
}

// [state]
class Registry extends App {
  names: BytesMap<Name> = new BytesMap<Name>();
  price: U256 = U256.fromU64(1_000_000_000_000_000); // 0.001 ETH
  period: u64 = 2_628_000; // about a year of 12-second blocks

  constructor() {
    super("CREG", 1, 53);
    this.persist(this.names);
  }

  // [glue]
  configure(config: Uint8Array): string | null {
    if (config.length == 0) return null;
    if (config.length != 40) return "expected price (32 bytes) || period in blocks (8 bytes)";
    const r = new Reader(config);
    this.price = r.u256BE();
    this.period = r.u64BE();
    return this.period == 0 ? "the period must be at least one block" : null;
  }

  // [business]
  decode(op: Op): Call | null {
    const d = op.data;
    if (d.length == 0) return null;
    const m = d[0];
    if (m == WITHDRAW) return d.length == 33 ? new Call(m, new Uint8Array(0), Address.zero()) : null;
    const withAddress = m == TRANSFER || m == POINT;
    const at = withAddress ? 21 : 1;
    if (m > RELEASE || d.length < at) return null;
    const name = d.slice(at);
    return validName(name) ? new Call(m, name, withAddress ? Address.fromBytes(d, 1)! : Address.zero()) : null;
  }

  active(n: Name, block: u64): bool {
    return !n.owner.isZero() && block <= n.expiry;
  }

  check(op: Op): string | null {
    const c = this.decode(op);
    if (c == null) return "undecodable: see the method table in registry/index.ts";
    const block = <u64>op.block;
    const spendable = this.balanceOf(op.sender).sub(op.feeLinear);
    if (c.method == WITHDRAW) return spendable.lt(U256.fromBE(op.data, 1)!) ? "withdraw: insufficient balance" : null;
    const n = this.names.get(c.name);
    if (c.method == REGISTER) {
      if (this.active(n, block)) return "register: the name is taken until block " + n.expiry.toString();
      return spendable.lt(this.price) ? "register: the price is " + this.price.toString() + " and the balance after the fee is " + spendable.toString() : null;
    }
    if (n.owner.isZero()) return "the name is not registered";
    if (c.method == RENEW) return spendable.lt(this.price) ? "renew: insufficient balance for the price" : null;
    if (!n.owner.equals(op.sender)) return "only the owner may do this";
    if (!this.active(n, block)) return "the name expired at block " + n.expiry.toString();
    if (c.method == TRANSFER && c.who.isZero()) return "transfer: to the zero address; use release";
    return null;
  }

  execute(op: Op): void {
    const c = this.decode(op)!; // check() passed in this very state
    if (c.method == WITHDRAW) {
      const amount = U256.fromBE(op.data, 1)!;
      if (this.debit(op.sender, amount)) voucher(op.sender, amount);
      return;
    }
    const block = <u64>op.block;
    let n = this.names.get(c.name);
    if (c.method == REGISTER) {
      this.pay(op.sender, this.feeRecipient, this.price);
      n = new Name();
      n.owner = op.sender;
      n.target = op.sender;
      n.expiry = block + this.period;
    } else if (c.method == RENEW) {
      this.pay(op.sender, this.feeRecipient, this.price);
      n.expiry = (n.expiry > block ? n.expiry : block) + this.period;
    } else if (c.method == TRANSFER) {
      n.owner = c.who;
      n.target = c.who;
    } else if (c.method == POINT) {
      n.target = c.who;
    } else {
      n = new Name(); // released: empty, so the map drops it
    }
    this.names.set(c.name, n);
    notice(new Writer(96).u8(c.method).u8(<u8>c.name.length).bytes(c.name).address(n.owner).address(n.target).u64BE(n.expiry).finish());
  }

  query(q: Query): bool {
    const p = q.payload;
    if (p.length == 21 && p[0] == 2) {
      const a = this.accounts.get(Address.fromBytes(p, 1)!);
      reportBytes(new Writer(36).u256BE(a.balance).u32BE(a.nonce).finish());
      return true;
    }
    if (p.length < 2 || p[0] != 1) return reject("unknown query: 0x01 || name, or 0x02 || address");
    const n = this.names.get(p.slice(1));
    if (n.owner.isZero()) return reject("the name is not registered");
    const expired: u8 = <u64>q.block > n.expiry ? 1 : 0;
    reportBytes(new Writer(49).address(n.owner).address(n.target).u64BE(n.expiry).u8(expired).finish());
    return true;
  }
}

function reject(why: string): bool {
  report(why);
  return false;
}

// [glue]
run(new Registry());
