/**
 * The devnet anvil for tests: `withDevnetAnvil` and its types live in scripts/lib (the
 * benchmarks use them too); this adds the bun:test lifecycle.
 *
 *   const l1 = useDevnetAnvil();            // registers beforeAll/afterAll in this file
 *   test("x", async () => { await l1().deposit(2, parseEther("1")); });
 */
import { afterAll, beforeAll } from "bun:test";
import { type DevnetAnvil, type DevnetAnvilOptions, withDevnetAnvil } from "../../scripts/lib/devnet-anvil.ts";

export * from "../../scripts/lib/devnet-anvil.ts";

/** Registers beforeAll/afterAll in the calling test file; call the returned getter inside tests. */
export function useDevnetAnvil(opts: DevnetAnvilOptions = {}): () => DevnetAnvil {
  let handle: DevnetAnvil | undefined;
  beforeAll(async () => {
    handle = await withDevnetAnvil(opts);
  });
  afterAll(async () => {
    await handle?.stop();
  });
  return () => {
    if (!handle) throw new Error("devnet anvil not started (use the getter inside a test)");
    return handle;
  };
}
