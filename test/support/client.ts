// Shared with the benchmarks and the demo (scripts/lib/http-client.ts).
export * from "../../scripts/lib/http-client.ts";
