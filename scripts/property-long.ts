/**
 * The equivalence property (test/property/equivalence.test.ts) with many more random
 * schedules than CI runs:  bun scripts/property-long.ts [runs=5000]
 */
const runs = process.argv[2] ?? "5000";
const proc = Bun.spawn([process.execPath, "test", "--timeout", "0", "test/property"], {
  env: { ...process.env, SEQ_PROPERTY_RUNS: runs },
  stdout: "inherit",
  stderr: "inherit",
});
process.exit(await proc.exited);
export {};
