/**
 * Host of the WASM application (SPEC 2.6 and 2.8, ABI in docs/app-abi.md).
 *
 * Synchronous by design: the inclusion lane validates and applies one op after another on
 * one thread. Every call runs the module as instrumented by app/metering.ts, with the fuel,
 * depth and memory limits of core/execution-limits.ts, so no input can hold the thread for
 * longer than one budget. The host owns the two counters the protocol needs
 * (executed_input_count and the app clock) so that an app cannot get them wrong, and it
 * turns every outcome into exactly one typed result:
 * - a rejection (validate says no: normal answer);
 * - an inclusion (apply_* returns 0);
 * - an execution failure (SPEC 2.8: trap, fuel, depth, memory cap, non-zero result, import
 *   misuse). The host restores the app exactly to its state before the call, then reports
 *   it: ExecutionFailedError for a user op, `failure` in the result of a direct input;
 * - AppFatalError, only where no successor state can exist (a maintenance call breaking its
 *   contract, or a restore that does not reproduce itself). A dump that fails as a call
 *   fails is AppDumpError instead: put back, and the instance lives on.
 *
 * Restore: the host keeps a checkpoint (a copy of linear memory and of every mutable
 * global) and the log of the inputs applied since. A restore copies the checkpoint back
 * (into a fresh instance if memory grew) and re-applies the log. The log is bounded in
 * entries and in fuel, so a restore costs one memory copy plus at most TAIL_MAX_FUEL units.
 */
import { hexToBytes } from "../core/bytes.ts";
import {
  EXECUTION_LIMITS,
  ExecutionFailedError,
  FUEL_PER_CALL,
  FUEL_PER_INSPECT,
  FUEL_PER_MAINTENANCE_CALL,
  limitsFor,
  MAX_APP_CONFIG_BYTES,
  MAX_CALL_DEPTH,
  MAX_OUTPUT_BYTES_PER_CALL,
  MAX_OUTPUTS_PER_CALL,
  type ExecutionLimits,
  type FailureClass,
} from "../core/execution-limits.ts";
import { feeToLinear } from "../core/fees.ts";
import { OUTPUT_KINDS, type Output } from "../core/l2tx.ts";
import { AppArgumentError, AppConfigRefusedError, AppDumpError, AppFatalError, AppLoadError, AppSnapshotError } from "./errors.ts";
import { DEPTH_EXPORT, FUEL_EXPORT, GROW_REFUSED_EXPORT, meterModule, prepareMeteredModule, type MeteredModule, type MeteredSource } from "./metering.ts";
import { inspectModule, sigEquals, sigToString, type FuncSig, type ValType } from "./wasm-inspect.ts";
import { createWasiBinding, importsWasi, loadWasiRuntime, WASI_MODULE, wasiRuntimeLoaded, type WasiBinding } from "./wasi.ts";

/**
 * Loads what a module needs before AppHost.create can run it synchronously: its metered form
 * (from this process, from `meteredCacheDir`, or by loading the metering pass), and the WASI
 * runtime for a module that imports WASI. Entry points call it once. Returns where the
 * metered module came from ("refused" when metering refused it: AppHost.create says why).
 */
export async function prepareAppRuntime(
  wasm: Uint8Array,
  o: { meteredCacheDir?: string; meteringVersion?: number } = {},
): Promise<MeteredSource | "refused"> {
  const metered = await prepareMeteredModule(wasm, {
    ...(o.meteredCacheDir !== undefined ? { cacheDir: o.meteredCacheDir } : {}),
    ...(o.meteringVersion !== undefined ? { meteringVersion: o.meteringVersion } : {}),
  });
  let wasi = false;
  try {
    wasi = importsWasi(inspectModule(wasm).imports);
  } catch {
    return metered; // not a module: AppHost.create says so
  }
  if (wasi) await loadWasiRuntime();
  return metered;
}

export const APP_ABI_VERSION = 1;

/** Upper bound on max_data_len(): user op data rides in batches of ~12.5 KB anyway. */
export const MAX_APP_DATA_LEN = 1 << 20;

/** Lowercase (any case accepted) 20-byte hex; the zero address disables a portal/token. */
export interface AppConfig {
  feeRecipient: `0x${string}`;
  etherPortal: `0x${string}`;
  erc20Portal: `0x${string}`;
  erc20Token: `0x${string}`;
}

export type AppOutput = Output;
/** A rejection carries `failure` when validate failed (SPEC 2.8) rather than said no. */
export type Validation = { ok: true } | { ok: false; reason: string; failure?: FailureClass };
/** The answer to an inspect query (Cartesi's statuses): reports only, state untouched. */
export interface InspectResult {
  status: "accepted" | "rejected" | "exception";
  reports: readonly Uint8Array[];
  /** Set when status is exception: the failure class and its text. */
  failure?: FailureClass;
  error?: string;
}

/** What a host is created with besides the module and the host config. */
export interface AppHostOptions {
  /** The app's own init config (SEQ_APP_CONFIG), appended to the host's 80 bytes. */
  appConfig?: Uint8Array;
  /**
   * Receives the app's debug lines (env.log; WASI stdout/stderr). Not consensus: the lane
   * passes it only at SEQ_LOG_LEVEL=debug, and replay never does.
   */
  onLog?: (line: string) => void;
  /**
   * Run with an older metering version's costs (core/execution-limits.ts
   * FUEL_COSTS_BY_VERSION): only `verify` of an export recorded under it does.
   */
  meteringVersion?: number;
}

/** Largest inspect payload the host takes (the HTTP layer caps lower). */
export const MAX_INSPECT_PAYLOAD = 1 << 20;
/** A debug line is cut at this many bytes; a call's lines past this total are dropped. */
const MAX_LOG_LINE = 4096;
const MAX_LOG_PER_CALL = 64 * 1024;

/** What validate takes besides the op. */
export interface ValidateOptions {
  safeBlock?: bigint;
  admissionFuel?: bigint;
}

