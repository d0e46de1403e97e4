import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDefaultAppBytes } from "../app/default-app.ts";
import { AppHost } from "../app/host.ts";
import { bytesToHex, type Address } from "../core/bytes.ts";
import { domainSeparator } from "../core/eip712.ts";
import { feedMessage, rollbackMessage, type SequencedTx } from "../core/l2tx.ts";
import { Scheduler } from "../core/scheduler.ts";
import { formatL1InputLine, parseFeed, parseL1Inputs, ReplayInputError, type L1InputRecord } from "./files.ts";
import { syntheticInputs } from "../../scripts/lib/synthetic-inputs.ts";
import { compileAs, fixtureSource } from "../../scripts/lib/app-fixtures.ts";
import { verify, VerifyInputError, type VerifyParams } from "./verify.ts";

const CHAIN_ID = 31337n;
const APP: Address = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9";
const SUBMITTER: Address = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const PORTAL: Address = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
const ZERO: Address = "0x0000000000000000000000000000000000000000";
const WASM = loadDefaultAppBytes();

const inputs = syntheticInputs({ chainId: CHAIN_ID, app: APP, submitter: SUBMITTER, etherPortal: PORTAL, users: 6, batches: 12, opsPerBatch: 4 });

/** The reference run: what an honest sequencer's feed and state would be. */
function reference(list: readonly L1InputRecord[]): { feed: SequencedTx[]; dump: Uint8Array; dumps: Uint8Array[] } {
  const app = AppHost.create(WASM, { feeRecipient: SUBMITTER, etherPortal: PORTAL, erc20Portal: ZERO, erc20Token: ZERO });
  const feed: SequencedTx[] = [];
  const dumps: Uint8Array[] = [app.dump()];
  const s = new Scheduler({
    app,
    batchSubmitter: SUBMITTER,
    domainSeparator: domainSeparator(CHAIN_ID, APP),
    onExecuted: (e) => {
      feed.push(e);
      dumps.push(app.dump());
    },
  });
  for (const i of list) s.processInput({ sender: i.sender, inclusionBlock: BigInt(i.blockNumber), payload: i.payload, inputIndex: i.inputIndex });
  return { feed, dump: app.dump(), dumps };
}
const ref = reference(inputs);
const feedText = (entries: SequencedTx[]) => entries.map((e) => feedMessage(e)).join("\n") + "\n";
const params = (extra: Partial<VerifyParams> = {}): VerifyParams => ({
  inputs,
  chainId: CHAIN_ID,
  app: APP,
  batchSubmitter: SUBMITTER,
  appWasm: WASM,
  etherPortal: PORTAL,
  erc20Portal: ZERO,
  erc20Token: ZERO,
  ...extra,
});

