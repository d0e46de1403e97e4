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

  test("refuses blob transactions instead of signing them differently from viem", async () => {
    const ours = submitterAccount(KEY);
    const err = await ours.signTransaction({ type: "eip4844" } as never).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain("blob");
  });
});
