/**
 * The instrumented wallet's sha256, pinned. Fuel is consensus: if this changes, a new
 * binaryen, a new cost table or new limits changed what every op costs, which is a new
 * deployment (bump METERING_VERSION and say so). Checked under Bun (src/app/metering.test.ts)
 * and in the compiled binary's /info (test/binary/binary.test.ts).
 */
export const METERED_WALLET_SHA256 = "11d8fe85ea3605558206aa0273a945440630c646f82b1f5c31685dd9b6ee5063";
