/**
 * App outputs leave the sequencer (issue 14 item 5, SPEC 2.8) on the real devnet: the wallet's
 * notices, vouchers and reports reach the live feed, the catch-up feed and GET /tx/:tx_hash,
 * identically, and they are what the canonical scheduler computes from the same inputs.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Hex } from "viem";
import { DEVNET_ADDRESSES, DEVNET_DEPLOYMENT, DEVNET_KEYS, inputBoxAbi } from "../../src/l1/contracts.ts";
import type { DevnetAnvil } from "../support/anvil.ts";
import { useDevnetSequencer } from "../support/devnet-sequencer.ts";
import { getJson, postTx, signOp, subscribe, transferData, withdrawalData, type FeedClient } from "../support/client.ts";
import type { SequencerProcess } from "../support/sequencer.ts";

let anvil: DevnetAnvil;
let seq: SequencerProcess;
let live: FeedClient;
const KEY = DEVNET_KEYS[2] as Hex;
const ME = DEVNET_ADDRESSES[2]!.toLowerCase();
const TO = DEVNET_ADDRESSES[3]!.toLowerCase() as Hex;
const hex32 = (v: bigint) => v.toString(16).padStart(64, "0");
const text = (payload: string) => Buffer.from(payload.slice(2), "hex").toString("utf8");

const dn = useDevnetSequencer({ fund: 2, keepFeed: true });
beforeAll(() => {
  ({ anvil, seq, feed: live } = dn());
});

describe("outputs on the feed and on GET /tx", () => {
  test("a deposit's notice, a transfer's notice, a withdrawal's voucher and a no-op's report", async () => {
    const deposit = live.messages[0];
    expect(deposit.kind).toBe("direct_input");
    expect(deposit.failure).toBeNull();
    const portal = DEVNET_DEPLOYMENT.etherPortal.toLowerCase();
    expect(deposit.outputs).toEqual([{ kind: "notice", payload: `${portal}${ME.slice(2)}${hex32(10n ** 18n)}` }]);

    const sends: [Hex, unknown[]][] = [
      [transferData(5n, TO), [{ kind: "notice", payload: `${ME}${TO.slice(2)}${hex32(5n)}` }]],
      [withdrawalData(7n), [{ kind: "voucher", payload: `${ME}${hex32(7n)}` }]],
      [transferData(10n ** 30n, TO), [{ kind: "report", payload: expect.any(String) }]],
    ];
    const acks = [];
    for (let i = 0; i < sends.length; i++) {
      const r = await postTx(seq.url, await signOp(KEY, { nonce: i, maxFee: 1409, data: sends[i]![0] }));
      expect(r.status).toBe(200);
      acks.push(r.json);
    }
    const msgs = await live.waitFor(1 + sends.length);
    for (let i = 0; i < sends.length; i++) {
      const m = msgs[1 + i];
      expect(m.tx_hash).toBe(acks[i].tx_hash);
      expect(m.outputs).toEqual(sends[i]![1]);
      // GET /tx shows exactly what the feed sent
      const st = await getJson(`${seq.url}/tx/${acks[i].tx_hash}`);
      expect(st.json.outputs).toEqual(m.outputs);
    }
    expect(text(msgs[3].outputs[0].payload)).toBe("transfer: insufficient balance");

    // catch-up from storage renders the same messages as the live fan-out
    const again = subscribe(seq.url, "?from_offset=0");
    const replayed = await again.waitFor(msgs.length);
    again.close();
    expect(replayed).toEqual(msgs);
  });

  test("an input from a non-portal sender is included with a report saying why", async () => {
    const hash = await anvil.walletClient(4).writeContract({
      address: anvil.deployment.inputBox,
      abi: inputBoxAbi,
      functionName: "addInput",
      args: [anvil.deployment.application, "0x1234"],
    });
    await anvil.publicClient.waitForTransactionReceipt({ hash });
    await anvil.mine(7);
    const msgs = await live.waitFor(5);
    const m = msgs[4];
    expect(m.kind).toBe("direct_input");
    expect(m.outputs.map((o: { kind: string }) => o.kind)).toEqual(["report"]);
    expect(text(m.outputs[0].payload)).toBe("input ignored: not from a configured portal");
  });
});