describe("verify (in process)", () => {
  test("the synthetic stream exercises every path", () => {
    const r = verify(params());
    expect(r.match).toBe(true);
    expect(r.executed_input_count).toBe(ref.feed.length);
    expect(r.next_batch_nonce).toBe(12);
    expect(r.batches).toMatchObject({ accepted: 12, malformed: 2, wrong_nonce: 2 });
    expect(r.user_ops.skipped.bad_signature).toBe(2);
    expect(r.user_ops.executed).toBe(12 * 4 - 2);
    expect(r.state_digest).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.feed).toBeUndefined();
  });

  test("an app whose dump fails: the fold completes, and the report says why the digest is missing", async () => {
    const appWasm = await compileAs(fixtureSource({ dump: "export function dump(): i32 { unreachable(); return 0; }" }));
    const r = verify(params({ appWasm }));
    expect(r.app_fatal).toBeUndefined();
    expect(r.executed_input_count).toBeGreaterThan(0);
    expect(r.state_digest).toBeNull();
    expect(r.state_dump_error).toBe("the app's dump failed (trap)"); // no engine text: deterministic
    const withState = verify(params({ appWasm, state: new Uint8Array(4) }));
    expect(withState.state_match).toBe(false);
    expect(withState.state!.note).toMatch(/could not dump its state here/);
  });

  test("a faithful feed matches, every entry compared", () => {
    const feed = parseFeed(feedText(ref.feed), "feed");
    expect(verify(params({ feed }))).toMatchObject({
      match: true,
      verdict: "match",
      pending_feed_entries: 0,
      feed: { compared: ref.feed.length },
    });
  });

  test("recorded entries beyond what L1 covers are pending: incomplete, never a match", () => {
    // L1 cut before the first batch with an op the scheduler skips: nothing covers the rest
    let k = inputs.length;
    while (k > 0 && Object.values(verify(params({ inputs: inputs.slice(0, k) })).user_ops.skipped).some((n) => n > 0)) k--;
    const prefix = verify(params({ inputs: inputs.slice(0, k) }));
    expect(prefix.batches.accepted).toBeGreaterThan(0);
    const r = verify(params({ inputs: inputs.slice(0, k), feed: parseFeed(feedText(ref.feed), "feed") }));
    expect(r).toMatchObject({
      match: false,
      verdict: "incomplete",
      pending_feed_entries: ref.feed.length - prefix.executed_input_count,
      feed: { compared: prefix.executed_input_count },
    });
    expect(r.first_divergence).toBeUndefined();
  });

  test("recorded entries inside accepted batches that the fold skipped are a divergence, not pending", () => {
    // the accepted batches hold ops the fold skips (bad signatures, rejections); a recording
    // claiming more entries than the fold executed is contradicted at the first one missing
    expect(Object.values(verify(params()).user_ops.skipped).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const extra: SequencedTx = { kind: "direct_input", offset: ref.feed.length, sender: PORTAL, blockNumber: 99999, inputIndex: 9999, payload: new Uint8Array(3), outputs: [], failure: null };
    const r = verify(params({ feed: parseFeed(feedText([...ref.feed, extra]), "feed") }));
    expect(r).toMatchObject({ match: false, verdict: "divergence", first_divergence: { offset: ref.feed.length, fields: ["missing"] } });
    expect(r.first_divergence!.reason).toMatch(/skipped/);
  });

  test("a feed that is shorter than what L1 executed is a mismatch at the first missing offset", () => {
    const feed = parseFeed(feedText(ref.feed.slice(0, 10)), "feed");
    const r = verify(params({ feed }));
    expect(r.match).toBe(false);
    expect(r.first_divergence).toMatchObject({ offset: 10, fields: ["missing"], got: null });
    expect(r.first_divergence!.expected).toEqual(JSON.parse(feedMessage(ref.feed[10]!)));
  });

  test("one changed byte in the feed is reported at its offset with the differing fields", () => {
    const i = ref.feed.findIndex((e) => e.kind === "user_op" && e.offset > 8);
    const bad = ref.feed.map((e) => ({ ...e }));
    const op = bad[i] as Extract<SequencedTx, { kind: "user_op" }>;
    op.data = op.data.slice();
    op.data[5]! ^= 1;
    op.fee = op.fee + 1;
    const r = verify(params({ feed: parseFeed(feedText(bad), "feed") }));
    expect(r.match).toBe(false);
    expect(r.first_divergence).toMatchObject({ offset: i, fields: ["fee", "data"] });
  });

  test("a flipped byte in an L1 deposit diverges at that deposit's offset", () => {
    const target = inputs.findIndex((x, k) => x.sender === PORTAL && k > 3);
    const tampered = inputs.map((x) => ({ ...x }));
    tampered[target]!.payload = tampered[target]!.payload.slice();
    tampered[target]!.payload[40]! ^= 0x01;
    const r = verify(params({ inputs: tampered, feed: parseFeed(feedText(ref.feed), "feed") }));
    const offset = ref.feed.findIndex((e) => e.kind === "direct_input" && e.inputIndex === target);
    expect(r.match).toBe(false);
    // the credited amount changed, so the notice did too
    expect(r.first_divergence).toMatchObject({ offset, fields: ["payload", "outputs"] });
  });

  test("rollbacks in a recording truncate it", () => {
    const text =
      feedText(ref.feed.slice(0, 5)) +
      rollbackMessage({ kind: "rollback", offset: 3, generation: 1 }) +
      "\n" +
      feedText(ref.feed.slice(3));
    const feed = parseFeed(text, "feed");
    expect(feed.rollbacks).toBe(1);
    expect(feed.entries.length).toBe(ref.feed.length);
    expect(verify(params({ feed })).match).toBe(true);
  });

  test("--state: equal bytes match, at the end or at an L2 index; a differing byte is located", () => {
    expect(verify(params({ state: ref.dump }))).toMatchObject({ match: true, state_match: true });
    expect(verify(params({ state: ref.dumps[20]!, stateL2TxIndex: 20 }))).toMatchObject({ match: true, state_match: true });
    expect(verify(params({ state: ref.dumps[0]!, stateL2TxIndex: 0 }))).toMatchObject({ match: true, state_match: true });
    expect(verify(params({ state: ref.dumps[20]!, stateL2TxIndex: 21 }))).toMatchObject({ match: false, state_match: false });
    const bad = ref.dump.slice();
    bad[bad.length - 1]! ^= 1;
    const r = verify(params({ state: bad }));
    expect(r).toMatchObject({ match: false, state_match: false, state: { first_differing_byte: bad.length - 1 } });
    const far = verify(params({ state: ref.dump, stateL2TxIndex: 10_000 }));
    expect(far.state_match).toBe(false);
    expect(far.state!.note).toContain("executed only");
  });

  test("inputs must start at index 0", () => {
    const shifted = parseL1Inputs(inputs.slice(1).map(formatL1InputLine).join("\n"), "x");
    expect(() => verify(params({ inputs: shifted }))).toThrow(VerifyInputError);
  });

  test("the wrong portal changes the state digest (why verify takes portal flags)", () => {
    const a = verify(params());
    const b = verify(params({ etherPortal: "0xc70076a466789b595b50959cdc261227f0d70051" }));
    expect(b.state_digest).not.toBe(a.state_digest);
  });
});

