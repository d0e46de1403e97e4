/**
 * Compiles an app written against the AssemblyScript SDK (app-wasm/sdk) from source, in the
 * test: the source is placed at app-wasm/test-app/index.ts (in memory only) so that it
 * imports "../sdk" exactly as a real app does.
 */
import { compileWallet } from "../../scripts/build-wasm.ts";

export async function compileSdkApp(source: string): Promise<Uint8Array> {
  return compileWallet({
    "test-app/index.ts": source,
    "asconfig.json": JSON.stringify({
      entries: ["test-app/index.ts"],
      options: { outFile: "build/test-app.wasm", runtime: "minimal", optimizeLevel: 3, shrinkLevel: 0, converge: true, noColors: true },
    }),
  });
}
