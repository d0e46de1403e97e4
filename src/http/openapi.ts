/**
 * The OpenAPI 3.1 description of the public listener (SPEC §4), served at `GET /openapi.json`.
 *
 * Written by hand as data, next to the error shape it documents: the routes are few and their
 * answers are prepared JSON text, not schema-validated objects. `test/e2e/openapi.test.ts`
 * keeps it true: the document's operations and the server's routes (cli/servers.ts
 * PUBLIC_ROUTES) must be the same set, every error code in it is in ERROR_CODES, and every
 * answer the tests provoke on a real devnet has its status and code documented for its route.
 */
import { ERROR_CODES, jsonReply, type ErrorCode, type HttpReply } from "./reply.ts";

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const hex = (description: string, pattern = "^0x([0-9a-fA-F]{2})*$"): Schema => ({ type: "string", pattern, description });
const address: Schema = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$", description: "an address, lower-case hex" };
const bytes32: Schema = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" };
const uint = (description?: string): Schema => ({ type: "integer", minimum: 0, ...(description ? { description } : {}) });
const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: "object",
  properties,
  required,
});

const json = (schema: Schema, description: string) => ({ description, content: { "application/json": { schema } } });

/** An error answer of one status, listing the codes this route can give with it. */
function error(description: string, ...codes: ErrorCode[]) {
  return json(
    { allOf: [ref("Error"), { type: "object", properties: { code: { enum: codes } } }] },
    description,
  );
}

const STATUS_TEXT = {
  400: "Bad request",
  413: "Body over the cap",
  429: "Queue full",
  503: "Not accepting now (recovering, L1 view stale, shutting down) or not served",
  500: "Internal error",
  404: "Not found",
} as const;

/** Answers any route may give: an internal error. */
const common = { "500": error(STATUS_TEXT[500], "INTERNAL_ERROR") };

const outputs: Schema = {
  type: "array",
  description: "The entry's outputs (SPEC 2.8), in the order the app emitted them",
  items: object({ kind: { type: "string", enum: ["notice", "voucher", "report"] }, payload: hex("the output's bytes") }),
};

const schemas: Record<string, Schema> = {
  Error: object({
    ok: { const: false },
    code: { type: "string", enum: [...ERROR_CODES] },
    message: { type: "string" },
  }),
  UserOpRequest: object({
    message: object({
      nonce: uint("the sender's next nonce (uint32)"),
      max_fee: uint("the most the sender pays (uint16)"),
      data: hex("the app's payload"),
    }),
    signature: hex("the 65-byte EIP-712 signature r || s || v over the UserOp (see GET /domain)", "^0x[0-9a-fA-F]{130}$"),
    sender: address,
  }),
  TxAccepted: object({ ok: { const: true }, sender: address, nonce: uint(), tx_hash: bytes32, offset: uint("its place in the order") }),
  TxStatus: object({
    tx_hash: bytes32,
    status: { type: "string", enum: ["soft_confirmed", "submitted", "included", "safe", "finalized", "invalidated"] },
    offset: { type: ["integer", "null"] },
    batch_nonce: { type: ["integer", "null"] },
    l1_tx_hash: { oneOf: [bytes32, { type: "null" }] },
    l1_block: { type: ["integer", "null"] },
    outputs,
  }),
  Fee: object({ fee: uint("the fee charged now"), recommended_fee: uint(), suggested_max_fee: uint("a max_fee that survives a few fee changes") }),
  Nonce: object({ sender: address, next_nonce: uint() }),
  Domain: {
    ...object({
      name: { type: "string" },
      version: { type: "string" },
      chainId: uint(),
      verifyingContract: address,
      domain: object({ name: { type: "string" }, version: { type: "string" }, chainId: uint(), verifyingContract: address }),
      types: { type: "object", description: "viem's `types` for the UserOp (EIP712Domain left out, as viem derives it)" },
      primaryType: { const: "UserOp" },
    }),
    description: "Pass domain, types and primaryType to signTypedData as they are.",
  },
  Info: {
    type: "object",
    required: ["chain_id", "app_address", "input_box_address", "batch_submitter_address", "max_wait_blocks", "feed_generation", "version"],
    properties: {
      chain_id: uint(),
      app_address: address,
      input_box_address: address,
      ether_portal_address: address,
      erc20_portal_address: address,
      erc20_token_address: address,
      batch_submitter_address: address,
      max_wait_blocks: uint(),
      max_data_length: uint(),
      app_abi_version: uint(),
      app_module_sha256: { type: "string" },
      app_metered_sha256: { type: "string" },
      app_config: hex("the app's init config (SEQ_APP_CONFIG)"),
      app_inspect: { type: "boolean" },
      execution_limits: { type: "object" },
      feed_generation: uint("the recovery generation now: pass it as the feed's generation when starting to follow"),
      version: { type: "string" },
    },
  },
  Health: object({ ok: { const: true }, status: { type: "string" } }),
  InspectAnswer: {
    type: "object",
    required: ["status", "reports", "offset"],
    properties: {
      status: { type: "string", enum: ["accepted", "rejected", "exception"] },
      reports: { type: "array", items: object({ payload: hex("a report's bytes") }) },
      offset: uint("the last sequenced entry the answer reflects (durable state only)"),
      exception: { type: "string", description: "with status exception: what failed" },
      failure: { type: "string", description: "with status exception: the failure class (SPEC 2.8)" },
    },
  },
};

/** Said on both inspect routes: where else they are served. */
const INSPECT_LISTENER_NOTE =
  "Also served, with the same answers, by the inspect follower's own listener when the operator sets SEQ_INSPECT_HTTP_ADDR (a separate port that serves only the inspect routes and /healthz).";