/** A direct input is always included; `failure` says it was a no-op because the app failed. */
export interface DirectInputResult {
  outputs: readonly AppOutput[];
  failure: FailureClass | null;
}
/** An L2 address: lowercase 0x-hex, or its 20 bytes as stored (replay passes those). */
export type Sender = `0x${string}` | Uint8Array;

/** Where the app stands in the L2 sequence; host-owned, restored together with a dump. */
export interface AppPosition {
  executedInputCount: bigint;
  clock: bigint;
}

// ---- ABI v1 signatures -------------------------------------------------------------------

const I32: ValType = "i32";
const I64: ValType = "i64";
const sig = (params: ValType[], results: ValType[]): FuncSig => ({ params, results });

/** The only imports a module may declare (all optional). */
const ALLOWED_IMPORTS: Record<string, FuncSig> = {
  "env.emit": sig([I32, I32, I32], []),
  "env.abort": sig([I32, I32, I32, I32], []),
  "env.log": sig([I32, I32], []),
  "env.clock": sig([], [I64]),
};

/** Exports a module may have; checked when present. */
const OPTIONAL_EXPORTS: Record<string, FuncSig> = {
  inspect: sig([I32, I32, I64], [I32]),
};

const REQUIRED_EXPORTS: Record<string, FuncSig> = {
  abi_version: sig([], [I32]),
  alloc: sig([I32], [I32]),
  dealloc: sig([I32], []),
  init: sig([I32, I32], [I32]),
  max_data_len: sig([], [I32]),
  last_error_ptr: sig([], [I32]),
  last_error_len: sig([], [I32]),
  validate: sig([I32, I32, I32, I32, I32, I32], [I32]),
  apply_user_op: sig([I32, I32, I32, I32, I32, I32, I64], [I32]),
  apply_direct_input: sig([I32, I64, I32, I32], [I32]),
  nonce_of: sig([I32], [I64]),
  dump: sig([], [I32]),
  dump_ptr: sig([], [I32]),
  dump_len: sig([], [I32]),
  load: sig([I32, I32], [I32]),
};

interface AppExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  alloc(len: number): number;
  dealloc(ptr: number): void;
  init(ptr: number, len: number): number;
  max_data_len(): number;
  last_error_ptr(): number;
  last_error_len(): number;
  validate(sender: number, nonce: number, fee: number, feeLinear: number, data: number, len: number): number;
  apply_user_op(
    sender: number,
    nonce: number,
    fee: number,
    feeLinear: number,
    data: number,
    len: number,
    safeBlock: bigint,
  ): number;
  apply_direct_input(sender: number, block: bigint, payload: number, len: number): number;
  nonce_of(sender: number): bigint;
  dump(): number;
  dump_ptr(): number;
  dump_len(): number;
  load(ptr: number, len: number): number;
  inspect?(payload: number, len: number, clock: bigint): number;
}

// ---- input region layout (allocated once through alloc) ---------------------------------
//   +0   sender (20 bytes)
//   +32  fee as uint256 little-endian (32 bytes)
//   +64  op data / direct input payload
const OFF_SENDER = 0;
const OFF_FEE = 32;
const OFF_DATA = 64;
const MIN_PAYLOAD_CAPACITY = 256;

const ACCEPTED: Validation = Object.freeze({ ok: true });
const NO_OUTPUTS: readonly AppOutput[] = Object.freeze([]);
const I64_MAX = (1n << 63n) - 1n;
const U32_MAX = 0xffff_ffff;
const U16_MAX = 0xffff;

/** Inputs applied since the checkpoint, re-applied by a restore. */
type TailEntry =
  | { kind: "op"; sender: Sender; nonce: number; fee: number; data: Uint8Array; safeBlock: bigint }
  | { kind: "direct"; sender: Sender; block: bigint; payload: Uint8Array }
  /** A direct input the app failed on: only the host counters moved. */
  | { kind: "noop"; block: bigint };

interface Checkpoint {
  image: Uint8Array;
  globals: (number | bigint)[];
  executed: number;
  clock: bigint;
}

/** A new checkpoint is taken once the tail holds this many entries or this much fuel. */
const TAIL_MAX_ENTRIES = 1024;
const TAIL_MAX_FUEL = Number(FUEL_PER_CALL) * 2;

const FUEL_PER_CALL_BIG = FUEL_PER_CALL;
const FUEL_MAINTENANCE = FUEL_PER_MAINTENANCE_CALL;

/** What a module is instantiated with: `env` (ABI §3) and, for WASI modules, WASI's functions. */
type AppImports = Record<string, Record<string, (...args: never[]) => unknown>>;

/** Thrown by the import functions when the app misuses them; classified as "import". */
class ImportMisuse extends Error {}
/** Thrown by env.abort; classified as "trap", with the app's own message. */
class AppAbort extends Error {}

interface Counters {
  fuel: WebAssembly.Global;
  depth: WebAssembly.Global;
  growRefused: WebAssembly.Global;
  state: WebAssembly.Global[];
}

// What the app is doing right now; emit is legal only while applying (and reports while
// inspecting).
const Phase = { Idle: 0, Validate: 1, Apply: 2, Inspect: 3 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];
const PHASE_NAMES = ["idle", "validate", "apply", "inspect"] as const;

export class AppHost {
  readonly abiVersion: number;
  readonly maxDataLength: number;
  /** sha256 (hex) of the module as given, and of the instrumented module that runs. */
  readonly moduleSha256: string;
  readonly meteredSha256: string;
  readonly limits: ExecutionLimits;

