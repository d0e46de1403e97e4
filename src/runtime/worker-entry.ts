import { existsSync } from "node:fs";
import { join } from "node:path";
import { SequencerError } from "../core/errors.ts";

/**
 * Where a worker entrypoint lives, given its path under src/ (e.g. "ingress/sigpool-worker").
 *
 * From source it is the .ts file itself. In a compiled binary everything is bundled into the
 * main entry (so import.meta points at the binary's virtual root) and each extra entrypoint is
 * stored as .js under its path relative to the entrypoints' common directory: "ingress/" when
 * built from src/cli/main.ts, "src/ingress/" with --root ., and so on. Callers resolve it
 * once, eagerly, so a bad build fails at startup rather than at first use.
 */
export function workerEntry(srcRelative: string): string {
  const here = import.meta.dir; // src/runtime when run from source
  if (!Bun.isStandaloneExecutable) return join(here, "..", `${srcRelative}.ts`);
  const base = srcRelative.split("/").pop()!;
  const candidates = [`${srcRelative}.js`, `src/${srcRelative}.js`, `${base}.js`];
  for (const rel of candidates) {
    const path = join(here, rel);
    if (existsSync(path)) return path;
  }
  throw new SequencerError(
    "WORKER_ENTRY_MISSING",
    `worker ${srcRelative} is not embedded in this binary; build with \`npm run build\` ` +
      "(scripts/build.ts lists every worker as an extra entrypoint)",
  );
}
