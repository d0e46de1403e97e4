import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeFunctionData, getAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DecodeError } from "../../src/core/errors.ts";
import { DEVNET_ADDRESSES, DEVNET_BATCH_SUBMITTER_INDEX, DEVNET_DEPLOYMENT, DEVNET_KEYS, applicationAbi, dataAvailabilityAbi, erc20PortalAbi, etherDepositPayload, etherPortalAbi, inputAddedEvent, inputBoxAbi, inputsAbi, parseDeployment } from "../../src/l1/contracts.ts";
import { decodeEvmAdvance } from "../support/evm-advance.ts";

type Fragment = { type: string; name?: string };
function artifactAbi(name: string): Fragment[] {
  const path = join(import.meta.dir, "..", "..", "node_modules", "@cartesi", "rollups", "out", `${name}.sol`, `${name}.json`);
  return (JSON.parse(readFileSync(path, "utf8")) as { abi: Fragment[] }).abi;
}
const plain = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

describe("inline ABIs equal the @cartesi/rollups 2.2.0 artifacts", () => {
  test.each([
    ["InputBox", inputBoxAbi],
    ["EtherPortal", etherPortalAbi],
    ["ERC20Portal", erc20PortalAbi],
    ["Inputs", inputsAbi],
    ["DataAvailability", dataAvailabilityAbi],
  ] as const)("%s (full ABI)", (name, abi) => {
    expect(plain(abi)).toEqual(artifactAbi(name));
  });

  test("Application (each declared fragment)", () => {
    const art = artifactAbi("Application");
    for (const frag of applicationAbi) {
      const match = art.filter((f) => f.type === frag.type && f.name === ("name" in frag ? frag.name : undefined));
      expect(match).toHaveLength(1);
      expect(plain(frag)).toEqual(match[0]);
    }
  });

  test("InputAdded fragment", () => {
    expect(inputAddedEvent.name).toBe("InputAdded");
    expect(inputAddedEvent.type).toBe("event");
  });
});

describe("devnet keys and deployment", () => {
  test("DEVNET_KEYS derive DEVNET_ADDRESSES", () => {
    expect(DEVNET_KEYS).toHaveLength(10);
    DEVNET_KEYS.forEach((k, i) => expect(privateKeyToAccount(k).address).toBe(DEVNET_ADDRESSES[i]!));
  });

  test("deployment.json is well formed and consistent with the keys", () => {
    expect(DEVNET_DEPLOYMENT.chainId).toBe(31337);
    expect(DEVNET_DEPLOYMENT.deployer).toBe(DEVNET_ADDRESSES[0]);
    expect(DEVNET_DEPLOYMENT.batchSubmitter).toBe(DEVNET_ADDRESSES[DEVNET_BATCH_SUBMITTER_INDEX]);
    expect(DEVNET_DEPLOYMENT.inputBoxDeploymentBlock).toBeGreaterThan(0);
    expect(() => parseDeployment({ ...DEVNET_DEPLOYMENT, inputBox: "0x12" })).toThrow(DecodeError);
    expect(() => parseDeployment(null)).toThrow(DecodeError);
  });
});

describe("EvmAdvance decoding", () => {
  test("round trip", () => {
    const payload = etherDepositPayload(DEVNET_ADDRESSES[2], 10n ** 18n, "0xbeef");
    expect(payload.length).toBe(2 + 2 * (20 + 32 + 2));
    const data = encodeFunctionData({
      abi: inputsAbi,
      functionName: "EvmAdvance",
      args: [31337n, DEVNET_DEPLOYMENT.application, DEVNET_DEPLOYMENT.etherPortal, 7n, 1000n, 5n, 3n, payload],
    });
    const d = decodeEvmAdvance(data);
    expect(d).toEqual({
      chainId: 31337n,
      appContract: getAddress(DEVNET_DEPLOYMENT.application),
      msgSender: getAddress(DEVNET_DEPLOYMENT.etherPortal),
      blockNumber: 7n,
      blockTimestamp: 1000n,
      prevRandao: 5n,
      index: 3n,
      payload,
    });
  });

  test("garbage is a DecodeError", () => {
    for (const bad of ["0x", "0x12345678", "0xdeadbeef00", `0x${"00".repeat(300)}`] as const) {
      expect(() => decodeEvmAdvance(bad)).toThrow(DecodeError);
    }
  });
});