  #ex: AppExports;
  #g: Counters;
  readonly #compiled: WebAssembly.Module;
  readonly #imports: AppImports;
  readonly #metered: MeteredModule;
  #checkpoint: Checkpoint | null = null;
  #tail: TailEntry[] = [];
  #tailFuel = 0;
  #outputBytes = 0;
  /** Restores done since creation, and their total time (ms): for metrics and benches. */
  restores = 0;
  restoreMs = 0;
  #view: Uint8Array;
  #region = 0; // pointer of the input region in WASM memory
  #regionCapacity = 0; // bytes available at #region + OFF_DATA
  #phase: Phase = Phase.Idle;
  #outputs: AppOutput[] | null = null;
  #dead: AppFatalError | null = null;
  /** What env.clock answers during the current call: the app clock as of this input. */
  #now = 0n;
  readonly #onLog: ((line: string) => void) | undefined;
  readonly #wasi: WasiBinding | null;
  #logBytes = 0;
  /** Set when the input region moved since the checkpoint (an inspect must not undo that). */
  #regionMoved = false;
  /** Whether the module exports inspect (ABI §4, optional). */
  readonly hasInspect: boolean;
  // a number is exact up to 2^53 inputs (28,000 years at 10k inputs/s) and costs no bigint
  #executed = 0;
  #clock = 0n;
  // hot-path caches: the same sender validates then applies; the fee changes once a frame
  #lastSender = "";
  #lastSenderBytes: Uint8Array = new Uint8Array(20);
  readonly #feeBytes = new Map<number, Uint8Array>();

  private constructor(
    instance: WebAssembly.Instance,
    compiled: WebAssembly.Module,
    imports: AppImports,
    metered: MeteredModule,
    abiVersion: number,
    maxDataLength: number,
    options: AppHostOptions,
    wasi: WasiBinding | null,
  ) {
    this.#wasi = wasi;
    this.#ex = instance.exports as unknown as AppExports;
    this.#onLog = options.onLog;
    this.limits = options.meteringVersion === undefined ? EXECUTION_LIMITS : limitsFor(options.meteringVersion);
    this.hasInspect = typeof this.#ex.inspect === "function";
    this.#g = counters(instance, metered);
    this.#compiled = compiled;
    this.#imports = imports;
    this.#metered = metered;
    this.#view = new Uint8Array(this.#ex.memory.buffer);
    this.abiVersion = abiVersion;
    this.maxDataLength = maxDataLength;
    this.moduleSha256 = metered.moduleSha256;
    this.meteredSha256 = metered.meteredSha256;
  }

  /**
   * Compiles, checks and initialises a module. Everything that can be known about a bad
   * module is found here, before it executes a single input.
   * @throws AppLoadError
   */
  static create(wasm: Uint8Array, config: AppConfig, options: AppHostOptions = {}): AppHost {
    const configBytes = encodeConfig(config, options.appConfig);
    try {
      new WebAssembly.Module(wasm);
    } catch (e) {
      throw new AppLoadError(`not a valid WebAssembly module: ${errorText(e)}`, { cause: e });
    }
    const shape = inspectModule(wasm);
    const wasi = importsWasi(shape.imports);
    if (wasi && !wasiRuntimeLoaded()) {
      throw new AppLoadError("app module imports WASI, and the WASI runtime is not loaded (call prepareAppRuntime first)");
    }
    if (wasi && !shape.exports.some((e) => e.name === "_initialize")) {
      throw new AppLoadError(
        "app module imports WASI but exports no _initialize: build it as a reactor (clang -mexec-model=reactor, Rust crate-type cdylib); a command module's _start runs main and exits",
      );
    }
    checkImports(shape.imports);
    checkExport(shape.exports, "abi_version");
    // Only the instrumented module ever runs (SPEC 2.8).
    const metered = meterModule(wasm, options.meteringVersion);
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(metered.bytes);
    } catch (e) {
      throw new AppLoadError(`the instrumented module does not compile: ${errorText(e)}`, { cause: e });
    }

    // The import object closes over `holder` because the host object exists only after
    // instantiation; imports are not called before then (the start function cannot reach
    // emit legitimately, and if it does it gets a load error).
    const holder: { host: AppHost | null } = { host: null };
    const binding: WasiBinding | null = wasi
      ? createWasiBinding(module, {
          memory: () => (holder.host ? holder.host.#ex.memory : instanceMemory!),
          clock: () => (holder.host ? holder.host.#now : 0n),
          log: (line) => holder.host?.onLogLine(line),
        })
      : null;
    const imports: AppImports = {
      ...(binding ? { [WASI_MODULE]: binding.imports } : {}),
      env: {
        emit: (kind: number, ptr: number, len: number) => {
          if (!holder.host) throw new AppLoadError("emit called during instantiation");
          holder.host.#emit(kind, ptr, len);
        },
        clock: (): bigint => (holder.host ? holder.host.#now : 0n),
        log: (ptr: number, len: number) => {
          if (holder.host) holder.host.#log(ptr, len);
        },
        abort: (msg: number, file: number, line: number, col: number) => {
          const mem = holder.host ? holder.host.#ex.memory : instanceMemory;
          throw new AppAbort(`app aborted: ${describeAbort(mem, msg, file, line, col)}`);
        },
      },
    };
    let instanceMemory: WebAssembly.Memory | undefined;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, imports);
    } catch (e) {
      throw new AppLoadError(`app failed to instantiate: ${errorText(e)}`, { cause: e });
    }
    const ex = instance.exports as unknown as AppExports;
    instanceMemory = ex.memory instanceof WebAssembly.Memory ? ex.memory : undefined;

    const g = counters(instance, metered);
    if (binding) {
      // wasi-libc's constructors run before any other export
      binding.bind(instance);
      g.fuel.value = FUEL_MAINTENANCE;
      callForLoad(() => (instance.exports as { _initialize: () => void })._initialize());
    }
    g.fuel.value = FUEL_MAINTENANCE;
    const version = callForLoad(() => ex.abi_version());
    if (version !== APP_ABI_VERSION) {
      throw new AppLoadError(`app ABI version mismatch: module has ${version}, host supports ${APP_ABI_VERSION}`);
    }
    for (const name of Object.keys(REQUIRED_EXPORTS)) checkExport(shape.exports, name);
    for (const name of Object.keys(OPTIONAL_EXPORTS)) {
      if (shape.exports.some((e) => e.name === name)) checkExport(shape.exports, name, OPTIONAL_EXPORTS);
    }
    if (!shape.exports.some((e) => e.name === "memory" && e.kind === "memory")) {
      throw new AppLoadError("app module does not export its memory as `memory`");
    }

    g.fuel.value = FUEL_MAINTENANCE;
    const maxData = callForLoad(() => ex.max_data_len());
    if (!Number.isInteger(maxData) || maxData < 0 || maxData > MAX_APP_DATA_LEN) {
      throw new AppLoadError(`app max_data_len() = ${maxData} is outside [0, ${MAX_APP_DATA_LEN}]`);
    }
    const host = new AppHost(instance, module, imports, metered, version, maxData, options, binding);
    holder.host = host;
    host.#initialise(configBytes);
    host.#takeCheckpoint();
    return host;
  }

