/**
 * Scaffolds a new app from app-wasm/template: `npm run app:init -- DIR [--name NAME]`.
 *
 * The new folder gets the template (an SDK app, its asconfig, a test), a copy of the SDK
 * (app-wasm/sdk → DIR/sdk), and a package.json that pins assemblyscript to this repository's
 * exact version (so `npm run build` never resolves `asc` to another package) and links this
 * checkout for LocalApp, the in-process test harness.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

export function initApp(dir: string, name: string = basename(resolve(dir))): string[] {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${target} exists and is not empty`);
  mkdirSync(target, { recursive: true });
  cpSync(join(ROOT, "app-wasm", "template"), target, { recursive: true });
  // stored as .tmpl so that the repository's own `bun test` does not pick the template's up
  for (const rel of ["test/app.test.ts"]) renameSync(join(target, `${rel}.tmpl`), join(target, rel));
  cpSync(join(ROOT, "app-wasm", "sdk"), join(target, "sdk"), { recursive: true });
  const repo = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const asc = (JSON.parse(readFileSync(join(ROOT, "node_modules", "assemblyscript", "package.json"), "utf8")) as { version: string }).version;
  const pkg = {
    name: name.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      build: "asc --config asconfig.json",
      test: "npm run build && bun test",
    },
    devDependencies: {
      assemblyscript: asc,
      bun: repo.dependencies.bun,
      "cartesi-app-sequencer": `file:${ROOT}`,
    },
  };
  writeFileSync(join(target, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  writeFileSync(join(target, ".gitignore"), "node_modules/\n");
  return ["package.json", ".gitignore", ...readdirSync(target).filter((f) => f !== "package.json" && f !== ".gitignore")];
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith("--"));
  const nameAt = args.indexOf("--name");
  if (!dir) {
    process.stderr.write("usage: npm run app:init -- DIR [--name NAME]\n");
    process.exit(64);
  }
  try {
    const files = initApp(dir, nameAt >= 0 ? args[nameAt + 1] : undefined);
    process.stdout.write(`created ${resolve(dir)}: ${files.join(", ")}\nnext: cd ${dir} && npm install && npm test\n`);
  } catch (e) {
    process.stderr.write(`app:init: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
