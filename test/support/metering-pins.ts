/**
 * The instrumented wallet's sha256, pinned. Fuel is consensus: if this changes, a new
 * binaryen, a new cost table or new limits changed what every op costs, which is a new
 * deployment (bump METERING_VERSION and say so). Checked under Bun (src/app/metering.test.ts)
 * and in the compiled binary's /info (test/binary/binary.test.ts).
 */
export const METERED_WALLET_SHA256 = "cd22bd236c71ea79fe5d756f27ef3b577cc931555c3f5cd64ee42279bb04c099";
