/**
 * The one native-addon loader: what SEQ_SIG_BACKEND may be, that a bad value stops `run`
 * with exit 78 naming it, and that the addons it hands core compute what @noble computes.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { createKeccak256 } from "../core/keccak.ts";
import { createRecoverer, signDigest } from "../core/signature.ts";
import { nativeKeccak256, parseSignatureBackend } from "./native-addons.ts";

test("SEQ_SIG_BACKEND: js, native, auto (default, also when empty); anything else names the variable", () => {
  expect(parseSignatureBackend(undefined)).toBe("auto");
  expect(parseSignatureBackend("")).toBe("auto");
  expect(parseSignatureBackend(" Native ")).toBe("native");
  expect(parseSignatureBackend("js")).toBe("js");
  expect(() => parseSignatureBackend("fast")).toThrow(ConfigError);
  expect(() => parseSignatureBackend("fast")).toThrow(/SEQ_SIG_BACKEND/);
});

test("a bad SEQ_SIG_BACKEND stops `run` before anything else, with exit 78 naming it", () => {
  const p = Bun.spawnSync([process.execPath, join(import.meta.dir, "..", "cli", "main.ts"), "run"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SEQ_SIG_BACKEND: "fast" },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(p.exitCode).toBe(78);
  expect(p.stderr.toString()).toContain("SEQ_SIG_BACKEND");
});

test("the addons core receives compute what @noble computes (linux-x64)", () => {
  if (process.platform !== "linux" || process.arch !== "x64") return;
  const native = nativeKeccak256();
  expect(native).not.toBeNull();
  const data = new TextEncoder().encode("the one loader");
  expect(Buffer.from(native!(data)).toString("hex")).toBe(Buffer.from(createKeccak256("js")(data)).toString("hex"));
  const digest = createKeccak256("js")(data);
  const key = new Uint8Array(32).fill(7);
  const s = signDigest(digest, key);
  const sig = new Uint8Array(65);
  sig.set(s.compact);
  sig[64] = 27 + s.recovery;
  expect(createRecoverer("native")(digest, sig)).toBe(createRecoverer("js")(digest, sig));
});