  // ---- user operations -----------------------------------------------------------------

  /**
   * Read-only admission check of an op at fee exponent `fee` (the frame's fee). A failure
   * (SPEC 2.8) is a rejection carrying `failure`, with the app already restored.
   * @param options.safeBlock the L1 safe block the op would execute at: the app reads the
   *        clock it will see in apply (env.clock) here too, so validate and apply agree.
   *        Callers that will apply must pass it; omitted, the clock is the current one.
   * @param options.admissionFuel the caller's own stricter limit (the lane's margin): a call
   *        that used more is treated as a fuel failure. The scheduler passes none.
   * @throws AppArgumentError on malformed arguments, AppFatalError if a restore fails.
   */
  validate(sender: Sender, nonce: number, fee: number, data: Uint8Array, options: ValidateOptions = {}): Validation {
    const admissionFuel = options.admissionFuel;
    this.#assertAlive();
    checkNonce(nonce);
    if (data.length > this.maxDataLength) {
      return { ok: false, reason: `data too long: max ${this.maxDataLength}, got ${data.length}` };
    }
    const r = this.#writeUserOp(sender, fee, data);
    let rc: number;
    this.#logBytes = 0;
    this.#now = options.safeBlock !== undefined && options.safeBlock > this.#clock ? options.safeBlock : this.#clock;
    this.#phase = Phase.Validate;
    this.#arm(FUEL_PER_CALL_BIG);
    try {
      rc = this.#ex.validate(r + OFF_SENDER, nonce | 0, fee, r + OFF_FEE, r + OFF_DATA, data.length);
    } catch (e) {
      const f = this.#fail("validate", e);
      return { ok: false, reason: f.message, failure: f.failure };
    } finally {
      this.#phase = Phase.Idle;
    }
    if (admissionFuel !== undefined && this.lastFuelUsed > admissionFuel) {
      const f = this.#fail("validate", new OverAdmission(this.lastFuelUsed, admissionFuel));
      return { ok: false, reason: f.message, failure: f.failure };
    }
    if (rc === 0) return ACCEPTED;
    return { ok: false, reason: this.#lastError() || `rejected by the app (code ${rc})` };
  }

  /**
   * Executes an op that validate() just accepted in the current state. Included even when
   * its business action fails (the app then consumes the nonce and the fee).
   * @returns the op's outputs, in emission order (a shared frozen empty array when none)
   * @param admissionFuel as for validate: over it, the op fails with class fuel (restored)
   * @throws ExecutionFailedError when the app fails (SPEC 2.8; the app is restored, the op
   *         must not be included); AppArgumentError before executing anything.
   */
  applyUserOp(
    sender: Sender,
    nonce: number,
    fee: number,
    data: Uint8Array,
    safeBlock: bigint,
    admissionFuel?: bigint,
  ): readonly AppOutput[] {
    this.#assertAlive();
    checkNonce(nonce);
    checkBlock(safeBlock);
    if (data.length > this.maxDataLength) {
      throw new AppArgumentError(`data too long: max ${this.maxDataLength}, got ${data.length} (validate first)`);
    }
    const r = this.#writeUserOp(sender, fee, data);
    const outputs = this.#runApply(
      "apply_user_op",
      safeBlock,
      () => this.#ex.apply_user_op(r + OFF_SENDER, nonce | 0, fee, r + OFF_FEE, r + OFF_DATA, data.length, safeBlock),
      admissionFuel,
    );
    if (outputs === null) throw this.#lastFailure!;
    this.#logTail({ kind: "op", sender, nonce, fee, data, safeBlock });
    return outputs;
  }

  /**
   * Executes an L1 direct input (deposit or any other InputBox input). Never rejected: when
   * the app fails, the input is an included no-op (SPEC 2.8): state restored, outputs
   * discarded, the counters advanced all the same.
   * @throws AppArgumentError before executing anything, AppFatalError if a restore fails.
   */
  applyDirectInput(sender: Sender, block: bigint, payload: Uint8Array): DirectInputResult {
    this.#assertAlive();
    checkBlock(block);
    const senderBytes = this.#senderBytes(sender);
    this.#ensureCapacity(payload.length);
    const r = this.#region;
    const view = this.#memoryView();
    view.set(senderBytes, r + OFF_SENDER);
    view.set(payload, r + OFF_DATA);
    const outputs = this.#runApply("apply_direct_input", block, () =>
      this.#ex.apply_direct_input(r + OFF_SENDER, block, r + OFF_DATA, payload.length),
    );
    if (outputs === null) {
      this.#advance(block);
      this.#logTail({ kind: "noop", block });
      return { outputs: NO_OUTPUTS, failure: this.#lastFailure!.failure };
    }
    this.#logTail({ kind: "direct", sender, block, payload });
    return { outputs, failure: null };
  }

  // ---- inspect -----------------------------------------------------------------------------

