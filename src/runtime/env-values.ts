import { ConfigError } from "../core/errors.ts";

/**
 * Parsers for single environment values, shared by loadConfig and by the entry point's heap
 * sizing (which runs before config.ts and its imports are loaded, so this file imports only
 * the error class).
 */
export function parseIntRange(name: string, v: string, min: number, max: number): number {
  if (!/^-?[0-9]+$/.test(v)) throw new ConfigError(name, `must be an integer, got "${v}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${v}`);
  }
  return n;
}
