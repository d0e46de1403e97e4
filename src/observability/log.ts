/**
 * Structured logging: one JSON object per line on stderr, so operators can ship logs to any
 * collector without parsing free text. Values that look like secrets are never passed here;
 * `redact` exists as a second line of defence for fields named like keys.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /private.?key|secret|password|mnemonic/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stderr. Tests capture lines through this. */
  write?: (line: string) => void;
  bindings?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = LEVELS[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const bindings = opts.bindings ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      msg,
      ...bindings,
    };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = redact(k, v);
    write(JSON.stringify(record, jsonReplacer));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (b) => createLogger({ ...opts, bindings: { ...bindings, ...b } }),
  };
}

/** A logger that drops everything; for library callers that did not pass one. */
export const silentLogger: Logger = createLogger({ write: () => {} , level: "error" });

function redact(key: string, value: unknown): unknown {
  return SECRET_FIELD.test(key) ? "<redacted>" : value;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return "0x" + Buffer.from(value).toString("hex");
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...("code" in value ? { code: value.code } : {}) };
  }
  return value;
}

export function errorFields(e: unknown): Record<string, unknown> {
  return { error: e instanceof Error ? e : String(e) };
}
