import { describe, expect, test } from "bun:test";
import { ConfigError } from "../core/errors.ts";
import {
  DEFAULT_HEAP_RAM_MB,
  describeHeapSizing,
  heapSizingReExec,
  JSC_RAM_OPTION,
  parseHeapRamMb,
  type ProcessImage,
} from "./heap-sizing.ts";

const MiB = 1_048_576;

function image(over: Partial<ProcessImage> = {}): ProcessImage {
  return {
    env: { PATH: "/usr/bin", SEQ_CHAIN_ID: "31337", UNSET: undefined },
    argv: ["/opt/bun/bun", "/repo/src/cli/main.ts", "run"],
    execArgv: [],
    execPath: "/opt/bun/bun",
    standalone: false,
    ...over,
  };
}

describe("parseHeapRamMb", () => {
  test("unset or empty is the default", () => {
    expect(parseHeapRamMb(undefined)).toBe(DEFAULT_HEAP_RAM_MB);
    expect(parseHeapRamMb("")).toBe(DEFAULT_HEAP_RAM_MB);
  });
  test("0 turns sizing off; whole MiB in range are taken", () => {
    expect(parseHeapRamMb("0")).toBe(0);
    expect(parseHeapRamMb("64")).toBe(64);
    expect(parseHeapRamMb("4096")).toBe(4096);
  });
  test.each(["abc", "-1", "1.5", "160MB", " 160", "0x100", "63", "1048577"])("%p is a ConfigError naming the variable", (v) => {
    let err: unknown;
    try {
      parseHeapRamMb(v);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe("SEQ_JS_HEAP_RAM_MB");
    expect((err as Error).message).toContain("SEQ_JS_HEAP_RAM_MB");
  });
});

describe("heapSizingReExec", () => {
  test("from source: bun, its own flags, the script and the arguments, with the option added", () => {
    const r = heapSizingReExec(image({ execArgv: ["--cpu-prof"] }))!;
    expect(r.file).toBe("/opt/bun/bun");
    expect(r.args).toEqual(["/opt/bun/bun", "--cpu-prof", "/repo/src/cli/main.ts", "run"]);
    expect(r.env[JSC_RAM_OPTION]).toBe(String(DEFAULT_HEAP_RAM_MB * MiB));
    expect(r.env.SEQ_CHAIN_ID).toBe("31337");
    expect("UNSET" in r.env).toBe(false);
  });
  test("a compiled binary drops its virtual entry path, which it adds again itself", () => {
    const r = heapSizingReExec(
      image({ argv: ["bun", "/$bunfs/root/sequencer", "devnet"], execPath: "/srv/sequencer", standalone: true }),
    )!;
    expect(r.args).toEqual(["/srv/sequencer", "devnet"]);
  });
  test("the configured size is used", () => {
    const r = heapSizingReExec(image({ env: { SEQ_JS_HEAP_RAM_MB: "256" } }))!;
    expect(r.env[JSC_RAM_OPTION]).toBe(String(256 * MiB));
  });
  test("no exec when sizing is off, or when the option is already set (operator or first exec)", () => {
    expect(heapSizingReExec(image({ env: { SEQ_JS_HEAP_RAM_MB: "0" } }))).toBeNull();
    expect(heapSizingReExec(image({ env: { [JSC_RAM_OPTION]: "1" } }))).toBeNull();
    const again = heapSizingReExec(image());
    expect(heapSizingReExec(image({ env: again!.env }))).toBeNull();
  });
  test("a bad value is refused even when the JSC option is set", () => {
    expect(() => heapSizingReExec(image({ env: { SEQ_JS_HEAP_RAM_MB: "lots", [JSC_RAM_OPTION]: "1" } }))).toThrow(ConfigError);
  });
});

test("describeHeapSizing reports what JSC was given", () => {
  expect(describeHeapSizing({ [JSC_RAM_OPTION]: String(160 * MiB) })).toEqual({ jsHeapRamMb: 160 });
  expect(describeHeapSizing({})).toEqual({ jsHeapRamMb: "machine" });
});
