import { describe, expect, test } from "bun:test";
import { keccak256 as viemKeccak, parseTransaction, recoverTransactionAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { submitterAccount } from "./signer.ts";

// anvil's account 1 (the devnet batch submitter): public test key
const KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("submitterAccount", () => {
  test("signs exactly the bytes viem's own account signs, for batch-sized and tiny calldata", async () => {
    const ours = submitterAccount(KEY);
    const viems = privateKeyToAccount(KEY);
    expect(ours.address).toBe(viems.address);
    for (const [i, len] of [0, 1, 100, 32_768].entries()) {
      const data = `0x${"ab".repeat(len)}` as Hex;
      const tx = {
        type: "eip1559" as const,
        chainId: 31337,
        nonce: i * 7,
        to: "0x1111111111111111111111111111111111111111" as const,
        data,
        gas: 1_000_000n + BigInt(i),
        maxFeePerGas: 2_000_000_000n * BigInt(i + 1),
        maxPriorityFeePerGas: 1_000_000n,
      };
      const a = await ours.signTransaction(tx);
      expect(a).toBe(await viems.signTransaction(tx));
      expect(await recoverTransactionAddress({ serializedTransaction: a as never })).toBe(viems.address);
      expect(parseTransaction(a).nonce).toBe(i * 7);
      expect(viemKeccak(a)).toMatch(/^0x[0-9a-f]{64}$/);
    }
  });

  test("the hand serializer equals viem's for edge values (zero fields, no data, single low bytes, long lengths)", async () => {
    const ours = submitterAccount(KEY);
    const viems = privateKeyToAccount(KEY);
    const cases = [
      { nonce: 0, gas: 0n, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n, data: "0x" as Hex, value: 0n },
      { nonce: 1, gas: 127n, maxFeePerGas: 128n, maxPriorityFeePerGas: 1n, data: "0x00" as Hex, value: 1n },
      { nonce: 0x7f, gas: 21_000n, maxFeePerGas: 2n ** 64n, maxPriorityFeePerGas: 255n, data: "0x7f" as Hex, value: 10n ** 18n },
      { nonce: 256, gas: 30_000_000n, maxFeePerGas: 10n ** 12n, maxPriorityFeePerGas: 256n, data: `0x${"00".repeat(55)}` as Hex },
      { nonce: 65_536, gas: 1n, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n, data: `0x${"ff".repeat(56)}` as Hex },
      { nonce: 3, gas: 5n, maxFeePerGas: 7n, maxPriorityFeePerGas: 7n, data: `0x${"01".repeat(70_000)}` as Hex },
    ];
    for (const c of cases) {
      const tx = { type: "eip1559" as const, chainId: 1, to: "0x2222222222222222222222222222222222222222" as const, ...c };
      expect(await ours.signTransaction(tx)).toBe(await viems.signTransaction(tx));
    }
    // a self-transfer without data (what the flush signs) and a large chain id
    const flush = { type: "eip1559" as const, chainId: 11155111, nonce: 9, to: viems.address, value: 0n, gas: 21_000n, maxFeePerGas: 3n, maxPriorityFeePerGas: 2n };
    expect(await ours.signTransaction(flush)).toBe(await viems.signTransaction(flush));
  });

  test("refuses blob transactions instead of signing them differently from viem", async () => {
    const ours = submitterAccount(KEY);
    const err = await ours.signTransaction({ type: "eip4844" } as never).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain("blob");
  });
});
