// 20-byte L2 addresses (the signer of an op, a portal, a deposit's owner). Held as three
// integers rather than a byte array: one allocation instead of three on every op.

export const ADDRESS_LENGTH: i32 = 20;

export class Address {
  // the 20 bytes, read little-endian in 8 + 8 + 4
  constructor(
    private readonly a: u64 = 0,
    private readonly b: u64 = 0,
    private readonly c: u32 = 0,
  ) {}

  static zero(): Address {
    return new Address();
  }

  /** The 20 bytes at `ptr`. */
  static fromPtr(ptr: usize): Address {
    return new Address(load<u64>(ptr), load<u64>(ptr, 8), load<u32>(ptr, 16));
  }

  /** `bytes[offset, offset+20)`; null when the bytes are too short. */
  static fromBytes(bytes: Uint8Array, offset: i32 = 0): Address | null {
    if (offset < 0 || offset + ADDRESS_LENGTH > bytes.length) return null;
    return Address.fromPtr(bytes.dataStart + <usize>offset);
  }

  /** Writes the 20 bytes at `ptr`. */
  writeTo(ptr: usize): void {
    store<u64>(ptr, this.a);
    store<u64>(ptr, this.b, 8);
    store<u32>(ptr, this.c, 16);
  }

  /** A fresh copy of the 20 bytes. */
  get bytes(): Uint8Array {
    const out = new Uint8Array(ADDRESS_LENGTH);
    this.writeTo(out.dataStart);
    return out;
  }

  isZero(): bool {
    return (this.a | this.b | <u64>this.c) == 0;
  }

  equals(other: Address): bool {
    return this.a == other.a && this.b == other.b && this.c == other.c;
  }

  /** Lowercase 0x-hex, for reports and debug lines. */
  toHex(): string {
    return hex(this.bytes);
  }
}

const HEX = "0123456789abcdef";

/** Lowercase 0x-hex of any bytes. */
export function hex(bytes: Uint8Array): string {
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) {
    const b = <i32>bytes[i];
    s += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return s;
}
