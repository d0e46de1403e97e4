import { bytesToHex } from "../core/bytes.ts";
import { eip712Domain, USER_OP_PRIMARY_TYPE, USER_OP_TYPES } from "../core/eip712.ts";
import { recommendedFee, suggestedMaxFee, type BatchPolicy } from "../core/fees.ts";
import { MAX_WAIT_BLOCKS } from "../core/scheduler-rules.ts";
import { limitsJson } from "../core/execution-limits.ts";
import { errorReply, jsonReply, type HttpReply } from "../http/reply.ts";

export interface ReadRouteDeps {
  chainId: bigint;
  app: `0x${string}`;
  inputBox: `0x${string}`;
  etherPortal: `0x${string}`;
  erc20Portal: `0x${string}`;
  erc20Token: `0x${string}`;
  batchSubmitter: `0x${string}`;
  version: string;
  appAbiVersion: number;
  /** sha256 (hex) of the app module as configured, and of the instrumented module that runs. */
  appModuleSha256: string;
  appMeteredSha256: string;
  /** The app's own init config (consensus: verify needs it), and whether it answers inspect. */
  appConfig: Uint8Array;
  appInspect: boolean;
  maxDataLength: number;
  currentFee: () => number;
  policy: () => BatchPolicy;
  nonceOf: (sender: `0x${string}`) => number;
  unavailableReason: () => string | null;
  /** The recovery generation now: what a new feed subscriber passes as `generation`. */
  feedGeneration: () => number;
}

export function feeRoute(d: ReadRouteDeps): HttpReply {
  const fee = d.currentFee();
  const recommended = recommendedFee(d.policy());
  return jsonReply({ fee, recommended_fee: recommended, suggested_max_fee: suggestedMaxFee(fee, recommended) });
}

export function nonceRoute(d: ReadRouteDeps, sender: string | null | undefined): HttpReply {
  if (typeof sender !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(sender)) {
    return errorReply(400, "BAD_REQUEST", "query parameter sender must be a 0x-prefixed 20-byte hex address");
  }
  const s = sender.toLowerCase() as `0x${string}`;
  return jsonReply({ sender: s, next_nonce: d.nonceOf(s) });
}

/**
 * The EIP-712 domain's fields at the top level (as before), plus `domain`, `types` and
 * `primaryType`: `signTypedData({ domain, types, primaryType, message })` takes them as they
 * are. `types` leaves out `EIP712Domain`, as viem and ethers derive it from the domain.
 */
export function domainRoute(d: ReadRouteDeps): HttpReply {
  const dom = eip712Domain(d.chainId, d.app);
  const domain = { ...dom, chainId: Number(dom.chainId) };
  return jsonReply({ ...domain, domain, types: USER_OP_TYPES, primaryType: USER_OP_PRIMARY_TYPE });
}

export function infoRoute(d: ReadRouteDeps): HttpReply {
  return jsonReply({
    chain_id: Number(d.chainId),
    app_address: d.app,
    input_box_address: d.inputBox,
    ether_portal_address: d.etherPortal,
    erc20_portal_address: d.erc20Portal,
    erc20_token_address: d.erc20Token,
    batch_submitter_address: d.batchSubmitter,
    max_wait_blocks: Number(MAX_WAIT_BLOCKS),
    max_data_length: d.maxDataLength,
    app_abi_version: d.appAbiVersion,
    app_module_sha256: d.appModuleSha256,
    app_metered_sha256: d.appMeteredSha256,
    app_config: bytesToHex(d.appConfig),
    app_inspect: d.appInspect,
    // SPEC 2.8: consensus parameters of the deployment, like max_wait_blocks
    execution_limits: limitsJson(),
    // Not a deployment constant: it grows with each liveness recovery (SPEC §4, the feed).
    feed_generation: d.feedGeneration(),
    version: d.version,
  });
}

export function readyzRoute(d: ReadRouteDeps): HttpReply {
  const reason = d.unavailableReason();
  return reason === null
    ? jsonReply({ ok: true, status: "ready" })
    : errorReply(503, "UNAVAILABLE", reason);
}
