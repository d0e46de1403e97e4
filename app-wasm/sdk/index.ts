// The AssemblyScript SDK for sequencer apps (docs/app-guide.md). Import from here; re-export
// the ABI from "./abi" in the entry file.
export { Address, ADDRESS_LENGTH, hex } from "./address";
export { Fields, Reader, Record, Struct, Writer } from "./codec";
export { AddressMap, AddressSet, BytesMap, BytesSet, Cell, IntMap, IntSet, MAX_BYTES_KEY, Persistent, Present } from "./collections";
export { NOTICE, REPORT, VOUCHER, clock, debug, notice, report, reportBytes, voucher } from "./outputs";
export { Account, App, Deposit, Input, Op, Query, run } from "./app";
export { U256 } from "./u256";
