/**
 * GET /openapi.json against the real server: a valid OpenAPI 3.1 document (the official
 * schema, through @seriousme/openapi-schema-validator), the same set of operations as the
 * server's routes both ways, exactly the server's error codes, and every answer provoked here
 * (successes and errors, on every route) documented with its status, code and body schema.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { Hex } from "viem";
import { PUBLIC_ROUTES } from "../../src/cli/servers.ts";
import { ERROR_CODES } from "../../src/http/reply.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { getJson, signOp, subscribe, transferData } from "../support/client.ts";
import { documentedCodes, OpenApiOracle } from "../support/openapi.ts";
import type { SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let doc: any;
let oracle: OpenApiOracle;
const KEY = DEVNET_KEYS[4] as Hex;
const USER = DEVNET_ADDRESSES[4]!.toLowerCase() as Hex;
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;

const dn = useDevnetSequencer({ env: { SEQ_LANE_QUEUE_CAPACITY: "1" }, fund: 4 });
beforeAll(async () => {
  ({ anvil, seq } = dn());
  const res = await fetch(`${seq.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
  oracle = new OpenApiOracle(doc);
});

/** Sends a request and checks the answer against the document; returns the answer. */
async function probe(method: string, path: string, init: RequestInit = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${seq.url}${path}`, { method, ...init });
  const body = await res.text();
  const problems = oracle.check(method, path, res.status, res.headers.get("content-type"), body);
  expect(problems).toEqual([]);
  return { status: res.status, json: body ? JSON.parse(body) : null };
}

describe("the OpenAPI document", () => {
  test("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    if (!result.valid) process.stderr.write(`${JSON.stringify(result.errors, null, 2)}\n`);
    expect(result.valid).toBe(true);
  });

  test("documents exactly the server's routes, both ways", async () => {
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`),
    );
    expect(new Set(documented)).toEqual(new Set(PUBLIC_ROUTES));
    // Each route answers on the server (not the unknown-route 404).
    for (const route of PUBLIC_ROUTES) {
      const [method, template] = route.split(" ") as [string, string];
      const path = template.replace(":tx_hash", `0x${"ab".repeat(32)}`).replace(":payload_hex", "00");
      const res = await fetch(`${seq.url}${path}`, { method, ...(method === "POST" ? { body: "{}" } : {}) });
      const body = await res.text();
      expect(`${route} ${res.status} ${body}`).not.toContain("no such route");
    }
  });

  test("lists exactly the error codes the server can answer", () => {
    expect(documentedCodes(doc)).toEqual(new Set(ERROR_CODES));
  });
});

describe("answers agree with the document", () => {
  test("successes on every route validate against their schemas", async () => {
    await probe("GET", "/healthz");
    await probe("GET", "/readyz");
    await probe("GET", "/fee");
    await probe("GET", "/info");
    const domain = await probe("GET", "/domain");
    expect(domain.json.primaryType).toBe("UserOp");
    const nonce = await probe("GET", `/nonce?sender=${USER}`);
    const op = await signOp(KEY, { nonce: nonce.json.next_nonce, maxFee: 1409, data: transferData(5n, TO) });
    const sent = await probe("POST", "/tx", { body: JSON.stringify(op), headers: { "content-type": "application/json" } });
    expect(sent.status).toBe(200);
    const status = await probe("GET", `/tx/${sent.json.tx_hash}`);
    expect(status.json.status).toBe("soft_confirmed");
    // A wallet balance query (selector 0x00 + address), raw, JSON and GET forms.
    const query = `0x00${USER.slice(2)}`;
    await until200(() => probe("POST", "/inspect", { body: Buffer.from(query.slice(2), "hex"), headers: { "content-type": "application/octet-stream" } }));
    await probe("POST", "/inspect", { body: JSON.stringify({ payload: query }), headers: { "content-type": "application/json" } });
    await probe("GET", `/inspect/${query}`);
    await probe("GET", "/openapi.json");
  });

  test("errors on every route carry a documented status and code", async () => {
    const json = { "content-type": "application/json" };
    expect((await probe("POST", "/tx", { body: "{", headers: json })).json.code).toBe("BAD_REQUEST");
    const n = (await getJson(`${seq.url}/nonce?sender=${USER}`)).json.next_nonce as number;
    const op = await signOp(KEY, { nonce: n, maxFee: 1409, data: transferData(5n, TO) });
    expect((await probe("POST", "/tx", { body: JSON.stringify({ ...op, sender: TO }), headers: json })).json.code).toBe("INVALID_SIGNATURE");
    expect((await probe("POST", "/tx", { body: JSON.stringify({ ...op, pad: "x".repeat(9000) }), headers: json })).json.code).toBe("PAYLOAD_TOO_LARGE");
    const late = await signOp(KEY, { nonce: n + 7, maxFee: 1409, data: transferData(5n, TO) });
    expect((await probe("POST", "/tx", { body: JSON.stringify(late), headers: json })).json.code).toBe("EXECUTION_REJECTED");
    // Queue capacity is 1: a burst overflows it.
    const burst = await Promise.all(
      Array.from({ length: 24 }, async (_, i) =>
        probe("POST", "/tx", { body: JSON.stringify(await signOp(KEY, { nonce: n + i, maxFee: 1409, data: transferData(1n, TO) })), headers: json }),
      ),
    );
    expect(burst.some((r) => r.json.code === "OVERLOADED")).toBe(true);
    expect((await probe("GET", "/tx/0x1234")).json.code).toBe("BAD_REQUEST");
    expect((await probe("GET", `/tx/0x${"cd".repeat(32)}`)).json.code).toBe("NOT_FOUND");
    expect((await probe("GET", "/nonce?sender=nope")).json.code).toBe("BAD_REQUEST");
    expect((await probe("GET", "/nonce")).json.code).toBe("BAD_REQUEST");
    expect((await probe("POST", "/inspect", { body: "{}", headers: json })).json.code).toBe("BAD_REQUEST");
    expect((await probe("POST", "/inspect", { body: "x", headers: { "content-type": "text/plain" } })).json.code).toBe("BAD_REQUEST");
    expect((await probe("POST", "/inspect", { body: new Uint8Array(300_000), headers: { "content-type": "application/octet-stream" } })).json.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await probe("GET", "/inspect/0xzz")).json.code).toBe("BAD_REQUEST");
    expect((await probe("GET", "/ws/subscribe")).status).toBe(426);
    expect((await probe("GET", "/nope")).json.code).toBe("NOT_FOUND");
    expect((await probe("DELETE", "/tx")).json.code).toBe("NOT_FOUND");
  });
});

async function until200(f: () => Promise<{ status: number }>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await f()).status === 200) return;
    await Bun.sleep(100);
  }
  throw new Error("no 200 answer");
}
