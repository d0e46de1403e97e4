/**
 * The app module the sequencer runs: the embedded wallet by default, or the file named by
 * SEQ_APP_WASM. `bun build --compile` embeds wallet.wasm through the `type: "file"` import,
 * so the single binary needs nothing beside it.
 */
import { readFileSync } from "node:fs";
import wasmPath from "../../app-wasm/build/wallet.wasm" with { type: "file" };
import walletV1Path from "../../app-wasm/build/wallet-v1.wasm" with { type: "file" };
import { createHash } from "node:crypto";
import { AppLoadError } from "./errors.ts";

/** Bytes of the embedded wallet module (a fresh copy on every call). */
export function loadDefaultAppBytes(): Uint8Array {
  try {
    return new Uint8Array(readFileSync(wasmPath));
  } catch (e) {
    // only possible in a broken checkout/build: the artifact is committed and embedded
    throw new AppLoadError(`embedded wallet module is unreadable at ${wasmPath}: ${describe(e)}`, { cause: e });
  }
}

/**
 * Every wallet this binary has shipped, by sha256: the current one and the one before the
 * SDK (issue #15), so that `verify` of an export recorded with either finds its module
 * without --app-wasm.
 */
export function embeddedModuleBySha256(sha256: string): Uint8Array | null {
  for (const p of [wasmPath, walletV1Path]) {
    const bytes = new Uint8Array(readFileSync(p));
    if (createHash("sha256").update(bytes).digest("hex") === sha256) return bytes;
  }
  return null;
}

/**
 * Bytes of the app module at `path` (SEQ_APP_WASM), or of the embedded wallet when `path`
 * is undefined or empty.
 * @throws AppLoadError naming the path when the file is missing or unreadable.
 */
export function loadAppBytes(path: string | undefined): Uint8Array {
  if (path === undefined || path === "") return loadDefaultAppBytes();
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new AppLoadError(`SEQ_APP_WASM=${path}: cannot read the app module: ${describe(e)}`, { cause: e });
  }
  if (bytes.length === 0) throw new AppLoadError(`SEQ_APP_WASM=${path}: the app module file is empty`);
  return bytes;
}

function describe(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === "string" ? `${code} (${message})` : message;
}
