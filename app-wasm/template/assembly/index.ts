// A new app on the sequencer's AssemblyScript SDK (../sdk): a counter per sender.
// Replace the rules below with yours; docs/app-guide.md in the sequencer repository walks
// through every part. The SDK already does nonces, fees, deposits, dump and load.

import { App, IntMap, Op, Query, Reader, Record, Writer, notice, report, reportBytes, run } from "../sdk";
export * from "../sdk/abi";

/** What you keep per key: a Record has canonical bytes the SDK dumps and loads for you. */
class Count extends Record {
  n: u64 = 0;
  encode(w: Writer): void {
    w.u64(this.n);
  }
  decode(r: Reader): void {
    this.n = r.u64();
  }
  isEmpty(): bool {
    return this.n == 0;
  }
}

class Counter extends App {
  // counter id (the op's 8 data bytes) → count; AddressMap, BytesMap and the sets work alike
  counters: IntMap<Count> = new IntMap<Count>();

  constructor() {
    super("CNTR", 1, 8); // dump magic, dump version, largest op data
    this.persist(this.counters);
  }

  /** Refuse what can never succeed (the user gets a 422 and pays nothing). */
  check(op: Op): string | null {
    return op.data.length == 8 ? null : "op data is the counter id: 8 bytes";
  }

  /** An included op: nonce and fee are already taken. */
  execute(op: Op): void {
    const id = new Reader(op.data).u64BE();
    const c = this.counters.get(id);
    c.n += 1;
    this.counters.set(id, c);
    notice(new Writer(16).u64BE(id).u64BE(c.n).finish());
  }

  /** Inspect: 8-byte counter id → its value (8 bytes, big-endian). */
  query(q: Query): bool {
    if (q.payload.length != 8) {
      report("query: the counter id, 8 bytes");
      return false;
    }
    reportBytes(new Writer(8).u64BE(this.counters.get(new Reader(q.payload).u64BE()).n).finish());
    return true;
  }
}

run(new Counter());
