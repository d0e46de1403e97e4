/**
 * SPEC 2.8 on the real server (issue 14): an app module compiled in the test from
 * AssemblyScript, in which one op byte selects an infinite loop, unbounded recursion, memory
 * growth, `unreachable` or a non-zero result. While one client sends those, another client's
 * valid ops must keep getting 200 within a stated bound, every hostile op must get 422
 * EXECUTION_REJECTED naming its failure and leave nothing stored, and the process must keep
 * serving. Also: the data dir remembers its module (a different one is a startup error, 78).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { EXECUTION_LIMITS } from "../../src/core/execution-limits.ts";
import { DEVNET_ADDRESSES, DEVNET_KEYS } from "../../src/l1/contracts.ts";
import { withDevnetAnvil, type DevnetAnvil } from "../support/anvil.ts";
import { burnData, compileHostileApp, GROW_CALLS_TO_NEAR_CAP, MODE } from "../support/hostile-app.ts";
import { AppHost } from "../../src/app/host.ts";
import { bytesToHex } from "../../src/core/bytes.ts";
import { ADMISSION_FUEL } from "../../src/ingress/lane.ts";
import { getJson, postTx, signOp } from "../support/client.ts";
import { startSequencerProcess, tempDir, type SequencerProcess } from "../support/sequencer.ts";

const FAILURES: [number, RegExp][] = [
  [MODE.loop, /fuel exhausted/],
  [MODE.recursion, /call depth over/],
  [MODE.memory, /memory cap of \d+ pages reached/],
  [MODE.unreachable, /trapped/],
  [MODE.nonZero, /returned a non-zero result/],
];
/** The bound this test states: no valid op waits longer than this for its 200. */
const VALID_ACK_BOUND_MS = 1_000;

let anvil: DevnetAnvil;
let seq: SequencerProcess;
const dir = tempDir();
let modulePath: string;
let moduleSha256: string;
const GOOD_KEY = DEVNET_KEYS[4] as Hex;
const BAD_KEY = DEVNET_KEYS[5] as Hex;
const BAD = DEVNET_ADDRESSES[5]!.toLowerCase();
const GROW_KEY = DEVNET_KEYS[3] as Hex;

beforeAll(async () => {
  const wasm = await compileHostileApp();
  modulePath = join(dir.path, "hostile.wasm");
  writeFileSync(modulePath, wasm);
  moduleSha256 = createHash("sha256").update(wasm).digest("hex");
  anvil = await withDevnetAnvil();
  seq = await startSequencerProcess({
    rpcUrl: anvil.url,
    dataDir: join(dir.path, "data"),
    env: { SEQ_APP_WASM: modulePath },
  });
});

afterAll(async () => {
  await seq?.stop();
  await anvil?.stop();
  dir.remove();
});

