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

/** An SDK app whose inspect reports the payload back (accepted; rejected when empty), and whose ops do nothing. */
export const ECHO_APP = `
import { App, Op, Query, reportBytes, run } from "../sdk";
export * from "../sdk/abi";
class Echo extends App {
  constructor() { super("ECHO", 1, 64); }
  check(op: Op): string | null { return null; }
  execute(op: Op): void {}
  query(q: Query): bool { reportBytes(q.payload); return q.payload.length > 0; }
}
run(new Echo());
`;
