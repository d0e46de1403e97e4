// The wallet app (SPEC 2.7) on the app SDK. Nonces, fees, deposits, dump and load are the
// SDK's; what is left is the wallet's own rules: two methods and a balance query.
//
// Method payload (op data): 0x00 || amount u256 LE (withdrawal, 33 bytes) or
// 0x01 || amount u256 LE || to (20) (transfer, 53 bytes). Anything else is an included
// no-op with a report. Dump: "CWAL" v1, the SDK's account map (docs/app-abi.md §7).

import { Address, App, Op, Query, U256, Writer, notice, report, reportBytes, run, voucher } from "../sdk";
export * from "../sdk/abi";

const WITHDRAWAL: u8 = 0x00;
const TRANSFER: u8 = 0x01;
const QUERY_ACCOUNT: u8 = 0x00;

class Wallet extends App {
  constructor() {
    super("CWAL", 1, 53);
  }

  execute(op: Op): void {
    const d = op.data;
    if (d.length == 33 && d[0] == WITHDRAWAL) this.withdraw(op.sender, U256.fromLE(d, 1)!);
    else if (d.length == 53 && d[0] == TRANSFER) this.transfer(op.sender, U256.fromLE(d, 1)!, Address.fromBytes(d, 33)!);
    else report("undecodable data: neither a withdrawal (0x00, 33 bytes) nor a transfer (0x01, 53 bytes)");
  }

  withdraw(owner: Address, amount: U256): void {
    const acct = this.accounts.get(owner);
    if (acct.balance.lt(amount)) return report("withdrawal: insufficient balance");
    acct.balance = acct.balance.sub(amount);
    this.accounts.set(owner, acct);
    voucher(owner, amount);
  }

  transfer(from: Address, amount: U256, to: Address): void {
    const src = this.accounts.get(from);
    if (src.balance.lt(amount)) return report("transfer: insufficient balance");
    if (!from.equals(to) && !amount.isZero()) {
      const dst = this.accounts.get(to);
      const sum = dst.balance.checkedAdd(amount);
      if (sum == null) return report("transfer: the recipient's balance would overflow");
      dst.balance = sum;
      this.accounts.set(to, dst);
      src.balance = src.balance.sub(amount);
      this.accounts.set(from, src);
    }
    notice(new Writer(72).address(from).address(to).u256BE(amount).finish());
  }

  /** 0x00 || address (20) → one report: balance (32, big-endian) || next nonce (4, big-endian). */
  query(q: Query): bool {
    const p = q.payload;
    if (p.length != 21 || p[0] != QUERY_ACCOUNT) {
      report("unknown query: the wallet answers 0x00 || address (21 bytes)");
      return false;
    }
    const acct = this.accounts.get(Address.fromBytes(p, 1)!);
    reportBytes(new Writer(36).u256BE(acct.balance).u32BE(acct.nonce).finish());
    return true;
  }
}

run(new Wallet());
