/**
 * A WASI app written in C (app-wasm/guestbook-c, the committed build) on the real devnet
 * (issue #15): deposits and signed messages through a real sequencer process, its notices on
 * the feed, its printf lines in the debug log only, inspect, and export-l1 + verify offline.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { GUESTBOOK_WASM } from "../../scripts/build-c-app.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { getJson, postTx, signOp, subscribe, until, type FeedClient } from "../support/client.ts";
import { tempDir, type SequencerProcess } from "../support/sequencer.ts";
import { exportAndVerifyCli, waitUntilSafe } from "../support/verify-cli.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let live: FeedClient;
const work = tempDir();
const KEY = DEVNET_KEYS[2] as Hex;
const ME = DEVNET_ADDRESSES[2]!.toLowerCase();
const hexText = (s: string) => `0x${Buffer.from(s).toString("hex")}` as Hex;

const dn = useDevnetSequencer({
  env: { SEQ_APP_WASM: GUESTBOOK_WASM, SEQ_LOG_LEVEL: "debug", SEQ_MAX_BATCH_OPEN_SECONDS: "1", SEQ_BATCH_SUBMITTER_IDLE_POLL_INTERVAL_MS: "100" },
  fund: 2,
  keepFeed: true,
  cleanup: () => work.remove(),
});
beforeAll(() => {
  ({ anvil, seq, feed: live } = dn());
});

describe("the C guestbook on the devnet", () => {
  test("signed messages become notices, printf goes to the debug log, inspect reads them back", async () => {
    for (const [i, msg] of ["gm from C", "second message"].entries()) {
      const r = await postTx(seq.url, await signOp(KEY, { nonce: i, maxFee: 1409, data: hexText(msg) }));
      expect(r.status).toBe(200);
    }
    const msgs = await live.waitFor(3);
    const notice = msgs[1].outputs[0];
    expect(notice.kind).toBe("notice");
    expect(notice.payload.slice(2, 42)).toBe(ME.slice(2));
    expect(Buffer.from(notice.payload.slice(58), "hex").toString()).toBe("gm from C");
    const debug = seq.logs.filter((l) => l.msg === "app debug" && l.instance === "lane").map((l) => l.line);
    expect(debug.some((l) => typeof l === "string" && l.startsWith("guestbook: 9 bytes at block"))).toBe(true);
    // nothing of it on the feed
    expect(JSON.stringify(msgs)).not.toContain(Buffer.from("guestbook:").toString("hex"));

    const answer = (await until(async () => {
      const r = await getJson(`${seq.url}/inspect/0x00`);
      return r.json.offset === 2 ? r : null;
    }))!;
    expect(answer.json.status).toBe("accepted");
    expect(answer.json.reports.map((r: { payload: string }) => Buffer.from(r.payload.slice(58), "hex").toString())).toEqual(["second message", "gm from C"]);
  });

  test("export-l1 + verify of the history folds to the same feed", async () => {
    const msgs = await live.waitFor(3);
    await waitUntilSafe(anvil, seq.url, msgs[2].tx_hash);
    const run = await exportAndVerifyCli({
      anvil,
      workDir: work.path,
      feedMessages: msgs.slice(0, 3),
      extraExportArgs: ["--sequencer", seq.url],
      extraVerifyArgs: ["--app-wasm", GUESTBOOK_WASM],
    });
    expect(run.report.verdict).toBe("match");
    expect(run.report.user_ops.executed).toBe(2);
    expect(run.verifyCode).toBe(0);
  });
});
