/**
 * The instrumented wallet's sha256, pinned. Fuel is consensus: if this changes, a new
 * binaryen, a new cost table or new limits changed what every op costs, which is a new
 * deployment (bump METERING_VERSION and say so). Checked under Bun (src/app/metering.test.ts)
 * and in the compiled binary's /info (test/binary/binary.test.ts).
 */
export const METERED_WALLET_SHA256 = "3436112a2e0bb716b399b2101bd047cee8cf35f3030e018e946068e309d75048";
