// Shared with the benchmarks: the sequencer as a child process (scripts/lib/sequencer-process.ts).
export * from "../../scripts/lib/sequencer-process.ts";
