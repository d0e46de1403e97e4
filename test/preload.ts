/**
 * Loaded by `bun test` before any test file (bunfig.toml), to set the process up as the
 * product entry points do. Product entry points load the
 * metering pass through `prepareAppRuntime` (src/app/metering.ts says why it is on demand);
 * tests build hosts synchronously all over the suite, so the pass is loaded once here.
 * The processes the e2e tests spawn do not see this file: they take the product's path.
 */
import { loadMeteringPass } from "../src/app/metering.ts";
import { installNativeCrypto } from "../src/runtime/native-addons.ts";

await loadMeteringPass();

// As every process entry point does (src/cli/main.ts): native keccak and secp256k1, and the
// signature backend SEQ_SIG_BACKEND asks for.
installNativeCrypto();
