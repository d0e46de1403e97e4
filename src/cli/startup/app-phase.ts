/**
 * Startup, phase 0: the app module. Read (embedded wallet or SEQ_APP_WASM), metered (from
 * `<dataDir>/metered/` on a restart, see app/metering.ts), loaded with its config. Every
 * failure an operator can fix is a ConfigError naming the variable.
 */
import { AppHost, prepareAppRuntime, type AppConfig } from "../../app/host.ts";
import { loadAppBytes } from "../../app/default-app.ts";
import { AppConfigRefusedError, AppLoadError } from "../../app/errors.ts";
import { meteredCacheDirOf } from "../../app/metering.ts";
import { ConfigError } from "../../core/errors.ts";
import { limitsJson } from "../../core/execution-limits.ts";
import type { Logger } from "../../observability/log.ts";
import type { Config } from "../config.ts";

export interface AppPhase {
  /** The module's bytes as given (the inspect follower loads the same). */
  bytes: Uint8Array;
  /** The lane's instance. */
  app: AppHost;
  /** Another fresh instance of the same module and config (recovery's empty state, …). */
  fresh(): AppHost;
}

export async function appPhase(config: Config, submitter: `0x${string}`, log: Logger): Promise<AppPhase> {
  const bytes = readAppBytes(config);
  const metered = await prepareAppRuntime(bytes, { meteredCacheDir: meteredCacheDirOf(config.dataDir) });
  const app = loadApp(config, submitter, bytes, log);
  log.info("app module loaded", {
    metering_cache: metered,
    module_sha256: app.moduleSha256,
    metered_sha256: app.meteredSha256,
    abi_version: app.abiVersion,
    ...limitsJson(app.limits),
  });
  return { bytes, app, fresh: () => loadApp(config, submitter, bytes, log) };
}

/** The host's own config for the app: fee recipient (the submitter), portals, token. */
export function hostConfigOf(config: Config, submitter: `0x${string}`): AppConfig {
  return {
    feeRecipient: submitter,
    etherPortal: config.etherPortalAddress,
    erc20Portal: config.erc20PortalAddress,
    erc20Token: config.erc20TokenAddress,
  };
}

/**
 * An operator-supplied module that cannot be loaded is a configuration error naming it; a
 * config the app refuses names SEQ_APP_CONFIG.
 */
function loadApp(config: Config, submitter: `0x${string}`, bytes: Uint8Array, log: Logger): AppHost {
  try {
    return AppHost.create(bytes, hostConfigOf(config, submitter), {
      appConfig: config.appConfig,
      // the app's debug lines are not consensus: printed only at debug level, never stored
      ...(config.logLevel === "debug" ? { onLog: (line: string) => log.debug("app debug", { line, instance: "lane" }) } : {}),
    });
  } catch (e) {
    if (e instanceof AppConfigRefusedError) throw new ConfigError("SEQ_APP_CONFIG", e.message);
    if (config.appWasmPath !== undefined && e instanceof AppLoadError) {
      throw new ConfigError("SEQ_APP_WASM", e.message.replace(/^SEQ_APP_WASM=/, ""));
    }
    throw e;
  }
}

/** The module's bytes; an unreadable SEQ_APP_WASM is a configuration error naming it. */
function readAppBytes(config: Config): Uint8Array {
  try {
    return loadAppBytes(config.appWasmPath);
  } catch (e) {
    if (config.appWasmPath !== undefined && e instanceof AppLoadError) {
      throw new ConfigError("SEQ_APP_WASM", e.message.replace(/^SEQ_APP_WASM=/, ""));
    }
    throw e;
  }
}