const inspectAnswers = {
  "200": json(ref("InspectAnswer"), "The app's answer"),
  "400": error(STATUS_TEXT[400], "BAD_REQUEST"),
  "413": error(STATUS_TEXT[413], "PAYLOAD_TOO_LARGE"),
  "429": error(STATUS_TEXT[429], "OVERLOADED"),
  "503": error(STATUS_TEXT[503], "UNAVAILABLE"),
  ...common,
};

const paths: Record<string, Record<string, Schema>> = {
  "/tx": {
    post: {
      summary: "Submit a signed UserOp; answered once it is durable",
      requestBody: { required: true, content: { "application/json": { schema: ref("UserOpRequest") } } },
      responses: {
        "200": json(ref("TxAccepted"), "Sequenced and durable (soft confirmation)"),
        "400": error("Malformed body, or a signature that does not recover to sender", "BAD_REQUEST", "INVALID_SIGNATURE"),
        "413": error(STATUS_TEXT[413], "PAYLOAD_TOO_LARGE"),
        "422": error("The app or the fee rule rejected it (the message says why)", "EXECUTION_REJECTED"),
        "429": error(STATUS_TEXT[429], "OVERLOADED"),
        "503": error(STATUS_TEXT[503], "UNAVAILABLE"),
        ...common,
      },
    },
  },
  "/tx/{tx_hash}": {
    get: {
      summary: "Where a submitted op stands",
      parameters: [{ name: "tx_hash", in: "path", required: true, schema: bytes32 }],
      responses: {
        "200": json(ref("TxStatus"), "Its status; invalidated means resubmit"),
        "400": error(STATUS_TEXT[400], "BAD_REQUEST"),
        "404": error("No op with this hash", "NOT_FOUND"),
        ...common,
      },
    },
  },
  "/inspect": {
    post: {
      summary: "A read-only query of the app on durable state",
      description: INSPECT_LISTENER_NOTE,
      requestBody: {
        required: true,
        content: {
          "application/octet-stream": { schema: { type: "string", format: "binary" } },
          "application/json": { schema: object({ payload: hex("the query's bytes") }) },
        },
      },
      responses: inspectAnswers,
    },
  },
  "/inspect/{payload_hex}": {
    get: {
      summary: "A read-only query, its payload in hex in the path (0x optional)",
      description: INSPECT_LISTENER_NOTE,
      parameters: [{ name: "payload_hex", in: "path", required: true, schema: { type: "string", pattern: "^(0x)?([0-9a-fA-F]{2})*$" } }],
      responses: inspectAnswers,
    },
  },
  "/fee": { get: { summary: "The fee now", responses: { "200": json(ref("Fee"), "Fee"), ...common } } },
  "/nonce": {
    get: {
      summary: "A sender's next nonce",
      parameters: [{ name: "sender", in: "query", required: true, schema: address }],
      responses: { "200": json(ref("Nonce"), "Next nonce"), "400": error(STATUS_TEXT[400], "BAD_REQUEST"), ...common },
    },
  },
  "/domain": { get: { summary: "The EIP-712 domain, types and primary type", responses: { "200": json(ref("Domain"), "Domain"), ...common } } },
  "/info": { get: { summary: "Chain, contracts, app module and limits", responses: { "200": json(ref("Info"), "Info"), ...common } } },
  "/healthz": { get: { summary: "The process is up", responses: { "200": json(ref("Health"), "Up"), ...common } } },
  "/readyz": {
    get: {
      summary: "Whether POST /tx is accepted now",
      responses: { "200": json(ref("Health"), "Ready"), "503": error("Not ready, with the reason", "UNAVAILABLE"), ...common },
    },
  },
  "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } }, ...common } } },
  "/ws/subscribe": {
    get: {
      summary: "The feed (WebSocket)",
      description:
        "A WebSocket of JSON text frames: user_op and direct_input entries (with outputs) in order from from_offset, " +
        "then live; {kind:rollback, offset, generation} when a recovery cut history (resume from that offset). " +
        "At most 64 subscribers (close 1013); a catch-up window over 50000 entries closes 1008. See docs/protocol.md.",
      parameters: [
        { name: "from_offset", in: "query", required: false, schema: uint("first offset to send (default 0)") },
        { name: "generation", in: "query", required: false, schema: uint("the generation the client last saw") },
      ],
      responses: {
        "101": { description: "Switching to the WebSocket protocol" },
        "400": error("Bad query or a bad Sec-WebSocket-Key", "BAD_REQUEST"),
        "426": error("A plain GET, or a WebSocket version other than 13", "BAD_REQUEST"),
        ...common,
      },
    },
  },
};

/** Answers of every route that is not one of the above (documented once, in the info text). */
const UNKNOWN_ROUTE =
  "An unknown route, or a known path with another method, answers 404 with code NOT_FOUND. " +
  "One trailing slash is ignored (/fee/ is /fee). Requests the HTTP parser cannot read (not HTTP/1.x, " +
  "a header section over 16 KiB, conflicting lengths) get its bodiless 400, 431 or 505 and the connection is closed.";

export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "Cartesi app sequencer, public API",
    version: "1",
    description:
      "Errors are always JSON {ok:false, code, message}. " +
      UNKNOWN_ROUTE +
      " CORS follows SEQ_CORS_ORIGINS. See docs/protocol.md for the signing rules and the feed.",
  },
  paths,
  components: { schemas },
} as const;

let reply: HttpReply | undefined;

/** The document as served; built once. */
export function openApiReply(): HttpReply {
  return (reply ??= jsonReply(OPENAPI_DOCUMENT));
}