describe("file formats", () => {
  test("L1 inputs round-trip through the line format", () => {
    const text = inputs.map(formatL1InputLine).join("\n") + "\n";
    const back = parseL1Inputs(text, "f");
    expect(back.length).toBe(inputs.length);
    expect(back.map(formatL1InputLine)).toEqual(inputs.map(formatL1InputLine));
    expect(JSON.parse(formatL1InputLine(inputs[0]!))).toEqual({
      input_index: 0,
      sender: PORTAL,
      block_number: inputs[0]!.blockNumber,
      block_timestamp: inputs[0]!.blockTimestamp,
      transaction_hash: inputs[0]!.transactionHash,
      payload: bytesToHex(inputs[0]!.payload),
    });
  });

  test("errors name the line", () => {
    const lines = inputs.slice(0, 4).map(formatL1InputLine);
    const cases: [string[], RegExp][] = [
      [[lines[0]!, "{not json"], /^f:2: not valid JSON/],
      [[lines[0]!, lines[2]!], /^f:2: input_index 2 does not follow 0/],
      [[lines[0]!, lines[1]!.replace('"payload":"0x', '"payload":"0xz')], /^f:2: "payload"/],
      [[lines[0]!.replace(/"sender":"[^"]+",/, "")], /^f:1: missing field "sender"/],
      [[lines[0]!.replace(/"block_number":\d+/, '"block_number":"5"')], /^f:1: "block_number" must be a non-negative integer/],
      [[lines[0]!.replace("}", ',"extra":1}')], /^f:1: unexpected field "extra"/],
      [["", lines[0]!, "[]"], /^f:3: not a JSON object/],
    ];
    for (const [ls, re] of cases) {
      let err: unknown;
      try {
        parseL1Inputs(ls.join("\n"), "f");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ReplayInputError);
      expect((err as Error).message).toMatch(re);
    }
  });

  test("a feed recording must be contiguous from offset 0", () => {
    const lines = ref.feed.slice(0, 3).map((e) => feedMessage(e));
    expect(() => parseFeed([lines[1]!].join("\n"), "r")).toThrow(/r:1: offset 1 where 0 was expected/);
    expect(() => parseFeed([lines[0]!, lines[2]!].join("\n"), "r")).toThrow(/r:2: offset 2 where 1/);
    expect(() => parseFeed([lines[0]!, '{"kind":"rollback","offset":5,"generation":1}'].join("\n"), "r")).toThrow(/beyond/);
    expect(() => parseFeed('{"kind":"weird","offset":0}', "r")).toThrow(/unknown message kind/);
  });
});

describe("CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const MAIN = join(import.meta.dir, "..", "cli", "main.ts");
  const run = (args: string[]) => {
    const p = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
  };
  const base = (file: string) => [
    "verify",
    "--l1-inputs",
    file,
    "--chain-id",
    "31337",
    "--app",
    APP,
    "--batch-submitter",
    SUBMITTER,
    "--ether-portal",
    PORTAL,
  ];

  test("exit 0 on match with one JSON line, 1 on mismatch, 2 on usage and input errors", () => {
    const file = join(dir, "inputs.jsonl");
    writeFileSync(file, inputs.map(formatL1InputLine).join("\n") + "\n");
    const feed = join(dir, "feed.jsonl");
    writeFileSync(feed, feedText(ref.feed));
    const stateFile = join(dir, "state.bin");
    writeFileSync(stateFile, ref.dump);
    const ok = run([...base(file), "--feed", feed, "--state", stateFile]);
    expect(ok.code).toBe(0);
    expect(ok.out.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(ok.out)).toMatchObject({ match: true, state_match: true, executed_input_count: ref.feed.length, pending_feed_entries: 0 });

    writeFileSync(feed, feedText(ref.feed.slice(1)).replace(/"offset":(\d+)/g, (_, n) => `"offset":${Number(n) - 1}`));
    const bad = run([...base(file), "--feed", feed]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ match: false, first_divergence: { offset: 0 } });

    const missing = run(["verify", "--l1-inputs", file]);
    expect(missing.code).toBe(2);
    expect(missing.err.trim().split("\n")).toHaveLength(1);
    expect(missing.err).toContain("--chain-id is required");
    expect(run([...base(file), "--bogus", "1"]).code).toBe(2);
    expect(run([...base(file).slice(0, -1), "0x12"]).err).toContain("--ether-portal must be");

    const broken = join(dir, "broken.jsonl");
    writeFileSync(broken, formatL1InputLine(inputs[0]!) + "\n" + "garbage\n");
    const b = run(base(broken));
    expect(b.code).toBe(2);
    expect(b.err).toContain(`${broken}:2: not valid JSON`);
    expect(b.out).toBe("");
    const nofile = run(base(join(dir, "nope.jsonl")));
    expect(nofile.code).toBe(2);
    expect(nofile.err).toContain("cannot read");
  }, 30_000);
});