  /**
   * A read-only query (ABI §4 `inspect`): runs with its own budget (FUEL_PER_INSPECT), may
   * emit reports only, and whatever it changes is discarded: the app is put back exactly as
   * it was, like after a failure, whatever the outcome.
   * @throws AppArgumentError for a payload over MAX_INSPECT_PAYLOAD, AppFatalError if the
   *         put-back fails.
   */
  inspect(payload: Uint8Array): InspectResult {
    this.#assertAlive();
    if (payload.length > MAX_INSPECT_PAYLOAD) throw new AppArgumentError(`inspect payload over ${MAX_INSPECT_PAYLOAD} bytes`);
    const inspectFn = this.#ex.inspect;
    if (!inspectFn) return { status: "rejected", reports: [new TextEncoder().encode("this app exports no inspect")] };
    this.#ensureCapacity(payload.length);
    this.#checkpointHere();
    const r = this.#region;
    this.#memoryView().set(payload, r + OFF_DATA);
    this.#outputs = null;
    this.#outputBytes = 0;
    this.#logBytes = 0;
    this.#now = this.#clock;
    this.#phase = Phase.Inspect;
    this.#arm(FUEL_PER_INSPECT);
    let rc = 0;
    let failure: ExecutionFailedError | null = null;
    try {
      rc = inspectFn(r + OFF_DATA, payload.length, this.#clock);
    } catch (e) {
      failure = this.#classify("inspect", e);
    } finally {
      this.#phase = Phase.Idle;
    }
    // (the emit import filled #outputs during the call, which TS's narrowing cannot see)
    const reports = ((this.#outputs as AppOutput[] | null) ?? []).map((o) => o.payload);
    this.#outputs = null;
    this.#putBack();
    this.inspects++;
    if (failure) return { status: "exception", reports, failure: failure.failure, error: failure.message };
    return { status: rc === 0 ? "accepted" : "rejected", reports };
  }

  /** Inspect calls served since creation. */
  inspects = 0;

  // ---- queries and snapshots -------------------------------------------------------------

  /**
   * Next nonce the app expects from `sender`.
   * @throws ExecutionFailedError when the app fails (restored), AppFatalError on a bad answer.
   */
  nonceOf(sender: `0x${string}`): number {
    this.#assertAlive();
    const senderBytes = this.#senderBytes(sender);
    this.#memoryView().set(senderBytes, this.#region + OFF_SENDER);
    let n: bigint;
    this.#arm(FUEL_PER_CALL_BIG);
    try {
      n = this.#ex.nonce_of(this.#region + OFF_SENDER);
    } catch (e) {
      throw this.#fail("nonce_of", e);
    }
    if (n < 0n || n > BigInt(U32_MAX)) throw this.#die("nonce_of", new Error(`returned ${n}, not a u32`));
    return Number(n);
  }

  /**
   * The app's canonical state bytes (identical state ⇒ identical bytes).
   * @throws AppDumpError when the call fails (a trap, or its memory refused at the cap): the
   *         app is put back exactly as it was and lives on. AppFatalError when the module
   *         breaks the dump contract (a non-zero result, a range outside memory).
   */
  dump(): Uint8Array {
    this.#assertAlive();
    this.#checkpointHere();
    let rc: number;
    try {
      this.#arm(FUEL_MAINTENANCE);
      rc = this.#ex.dump();
    } catch (e) {
      const failure = this.#classify("dump", e); // a broken host contract is still fatal
      this.#putBack();
      throw new AppDumpError(failure.failure, `app failed in dump (${failure.failure}): ${failure.message}`, { cause: failure });
    }
    try {
      if (rc !== 0) throw new AppFatalError(`dump() returned ${rc}: ${this.#lastError()}`);
      const ptr = this.#ex.dump_ptr() >>> 0;
      const len = this.#ex.dump_len() >>> 0;
      const view = this.#memoryView();
      if (ptr + len > view.length) throw new AppFatalError(`dump() range [${ptr}, +${len}) is outside memory`);
      return view.slice(ptr, ptr + len);
    } catch (e) {
      throw this.#die("dump", e);
    }
  }

  /**
   * Replaces the app state with `bytes` (a dump) and the host position with `position`.
   * @throws AppSnapshotError when the app refuses the bytes — state and position untouched.
   */
  load(bytes: Uint8Array, position: AppPosition): void {
    this.#assertAlive();
    const executed = checkPosition(position);
    let ptr = 0;
    let rc: number;
    try {
      this.#arm(FUEL_MAINTENANCE);
      // a dump may be far larger than any input: use a one-off block, not the input region
      ptr = this.#ex.alloc(Math.max(bytes.length, 1));
      this.#memoryView().set(bytes, ptr);
      rc = this.#ex.load(ptr, bytes.length);
      this.#ex.dealloc(ptr);
    } catch (e) {
      throw this.#die("load", e);
    }
    if (rc !== 0) throw new AppSnapshotError(rc, `app refused the snapshot: ${this.#lastError() || `code ${rc}`}`);
    this.#executed = executed;
    this.#clock = position.clock;
    this.#takeCheckpoint();
  }

  get executedInputCount(): bigint {
    return BigInt(this.#executed);
  }

  get clock(): bigint {
    return this.#clock;
  }

  get position(): AppPosition {
    return { executedInputCount: BigInt(this.#executed), clock: this.#clock };
  }

  /** Fuel the last call used (its budget minus what was left). */
  get lastFuelUsed(): bigint {
    // past zero when the call ran out: then it is the budget plus the last charge's overdraft
    return this.#budgetOfLastCall - (this.#g.fuel.value as bigint);
  }

  /** True once a fatal error happened; every later call throws. */
  get isDead(): boolean {
    return this.#dead !== null;
  }

  // ---- internals -------------------------------------------------------------------------

  #budgetOfLastCall = FUEL_PER_CALL_BIG;

  /** Gives the next call its budget. */
  #arm(budget: bigint): void {
    this.#wasi?.beginCall();
    this.#g.fuel.value = budget;
    this.#budgetOfLastCall = budget;
  }
  #lastFailure: ExecutionFailedError | null = null;

  #initialise(config: Uint8Array): void {
    let rc: number;
    try {
      this.#arm(FUEL_MAINTENANCE);
      this.#ensureCapacity(Math.max(this.maxDataLength, MIN_PAYLOAD_CAPACITY, config.length));
      this.#arm(FUEL_MAINTENANCE);
      this.#memoryView().set(config, this.#region + OFF_DATA);
      rc = this.#ex.init(this.#region + OFF_DATA, config.length);
    } catch (e) {
      throw new AppLoadError(`app init failed: ${errorText(e)}`, { cause: e });
    }
    if (rc !== 0) {
      const why = this.#lastError();
      if (/^app config refused/.test(why)) throw new AppConfigRefusedError(`app refused its config (code ${rc}): ${why}`);
      throw new AppLoadError(`app refused its config (code ${rc}): ${why}`);
    }
  }

  /** Runs an apply; null when it failed (the app is restored, #lastFailure says why). */
  #runApply(what: string, block: bigint, call: () => number, admissionFuel?: bigint): readonly AppOutput[] | null {
    this.#now = block > this.#clock ? block : this.#clock;
    this.#outputs = null;
    this.#outputBytes = 0;
    this.#logBytes = 0;
    this.#phase = Phase.Apply;
    this.#arm(FUEL_PER_CALL_BIG);
    let rc: number;
    try {
      rc = call();
    } catch (e) {
      this.#outputs = null;
      this.#lastFailure = this.#fail(what, e);
      return null;
    } finally {
      this.#phase = Phase.Idle;
    }
    const outputs = this.#outputs;
    this.#outputs = null;
    if (rc !== 0) {
      this.#lastFailure = this.#fail(what, new ResultError(`returned ${rc}: ${this.#lastError() || "no reason given"}`));
      return null;
    }
    if (admissionFuel !== undefined && this.lastFuelUsed > admissionFuel) {
      this.#lastFailure = this.#fail(what, new OverAdmission(this.lastFuelUsed, admissionFuel));
      return null;
    }
    this.#advance(block);
    return outputs ?? NO_OUTPUTS;
  }

  /** The one place where the protocol's counters advance: once per included input. */
  #advance(block: bigint): void {
    this.#executed += 1;
    if (block > this.#clock) this.#clock = block;
  }

  #logTail(entry: TailEntry): void {
    this.#tail.push(entry);
    this.#tailFuel += Number(this.lastFuelUsed);
    // Also right after memory grew: a restore then never has to re-grow a fresh instance
    // through the tail (growing a large memory is the slowest thing a restore can do).
    if (
      this.#tail.length >= TAIL_MAX_ENTRIES ||
      this.#tailFuel >= TAIL_MAX_FUEL ||
      this.#ex.memory.buffer.byteLength !== this.#checkpoint!.image.length
    ) {
      this.#takeCheckpoint();
    }
  }

  #takeCheckpoint(): void {
    const memory = new Uint8Array(this.#ex.memory.buffer);
    // Reuse the previous image when the size is unchanged, and copy with set(): slice() of
    // a WASM memory costs ~3 ms per MiB on Bun, set() ~0.05.
    const prev = this.#checkpoint?.image;
    const image = prev !== undefined && prev.length === memory.length ? prev : new Uint8Array(memory.length);
    image.set(memory);
    this.#checkpoint = {
      image,
      globals: this.#g.state.map((g) => g.value as number | bigint),
      executed: this.#executed,
      clock: this.#clock,
    };
    this.#tail = [];
    this.#tailFuel = 0;
    this.#regionMoved = false;
  }

  /**
   * Classifies a failed call (SPEC 2.8), restores the app to its state before the call and
   * returns the failure. The class comes from the injected counters, never from engine text.
   */
  #fail(call: string, e: unknown): ExecutionFailedError {
    const err = this.#classify(call, e);
    this.#restore();
    return err;
  }

