import { describe, expect, test } from "bun:test";
import type { Address } from "../core/bytes.ts";
import { formatDeploymentHeader, formatL1InputLine, parseL1Export, ReplayInputError, type DeploymentHeader } from "./files.ts";
import { resolveParameters } from "./parameters.ts";
import { VerifyInputError } from "./verify-errors.ts";

const A = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const HEADER: DeploymentHeader = {
  chainId: 31337n,
  app: A(1),
  inputBox: A(2),
  batchSubmitter: A(3),
  etherPortal: A(4),
  erc20Portal: A(5),
  erc20Token: A(0),
  appModuleSha256: "ab".repeat(32),
  executionLimits: { fuel_per_call: "2500000", max_call_depth: 1000 },
  appConfig: null,
  fromBlock: 10,
  toBlock: 99,
  source: "http://127.0.0.1:3000/info",
};
const DEFAULTS = { etherPortal: A(40), erc20Portal: A(50), erc20Token: A(0) };
const INPUT = formatL1InputLine({ inputIndex: 0, sender: A(4), blockNumber: 12, blockTimestamp: 1, transactionHash: `0x${"11".repeat(32)}`, payload: Uint8Array.of(1) });

describe("the export's deployment header", () => {
  test("round-trips, and the inputs follow it", () => {
    const e = parseL1Export(`${formatDeploymentHeader(HEADER)}\n${INPUT}\n`, "f");
    expect(e.header).toEqual(HEADER);
    expect(e.inputs.map((i) => i.inputIndex)).toEqual([0]);
  });

  test("an export without a header still parses (header null); a header after an input is an error naming the line", () => {
    expect(parseL1Export(`${INPUT}\n`, "f").header).toBeNull();
    expect(() => parseL1Export(`${INPUT}\n${formatDeploymentHeader(HEADER)}\n`, "f")).toThrow(ReplayInputError);
    expect(() => parseL1Export(`${INPUT}\n${formatDeploymentHeader(HEADER)}\n`, "f")).toThrow(/f:2: a deployment header may only be the first line/);
    const future = formatDeploymentHeader(HEADER).replace('"format":1', '"format":2');
    expect(() => parseL1Export(future, "f")).toThrow(/export format 2 is not supported/);
  });
});

describe("resolveParameters", () => {
  test("the header alone gives everything; nothing overridden or defaulted", () => {
    expect(resolveParameters(HEADER, {}, DEFAULTS)).toEqual({
      chainId: 31337n,
      app: A(1),
      batchSubmitter: A(3),
      etherPortal: A(4),
      erc20Portal: A(5),
      erc20Token: A(0),
      from: "export",
      overrides: {},
      defaulted: [],
    });
  });

  test("a flag overrides the header and the override is recorded; an equal flag is no override", () => {
    const r = resolveParameters(HEADER, { etherPortal: A(9), batchSubmitter: A(3) }, DEFAULTS);
    expect(r.etherPortal).toBe(A(9));
    expect(r.overrides).toEqual({ ether_portal: { export: A(4), used: A(9) } });
  });

  test("without a header: chain, app and submitter are required flags; portals default, and say so", () => {
    expect(() => resolveParameters(null, { chainId: 1n, app: A(1) }, DEFAULTS)).toThrow(VerifyInputError);
    expect(() => resolveParameters(null, { chainId: 1n, app: A(1) }, DEFAULTS)).toThrow(/--batch-submitter is required/);
    const r = resolveParameters(null, { chainId: 1n, app: A(1), batchSubmitter: A(3) }, DEFAULTS);
    expect(r).toMatchObject({ from: "flags", etherPortal: A(40), defaulted: ["ether_portal", "erc20_portal", "erc20_token"] });
    // a header whose exporter did not know the portals: defaults, listed
    expect(resolveParameters({ ...HEADER, etherPortal: null }, {}, DEFAULTS).defaulted).toEqual(["ether_portal"]);
  });
});
