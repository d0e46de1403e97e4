/**
 * Splits an app's source lines by what they are for, from `// [category]` markers in the file
 * (business, state, duties, glue, serialisation). Counts non-blank, non-comment lines; lines
 * before the first marker (imports, the ABI re-export) count as glue.
 *
 * Run: node_modules/.bin/bun scripts/app-lines.ts app-wasm/registry/index.ts
 */
import { readFileSync } from "node:fs";

export const CATEGORIES = ["business", "state", "duties", "glue", "serialisation"] as const;
export type Category = (typeof CATEGORIES)[number];

export function splitLines(source: string): Record<Category, number> {
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  let current: Category = "glue";
  let inBlockComment = false;
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    const marker = /^\/\/ \[(\w+)\]$/.exec(line);
    if (marker) {
      if (!(CATEGORIES as readonly string[]).includes(marker[1]!)) throw new Error(`unknown category [${marker[1]}]`);
      current = marker[1] as Category;
      continue;
    }
    if (inBlockComment) {
      if (line.includes("*/")) inBlockComment = false;
      continue;
    }
    if (line.startsWith("/*")) {
      if (!line.includes("*/")) inBlockComment = true;
      continue;
    }
    if (line === "" || line.startsWith("//") || line.startsWith("*")) continue;
    counts[current]++;
  }
  return counts;
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: bun scripts/app-lines.ts FILE\n");
    process.exit(64);
  }
  const c = splitLines(readFileSync(file, "utf8"));
  const total = CATEGORIES.reduce((s, k) => s + c[k], 0);
  for (const k of CATEGORIES) console.log(`${k.padEnd(14)} ${String(c[k]).padStart(4)}  ${((c[k] * 100) / total).toFixed(0)} %`);
  console.log(`${"total".padEnd(14)} ${String(total).padStart(4)}`);
}
