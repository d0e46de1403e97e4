/**
 * Which consensus parameters `verify` folds with: those recorded in the export's header
 * (files.ts DeploymentHeader), a flag overriding any of them, and the built-in defaults only
 * for what neither gives. The report says which is which, so an auditor is never told
 * "match" about a fold that silently used a wrong portal or submitter.
 */
import type { Address } from "../core/bytes.ts";
import type { DeploymentHeader } from "./files.ts";
import { VerifyInputError } from "./verify-errors.ts";

export interface ParameterValues {
  chainId: bigint;
  app: Address;
  batchSubmitter: Address;
  etherPortal: Address;
  erc20Portal: Address;
  erc20Token: Address;
}

/** Flags given on the command line (all optional). */
export type ParameterFlags = Partial<ParameterValues>;

export interface ResolvedParameters extends ParameterValues {
  /** "export" when the file had a header, else "flags". */
  from: "export" | "flags";
  /** Parameters where a flag replaced the export's value. */
  overrides: Record<string, { export: string | null; used: string }>;
  /** Parameters neither the export nor a flag gave: the built-in default was used. */
  defaulted: string[];
}

const NAMES: Record<keyof ParameterValues, string> = {
  chainId: "chain_id",
  app: "app",
  batchSubmitter: "batch_submitter",
  etherPortal: "ether_portal",
  erc20Portal: "erc20_portal",
  erc20Token: "erc20_token",
};

const FLAG_OF: Record<keyof ParameterValues, string> = {
  chainId: "--chain-id",
  app: "--app",
  batchSubmitter: "--batch-submitter",
  etherPortal: "--ether-portal",
  erc20Portal: "--erc20-portal",
  erc20Token: "--erc20-token",
};

/**
 * @param defaults values for the optional parameters (portals, token) when nothing gives them
 * @throws VerifyInputError when chain id, app or batch submitter is given by neither
 */
export function resolveParameters(
  header: DeploymentHeader | null,
  flags: ParameterFlags,
  defaults: Pick<ParameterValues, "etherPortal" | "erc20Portal" | "erc20Token">,
): ResolvedParameters {
  const overrides: ResolvedParameters["overrides"] = {};
  const defaulted: string[] = [];
  const pick = <K extends keyof ParameterValues>(k: K): ParameterValues[K] | undefined => {
    const fromHeader = (header?.[k] ?? null) as ParameterValues[K] | null;
    const flag = flags[k];
    if (flag !== undefined) {
      if (fromHeader !== null && String(fromHeader).toLowerCase() !== String(flag).toLowerCase()) {
        overrides[NAMES[k]] = { export: String(fromHeader), used: String(flag) };
      }
      return flag;
    }
    if (fromHeader !== null) return fromHeader;
    if (k in defaults) {
      defaulted.push(NAMES[k]);
      return defaults[k as keyof typeof defaults] as ParameterValues[K];
    }
    return undefined;
  };
  const required = <K extends keyof ParameterValues>(k: K): ParameterValues[K] => {
    const v = pick(k);
    if (v === undefined) {
      throw new VerifyInputError(`${FLAG_OF[k]} is required: the export has no deployment header giving ${NAMES[k]}`);
    }
    return v;
  };
  return {
    chainId: required("chainId"),
    app: required("app"),
    batchSubmitter: required("batchSubmitter"),
    etherPortal: pick("etherPortal")!,
    erc20Portal: pick("erc20Portal")!,
    erc20Token: pick("erc20Token")!,
    from: header ? "export" : "flags",
    overrides,
    defaulted,
  };
}
