// Runs the app in-process with the sequencer's own host (same metering, limits and failure
// rules), without a chain: LocalApp from the sequencer package.
import { expect, test } from "bun:test";
import { LocalApp } from "cartesi-app-sequencer/local-app";

const ALICE = "0x00000000000000000000000000000000000a11ce";
const id = (n: number) => Uint8Array.from(Buffer.from(n.toString(16).padStart(16, "0"), "hex"));

test("a deposit pays the fees; each op bumps its counter; inspect reads it", async () => {
  const app = await LocalApp.open("build/app.wasm");
  app.deposit(ALICE, 10n ** 18n);
  expect(app.op(ALICE, id(7)).status).toBe("included");
  expect(app.op(ALICE, id(7)).status).toBe("included");
  expect(app.op(ALICE, Uint8Array.of(1))).toEqual({ status: "rejected", reason: "op data is the counter id: 8 bytes" });
  const answer = app.inspect(id(7));
  expect(answer.status).toBe("accepted");
  expect(Buffer.from(answer.reports[0]!).readBigUInt64BE(0)).toBe(2n);
});
