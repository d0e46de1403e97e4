import { test } from "bun:test";

/** The one command that installs every optional test tool (Debian packages). */
export const INSTALL_TEST_TOOLS = "sudo bash scripts/install-test-tools.sh";

/** The path of an executable on PATH, if any. */
export function which(name: string): string | null {
  return Bun.which(name);
}

/**
 * `test` when `available`, else `test.skip`, after saying on stderr which test is skipped,
 * why, and the command that enables it (so `npm test` never skips silently).
 */
export function testIf(available: boolean, what: string, needs: string): typeof test | typeof test.skip {
  if (available) return test;
  process.stderr.write(`skipped: ${what} needs ${needs}; enable with: ${INSTALL_TEST_TOOLS}\n`);
  return test.skip;
}