describe("a hostile app module (SPEC 2.8)", () => {
  test("/info shows the module's sha256 and the execution limits", async () => {
    const info = await getJson(`${seq.url}/info`);
    expect(info.json.app_module_sha256).toBe(moduleSha256);
    expect(info.json.app_metered_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(info.json.app_metered_sha256).not.toBe(moduleSha256);
    expect(info.json.execution_limits).toEqual({
      fuel_per_call: EXECUTION_LIMITS.fuelPerCall.toString(),
      max_call_depth: EXECUTION_LIMITS.maxCallDepth,
      max_memory_pages: EXECUTION_LIMITS.maxMemoryPages,
      max_outputs_per_call: EXECUTION_LIMITS.maxOutputsPerCall,
      max_output_bytes_per_call: EXECUTION_LIMITS.maxOutputBytesPerCall,
      metering_version: EXECUTION_LIMITS.meteringVersion,
    });
  });

  test("valid ops keep getting 200 within the bound while hostile ops get 422 naming their failure", async () => {
    const goodLatencies: number[] = [];
    const hostile: { mode: number; status: number; code: string; message: string }[] = [];
    let stop = false;
    let goodNonce = 0;
    const good = (async () => {
      while (!stop) {
        const body = await signOp(GOOD_KEY, { nonce: goodNonce, maxFee: 1409, data: "0x00" });
        const t0 = performance.now();
        const r = await postTx(seq.url, body);
        goodLatencies.push(performance.now() - t0);
        expect(r.status).toBe(200);
        goodNonce++;
      }
    })();
    // Growth is charged (one call cannot reach the page cap from a small memory): a third,
    // valid user first grows the memory close to the cap with ops that succeed.
    for (let i = 0; i < GROW_CALLS_TO_NEAR_CAP; i++) {
      const r = await postTx(seq.url, await signOp(GROW_KEY, { nonce: i, maxFee: 1409, data: `0x0${MODE.grow}` }));
      expect(r.status).toBe(200);
    }
    // Two hostile clients in parallel, 4 rounds of every failure each.
    const attack = async (seed: number) => {
      for (let round = 0; round < 4; round++) {
        for (const [mode] of FAILURES) {
          const body = await signOp(BAD_KEY, { nonce: seed * 100 + round * 10 + mode, maxFee: 1409, data: `0x0${mode}` as Hex });
          const r = await postTx(seq.url, body);
          hostile.push({ mode, status: r.status, code: r.json.code, message: r.json.message });
        }
      }
    };
    await Promise.all([attack(1), attack(2)]);
    // a few more valid ops after the attack
    const after = goodLatencies.length + 5;
    while (goodLatencies.length < after) await Bun.sleep(5);
    stop = true;
    await good;

    expect(hostile.length).toBe(2 * 4 * FAILURES.length);
    for (const h of hostile) {
      expect(h.status).toBe(422);
      expect(h.code).toBe("EXECUTION_REJECTED");
    }
    for (const [mode, text] of FAILURES) {
      const ofMode = hostile.filter((h) => h.mode === mode);
      expect(ofMode.length).toBe(8);
      for (const h of ofMode) expect(h.message).toMatch(text);
    }
    const max = Math.max(...goodLatencies);
    console.log(`valid ops during the attack: ${goodLatencies.length}, max ack ${max.toFixed(1)} ms`);
    expect(max).toBeLessThan(VALID_ACK_BOUND_MS);

    // Nothing of the hostile sender was stored; every valid op was.
    const db = new Database(join(seq.dataDir, "sequencer.db"), { readonly: true });
    try {
      const bySender = db.query("SELECT lower(hex(sender)) AS s, COUNT(*) AS n FROM user_ops GROUP BY sender").all() as { s: string; n: number }[];
      expect(bySender.find((r) => `0x${r.s}` === BAD)).toBeUndefined();
      expect(bySender.reduce((a, r) => a + r.n, 0)).toBe(goodNonce + GROW_CALLS_TO_NEAR_CAP);
    } finally {
      db.close();
    }

    // One structured line per failing op, naming the sender, the op and the failure.
    const lines = seq.logs.filter((l) => l.msg === "op refused: the app failed executing it");
    expect(lines.length).toBe(hostile.length);
    for (const l of lines) {
      expect(l.sender).toBe(BAD);
      expect(String(l.tx_hash)).toMatch(/^0x[0-9a-f]{64}$/);
      expect(["fuel", "depth", "memory", "trap", "result"]).toContain(String(l.failure));
    }
    expect((await getJson(`${seq.url}/healthz`)).status).toBe(200);
    expect((await getJson(`${seq.url}/readyz`)).status).toBe(200);
  });

  test("an op that stays within the budget but uses over 90 % of it is refused: the lane's admission margin", async () => {
    // calibrate the op's fuel on the same module through the host (fuel is linear in the count)
    const h = AppHost.create(await compileHostileApp(), {
      feeRecipient: "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
      etherPortal: "0x0000000000000000000000000000000000000000",
      erc20Portal: "0x0000000000000000000000000000000000000000",
      erc20Token: "0x0000000000000000000000000000000000000000",
    });
    const fuelOf = (k: number) => {
      h.applyUserOp(BAD as `0x${string}`, 0, 1356, burnData(k), 1n);
      return h.lastFuelUsed;
    };
    const a = fuelOf(1000);
    const per = (fuelOf(2000) - a) / 1000n;
    const k = Math.floor(Number((EXECUTION_LIMITS.fuelPerCall * 95n) / 100n - (a - 1000n * per)) / Number(per));
    expect(fuelOf(k)).toBeGreaterThan(ADMISSION_FUEL);
    expect(h.lastFuelUsed).toBeLessThan(EXECUTION_LIMITS.fuelPerCall);

    const heavy = await postTx(seq.url, await signOp(BAD_KEY, { nonce: 999, maxFee: 1409, data: bytesToHex(burnData(k)) }));
    expect(heavy.status).toBe(422);
    expect(heavy.json.message).toMatch(/over the sequencer's admission limit/);
    // a lighter one of the same kind is fine
    const light = await postTx(seq.url, await signOp(GOOD_KEY, { nonce: 10_000, maxFee: 1409, data: bytesToHex(burnData(1000)) }));
    expect(light.status).toBe(200);
  });

  test("a different module on this data dir stops startup with exit 78 naming SEQ_APP_WASM, both hashes and the remedy", async () => {
    expect(await seq.stop()).toBe(0);
    let message = "";
    try {
      // no SEQ_APP_WASM: the embedded wallet
      const other = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: seq.dataDir });
      await other.stop();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/exited with 78/);
    expect(message).toMatch(/SEQ_APP_WASM/);
    expect(message).toContain(moduleSha256);
    expect(message).toMatch(/sha256 [0-9a-f]{64}\) is not the one/);
    expect(message).toMatch(/fresh SEQ_DATA_DIR/);
    // the original module still starts on it
    seq = await startSequencerProcess({ rpcUrl: anvil.url, dataDir: seq.dataDir, env: { SEQ_APP_WASM: modulePath } });
    expect((await getJson(`${seq.url}/info`)).json.app_module_sha256).toBe(moduleSha256);
  });
});
