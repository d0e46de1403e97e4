/**
 * The layering docs/architecture.md declares, enforced: imports between the folders of src/
 * run only down the order below, src/ and scripts/ never import test/, product code never
 * imports scripts/, and src/core does no I/O and reads no environment.
 *
 * It reads the source text (static imports, re-exports and dynamic `import("…")`), so it sees
 * exactly what the bundler follows. Tests next to the code (`*.test.ts`) are test code: they
 * may import test/ and scripts/lib, and are not checked against the order.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const ROOT = resolve(import.meta.dir, "..", "..");
const SRC = join(ROOT, "src");

/**
 * Low to high. A folder may import from folders of a lower rank only; folders of one rank are
 * siblings and import nothing from each other.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["core"],
  ["observability", "http", "runtime"],
  ["app"],
  ["storage"],
  ["snapshots", "l1"],
  ["restore"],
  ["ingress", "egress", "inspect", "replay"],
  ["recovery"],
  ["cli"],
];

const RANK = new Map<string, number>(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank] as const)));

/** Files outside src/ that product code may import: data baked into the binary. */
const ASSET = /\.(json|wasm|html)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|(?:^|[\s;(=])import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

/** Relative import specifiers of a file, resolved to absolute paths, with their line. */
function relativeImports(file: string): { target: string; line: number; spec: string }[] {
  const text = readFileSync(file, "utf8");
  const out: { target: string; line: number; spec: string }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (!spec.startsWith(".")) continue;
    const line = text.slice(0, m.index).split("\n").length;
    out.push({ target: resolve(dirname(file), spec), line, spec });
  }
  return out;
}

const isTestFile = (f: string) => f.endsWith(".test.ts");
const rel = (f: string) => relative(ROOT, f).split(sep).join("/");
const folderOf = (f: string) => relative(SRC, f).split(sep)[0]!;

const productFiles = walk(SRC).filter((f) => !isTestFile(f));

describe("layering", () => {
  test("every folder of src/ has a declared layer", () => {
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
    expect(folders.filter((f) => !RANK.has(f))).toEqual([]);
    expect([...RANK.keys()].filter((f) => !folders.includes(f))).toEqual([]);
  });

  test("imports between src/ folders run only down the declared order", () => {
    const violations: string[] = [];
    for (const file of productFiles) {
      const from = folderOf(file);
      for (const imp of relativeImports(file)) {
        if (!imp.target.startsWith(SRC + sep)) continue;
        const to = folderOf(imp.target);
        if (to === from) continue;
        if (!(RANK.get(to)! < RANK.get(from)!)) {
          violations.push(`${rel(file)}:${imp.line} imports ${imp.spec} (${from} may not depend on ${to})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  test("product code imports nothing outside src/ but baked-in data files", () => {
    const violations: string[] = [];
    for (const file of productFiles) {
      for (const imp of relativeImports(file)) {
        if (imp.target.startsWith(SRC + sep)) continue;
        if (ASSET.test(imp.target) && !rel(imp.target).startsWith("test/") && !rel(imp.target).startsWith("scripts/")) continue;
        violations.push(`${rel(file)}:${imp.line} imports ${imp.spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  test("neither product code nor scripts/ imports test/", () => {
    const violations: string[] = [];
    // Tests next to the code may use test/support: only product files and scripts are checked.
    for (const file of [...productFiles, ...walk(join(ROOT, "scripts"))]) {
      for (const imp of relativeImports(file)) {
        if (rel(imp.target).startsWith("test/")) violations.push(`${rel(file)}:${imp.line} imports ${imp.spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  test("src/core does no I/O and reads no environment", () => {
    const forbidden: [RegExp, string][] = [
      [/from\s*["'](node:|bun:|fs["']|path["']|os["']|child_process)/, "a runtime I/O module"],
      [/\bprocess\./, "process"],
      [/\bBun\./, "Bun"],
      [/\brequire\s*\(/, "require"],
      [/\bfetch\s*\(/, "fetch"],
      [/\bimport\.meta\b/, "import.meta"],
    ];
    const violations: string[] = [];
    for (const file of productFiles.filter((f) => folderOf(f) === "core")) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((text, i) => {
        // Comments may mention what the code does not do.
        const code = text.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
        for (const [re, what] of forbidden) if (re.test(code)) violations.push(`${rel(file)}:${i + 1} uses ${what}`);
      });
    }
    expect(violations).toEqual([]);
  });

  test("the checker sees a back edge, a test/ import and I/O in core when they are there", () => {
    // The rules above pass on the tree; this proves they can fail: the import pattern and
    // the rank rule on sample text.
    const sample = `import { x } from "../cli/config.ts";\nexport * from "../../test/support/bytes.ts";\nconst m = await import("../ingress/lane.ts");`;
    const specs = [...sample.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specs).toEqual(["../cli/config.ts", "../../test/support/bytes.ts", "../ingress/lane.ts"]);
    expect(RANK.get("cli")! < RANK.get("storage")!).toBe(false);
    expect(RANK.get("core")! < RANK.get("storage")!).toBe(true);
    expect(RANK.get("egress")! < RANK.get("ingress")!).toBe(false); // siblings
  });
});
