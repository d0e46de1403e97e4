/**
 * The author's scaffold (npm run app:init): a new folder with a compiling app, the SDK, an
 * asconfig, a test, and a package.json that pins assemblyscript exactly. The new app is
 * built with the asc CLI in that folder (as `npm run build` does) and driven with LocalApp,
 * as its own test does. (Its `npm install` is not run here: it needs the registry.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { initApp } from "../../scripts/app-init.ts";
import { LocalApp } from "../../src/app/local-app.ts";
import { tempDir } from "../support/sequencer.ts";

const ROOT = join(import.meta.dir, "..", "..");
const dir = tempDir("seq-app-init-");
const app = join(dir.path, "my-app");

afterAll(() => dir.remove());

describe("npm run app:init", () => {
  test("writes a complete app folder, refuses a non-empty one", () => {
    const files = initApp(app, "My App");
    expect(files.sort()).toEqual([".gitignore", "README.md", "asconfig.json", "assembly", "package.json", "sdk", "test"].sort());
    const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
    const asc = JSON.parse(readFileSync(join(ROOT, "node_modules", "assemblyscript", "package.json"), "utf8")).version;
    expect(pkg.name).toBe("my-app");
    expect(pkg.devDependencies.assemblyscript).toBe(asc); // exact: `asc` can only be this one
    expect(pkg.devDependencies["cartesi-app-sequencer"]).toBe(`file:${ROOT}`);
    expect(pkg.scripts.build).toBe("asc --config asconfig.json");
    for (const f of readdirSync(join(ROOT, "app-wasm", "sdk"))) {
      expect(readFileSync(join(app, "sdk", f), "utf8")).toBe(readFileSync(join(ROOT, "app-wasm", "sdk", f), "utf8"));
    }
    expect(existsSync(join(app, "test", "app.test.ts"))).toBe(true);
    expect(() => initApp(app)).toThrow(/exists and is not empty/);
  });

  test("the new app builds with asc and does what its test says", async () => {
    const p = Bun.spawnSync([join(ROOT, "node_modules", ".bin", "asc"), "--config", "asconfig.json"], { cwd: app, stderr: "pipe" });
    expect(p.exitCode).toBe(0);
    const local = await LocalApp.open(join(app, "build", "app.wasm"));
    const ALICE = "0x00000000000000000000000000000000000a11ce";
    const id = Uint8Array.from(Buffer.from("0000000000000007", "hex"));
    local.deposit(ALICE, 10n ** 18n);
    expect(local.op(ALICE, id).status).toBe("included");
    expect(local.op(ALICE, id).status).toBe("included");
    expect(local.op(ALICE, Uint8Array.of(1))).toEqual({ status: "rejected", reason: "op data is the counter id: 8 bytes" });
    expect(Buffer.from(local.inspect(id).reports[0]!).readBigUInt64BE(0)).toBe(2n);
  }, 60_000);
});