  /** The failure a thrown call stands for (SPEC 2.8), without restoring anything. */
  #classify(call: string, e: unknown): ExecutionFailedError {
    if (e instanceof AppFatalError) throw this.#die(call, e);
    let failure: FailureClass;
    if (e instanceof ImportMisuse) failure = "import";
    else if (e instanceof ResultError) failure = "result";
    else if (e instanceof OverAdmission) failure = "fuel";
    else if ((this.#g.fuel.value as bigint) < 0n) failure = "fuel";
    else if ((this.#g.depth.value as number) > MAX_CALL_DEPTH) failure = "depth";
    else if ((this.#g.growRefused.value as number) !== 0) failure = "memory";
    else failure = "trap";
    // engine text says nothing about fuel or depth; the admission limit says what it was
    const detail = e instanceof OverAdmission ? e.message : failure === "fuel" || failure === "depth" ? "" : errorText(e);
    return new ExecutionFailedError(call, failure, detail, { cause: e });
  }

  /**
   * Makes the checkpoint the current state (no tail), for a call whose failure is put back
   * with #putBack (inspect, dump) rather than by re-applying a tail.
   */
  #checkpointHere(): void {
    if (this.#tail.length > 0 || this.#regionMoved) this.#takeCheckpoint();
  }

  /** Discards everything since the checkpoint, which #checkpointHere made current: no tail. */
  #putBack(): void {
    const restores = this.restores;
    const ms = this.restoreMs;
    this.#restore();
    this.restores = restores;
    this.restoreMs = ms;
  }

  /** Puts the app back exactly at the checkpoint, then re-applies the tail. */
  #restore(): void {
    const t0 = performance.now();
    const cp = this.#checkpoint;
    if (!cp) throw this.#die("restore", new Error("no checkpoint"));
    if (this.#ex.memory.buffer.byteLength !== cp.image.length) {
      // Memory grew during the failed call, and linear memory cannot shrink.
      let instance: WebAssembly.Instance;
      try {
        instance = new WebAssembly.Instance(this.#compiled, this.#imports);
      } catch (e) {
        throw this.#die("restore", e);
      }
      this.#ex = instance.exports as unknown as AppExports;
      this.#g = counters(instance, this.#metered);
      // the checkpoint's image overwrites memory next, so no _initialize: only wasmer's binding
      this.#wasi?.bind(instance);
      const missing = (cp.image.length - this.#ex.memory.buffer.byteLength) / 65536;
      if (missing > 0) this.#ex.memory.grow(missing);
    }
    new Uint8Array(this.#ex.memory.buffer).set(cp.image);
    this.#g.state.forEach((g, i) => (g.value = cp.globals[i]!));
    this.#g.depth.value = 0;
    this.#g.growRefused.value = 0;
    this.#executed = cp.executed;
    this.#clock = cp.clock;
    const tail = this.#tail;
    this.#tail = [];
    this.#tailFuel = 0;
    try {
      for (const t of tail) {
        if (t.kind === "op") this.applyUserOp(t.sender, t.nonce, t.fee, t.data, t.safeBlock);
        else if (t.kind === "direct") {
          if (this.applyDirectInput(t.sender, t.block, t.payload).failure !== null) throw new Error("a direct input failed on re-apply");
        } else {
          this.#advance(t.block);
          this.#tail.push(t);
        }
      }
    } catch (e) {
      throw this.#die("restore", new Error(`re-applying the inputs since the checkpoint did not reproduce them: ${errorText(e)}`));
    }
    this.restores++;
    this.restoreMs += performance.now() - t0;
  }

  #emit(kind: number, ptr: number, len: number): void {
    const k = OUTPUT_KINDS[kind];
    if (this.#phase === Phase.Inspect) {
      if (k !== "report") throw new ImportMisuse(`app emitted a ${k ?? `kind ${kind}`} during inspect, which may emit reports only`);
    } else if (this.#phase !== Phase.Apply) {
      throw new ImportMisuse(`app called emit outside apply (during ${PHASE_NAMES[this.#phase]})`);
    }
    if (k === undefined) throw new ImportMisuse(`app emitted unknown output kind ${kind}`);
    const p = ptr >>> 0;
    const n = len >>> 0;
    const view = this.#memoryView();
    if (p + n > view.length) throw new ImportMisuse(`app emitted range [${p}, +${n}) outside memory`);
    const outputs = (this.#outputs ??= []);
    this.#outputBytes += n;
    if (outputs.length >= MAX_OUTPUTS_PER_CALL || this.#outputBytes > MAX_OUTPUT_BYTES_PER_CALL) {
      throw new ImportMisuse(`app emitted more than ${MAX_OUTPUTS_PER_CALL} outputs or ${MAX_OUTPUT_BYTES_PER_CALL} bytes in one call`);
    }
    outputs.push({ kind: k, payload: view.slice(p, p + n) });
  }

  /** A debug line from WASI stdio (not consensus); dropped without an onLog sink. */
  onLogLine(line: string): void {
    this.#onLog?.(line);
  }

  /** env.log: a debug line. Never a failure, and never seen by consensus (AppHostOptions). */
  #log(ptr: number, len: number): void {
    const sink = this.#onLog;
    if (!sink || this.#logBytes >= MAX_LOG_PER_CALL) return;
    const p = ptr >>> 0;
    const n = Math.min(len >>> 0, MAX_LOG_LINE);
    const view = this.#memoryView();
    if (p + n > view.length) return;
    this.#logBytes += n;
    sink(new TextDecoder().decode(view.subarray(p, p + n)));
  }

  /** Writes sender, linear fee and data into the input region; returns the region pointer. */
  #writeUserOp(sender: Sender, fee: number, data: Uint8Array): number {
    const senderBytes = this.#senderBytes(sender);
    const feeBytes = this.#feeLinear(fee);
    const r = this.#region;
    const view = this.#memoryView();
    view.set(senderBytes, r + OFF_SENDER);
    view.set(feeBytes, r + OFF_FEE);
    view.set(data, r + OFF_DATA);
    return r;
  }

  #senderBytes(sender: Sender): Uint8Array {
    if (typeof sender !== "string") {
      if (sender.length !== 20) throw new AppArgumentError(`sender must be 20 bytes, got ${sender.length}`);
      return sender;
    }
    if (sender !== this.#lastSender) {
      this.#lastSenderBytes = hexToBytes(sender, 20);
      this.#lastSender = sender;
    }
    return this.#lastSenderBytes;
  }

  /** fee_to_linear once per distinct exponent (SPEC 2.3 lives in core/fees.ts only). */
  #feeLinear(fee: number): Uint8Array {
    let bytes = this.#feeBytes.get(fee);
    if (bytes === undefined) {
      if (!Number.isInteger(fee) || fee < 0 || fee > U16_MAX) throw new AppArgumentError(`fee must be a u16 exponent, got ${fee}`);
      bytes = u256ToLE(feeToLinear(fee));
      this.#feeBytes.set(fee, bytes);
    }
    return bytes;
  }

  /** Grows the input region so that `payloadLen` bytes fit at OFF_DATA. */
  #ensureCapacity(payloadLen: number): void {
    if (payloadLen <= this.#regionCapacity) return;
    let cap = Math.max(this.#regionCapacity, MIN_PAYLOAD_CAPACITY);
    while (cap < payloadLen) cap *= 2;
    try {
      this.#arm(FUEL_MAINTENANCE);
      if (this.#region !== 0) this.#ex.dealloc(this.#region);
      this.#region = 0;
      this.#regionCapacity = 0;
      const ptr = this.#ex.alloc(OFF_DATA + cap) >>> 0;
      if (ptr === 0 || ptr + OFF_DATA + cap > this.#memoryView().length) {
        throw new AppFatalError(`alloc(${OFF_DATA + cap}) returned an unusable pointer ${ptr}`);
      }
      this.#region = ptr;
      this.#regionCapacity = cap;
      this.#regionMoved = true;
    } catch (e) {
      throw this.#die("alloc", e);
    }
  }

  /** The memory view, refreshed when memory.grow detached the previous buffer. */
  #memoryView(): Uint8Array {
    let v = this.#view;
    if (v.byteLength === 0 || v.buffer !== this.#ex.memory.buffer) {
      v = this.#view = new Uint8Array(this.#ex.memory.buffer);
    }
    return v;
  }

  #lastError(): string {
    try {
      const ptr = this.#ex.last_error_ptr() >>> 0;
      const len = Math.min(this.#ex.last_error_len() >>> 0, 4096);
      const view = this.#memoryView();
      if (ptr + len > view.length) return "";
      return new TextDecoder().decode(view.subarray(ptr, ptr + len));
    } catch {
      return "";
    }
  }

  #assertAlive(): void {
    if (this.#dead) {
      throw new AppFatalError(`app instance is dead after an earlier fatal error: ${this.#dead.message}`, {
        cause: this.#dead,
      });
    }
  }

  #die(what: string, cause: unknown): AppFatalError {
    const err =
      cause instanceof AppFatalError
        ? new AppFatalError(`${what}: ${cause.message}`, { cause })
        : new AppFatalError(`app failed in ${what}: ${errorText(cause)}`, { cause });
    this.#dead = err;
    return err;
  }
}

// ---- helpers -------------------------------------------------------------------------------

/** apply_* returned non-zero: classified as "result". */
class ResultError extends Error {}

/** The call succeeded within the budget but over the caller's admission limit: "fuel". */
class OverAdmission extends Error {
  constructor(used: bigint, limit: bigint) {
    super(`used ${used} fuel, over the sequencer's admission limit of ${limit}, kept below the budget so that no admitted op can run out on replay`);
  }
}

function counters(instance: WebAssembly.Instance, metered: MeteredModule): Counters {
  const ex = instance.exports as Record<string, unknown>;
  const global = (name: string): WebAssembly.Global => {
    const g = ex[name];
    if (!(g instanceof WebAssembly.Global)) throw new AppLoadError(`internal: the instrumented module lacks ${name}`);
    return g;
  };
  return {
    fuel: global(FUEL_EXPORT),
    depth: global(DEPTH_EXPORT),
    growRefused: global(GROW_REFUSED_EXPORT),
    state: metered.stateGlobals.map(global),
  };
}

function checkImports(imports: ReturnType<typeof inspectModule>["imports"]): void {
  for (const imp of imports) {
    const name = `${imp.module}.${imp.name}`;
    // WASI functions come from @wasmer/wasi (app/wasi.ts); one it does not know fails to link
    if (imp.module === WASI_MODULE) {
      if (imp.kind !== "function") throw new AppLoadError(`app module imports ${imp.kind} "${name}"; WASI provides functions only`);
      continue;
    }
    const expected = ALLOWED_IMPORTS[name];
    if (!expected || imp.kind !== "function") {
      throw new AppLoadError(
        `app module imports ${imp.kind} "${name}", which ABI v${APP_ABI_VERSION} does not provide ` +
          `(allowed: ${Object.keys(ALLOWED_IMPORTS).join(", ")}, and ${WASI_MODULE} functions)`,
      );
    }
    if (!sigEquals(imp.sig, expected)) {
      throw new AppLoadError(`app import "${name}" has signature ${sigToString(imp.sig)}, expected ${sigToString(expected)}`);
    }
  }
}

function checkExport(
  exports: ReturnType<typeof inspectModule>["exports"],
  name: string,
  table: Record<string, FuncSig> = REQUIRED_EXPORTS,
): void {
  const expected = table[name];
  const found = exports.find((e) => e.name === name);
  if (!expected) throw new AppLoadError(`internal: ${name} is not an ABI export`);
  if (!found) throw new AppLoadError(`app module does not export "${name}"`);
  if (found.kind !== "function") throw new AppLoadError(`app export "${name}" is a ${found.kind}, not a function`);
  if (!sigEquals(found.sig, expected)) {
    throw new AppLoadError(`app export "${name}" has signature ${sigToString(found.sig)}, expected ${sigToString(expected)}`);
  }
}

function callForLoad<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new AppLoadError(`app failed during load checks: ${errorText(e)}`, { cause: e });
  }
}

