// Shared with the benchmarks (scripts/lib/ports.ts).
export * from "../../scripts/lib/ports.ts";