const CONFIG_FIELDS = ["feeRecipient", "etherPortal", "erc20Portal", "erc20Token"] as const;

/** Largest app config (SEQ_APP_CONFIG) the host hands to init (defined in core). */
export const MAX_APP_CONFIG = MAX_APP_CONFIG_BYTES;

/**
 * feeRecipient(20) || etherPortal(20) || erc20Portal(20) || erc20Token(20) || the app's own
 * config bytes (ABI §5).
 */
export function encodeConfig(config: AppConfig, appConfig: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (appConfig.length > MAX_APP_CONFIG) throw new AppLoadError(`app config is ${appConfig.length} bytes; the limit is ${MAX_APP_CONFIG}`);
  const out = new Uint8Array(20 * CONFIG_FIELDS.length + appConfig.length);
  out.set(appConfig, 20 * CONFIG_FIELDS.length);
  CONFIG_FIELDS.forEach((field, i) => {
    const value = config[field];
    let bytes: Uint8Array;
    try {
      bytes = hexToBytes(value, 20);
    } catch (e) {
      throw new AppLoadError(`invalid app config ${field}: ${errorText(e)}`, { cause: e });
    }
    out.set(bytes, 20 * i);
  });
  return out;
}

function u256ToLE(v: bigint): Uint8Array {
  if (v < 0n || v >> 256n !== 0n) throw new AppArgumentError(`linear fee ${v} does not fit in uint256`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32 && v !== 0n; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function checkNonce(nonce: number): void {
  if (!Number.isInteger(nonce) || nonce < 0 || nonce > U32_MAX) throw new AppArgumentError(`nonce must be a u32, got ${nonce}`);
}

function checkBlock(block: bigint): void {
  if (typeof block !== "bigint" || block < 0n || block > I64_MAX) {
    throw new AppArgumentError(`block must be a bigint in [0, 2^63), got ${String(block)}`);
  }
}

function checkPosition(p: AppPosition): number {
  checkBlock(p.clock);
  const n = p.executedInputCount;
  if (typeof n !== "bigint" || n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AppArgumentError(`executedInputCount must be a bigint in [0, 2^53), got ${String(n)}`);
  }
  return Number(n);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Renders an AssemblyScript-style abort (UTF-16 strings with their byte length at ptr-4). */
function describeAbort(
  memory: WebAssembly.Memory | undefined,
  msg: number,
  file: number,
  line: number,
  col: number,
): string {
  const read = (ptr: number): string => {
    if (!memory || ptr === 0) return "?";
    const view = new Uint8Array(memory.buffer);
    const p = ptr >>> 0;
    if (p < 4 || p > view.length) return "?";
    const len = new DataView(memory.buffer).getUint32(p - 4, true);
    if (p + len > view.length || len > 4096) return "?";
    return new TextDecoder("utf-16le").decode(view.subarray(p, p + len));
  };
  return `${read(msg)} at ${read(file)}:${line >>> 0}:${col >>> 0}`;
}
