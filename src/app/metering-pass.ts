/**
 * The instrumentation pass itself (loaded on demand by metering.ts). It instruments an app module so that every call into it is bounded deterministically
 * (SPEC §2.8, numbers in core/execution-limits.ts). Built on binaryen's IR (npm `binaryen`,
 * pinned exactly: its output is part of consensus), never on a hand-written WASM parser.
 *
 * What the pass injects, function by function:
 * - fuel: an i64 global, decremented by a static cost on function entry and on every loop
 *   header (the cost of the straight-line code up to the next charge point), and by a
 *   size-proportional cost before memory.copy / memory.fill / memory.grow. Below zero it
 *   traps (`unreachable`);
 * - depth: an i32 global incremented on entry (trap beyond MAX_CALL_DEPTH) and decremented
 *   on every exit (each `return` and the end of the body);
 * - memory: `memory.grow(n)` is rewritten to fail (return -1, as WASM does when memory is
 *   exhausted) when it would pass MAX_MEMORY_PAGES, and records that it did in a flag global.
 *
 * It is also the determinism gatekeeper: only MVP instructions plus sign-extension,
 * non-trapping float-to-int, mutable globals and bulk memory copy/fill are accepted. SIMD,
 * threads, reference types, exceptions, tail calls, multi-value, passive data segments and
 * multiple or 64-bit memories are refused at load: each either breaks the injected
 * accounting (exceptions unwind past the depth counter, tail calls skip it) or cannot be
 * restored exactly by the host (table and data-segment state).
 *
 * The host needs to snapshot and restore the instance (src/app/host.ts), so the pass also
 * exports every mutable global of the module.
 */
import binaryen from "binaryen";
import {
  type FuelCosts,
  FUEL_PER_MAINTENANCE_CALL,
  MAX_CALL_DEPTH,
  MAX_LOCALS_PER_FUNCTION,
  MAX_MEMORY_PAGES,
  METERING_VERSION,
} from "../core/execution-limits.ts";
import { AppLoadError } from "./errors.ts";
import { DEPTH_EXPORT, FUEL_EXPORT, GROW_REFUSED_EXPORT, STATE_GLOBAL_PREFIX, sha256Hex, type MeteredModule } from "./metered-module.ts";

const ALLOWED_FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt;

// Internal (binaryen) names of the injected globals, and scratch globals per value type that
// carry a value across a counter update (a return value, a bulk-memory size).
const G_FUEL = "__seq_fuel";
const G_DEPTH = "__seq_depth";
const G_GROW_REFUSED = "__seq_grow_refused";
const G_TMP_PREFIX = "__seq_tmp_";

/**
 * binaryen's process-wide settings that change what it reads or writes (its writer, for
 * one, emits optimized Stack IR when these ask for it). Other binaryen users in the same
 * process set them (assemblyscript's compiler leaves optimize level 4 and Stack IR on), and
 * the instrumented bytes are consensus, so every instrumentation runs with these values
 * (binaryen's own defaults, which the pinned hashes were made with) and puts the caller's
 * back afterwards. Set through the C API: the JS getters do not see what asc set there.
 */
const EMISSION_SETTINGS: readonly (readonly [name: string, value: number])[] = [
  ["OptimizeLevel", 2],
  ["ShrinkLevel", 1],
  ["DebugInfo", 0],
  ["TrapsNeverHappen", 0],
  ["ClosedWorld", 0],
  ["LowMemoryUnused", 0],
  ["ZeroFilledMemory", 0],
  ["FastMath", 0],
  ["GenerateStackIR", 0],
  ["OptimizeStackIR", 0],
  ["AlwaysInlineMaxSize", 2],
  ["FlexibleInlineMaxSize", 20],
  ["OneCallerInlineMaxSize", -1],
  ["AllowInliningFunctionsWithLoops", 0],
];

function withEmissionSettings<T>(f: () => T): T {
  const c = binaryen as unknown as Record<string, (v?: number) => number>;
  const saved = EMISSION_SETTINGS.map(([name]) => c[`_BinaryenGet${name}`]!());
  for (const [name, value] of EMISSION_SETTINGS) c[`_BinaryenSet${name}`]!(value);
  try {
    return f();
  } finally {
    EMISSION_SETTINGS.forEach(([name], i) => c[`_BinaryenSet${name}`]!(saved[i]!));
  }
}

export function instrument(wasm: Uint8Array, moduleSha256: string, costs: FuelCosts): MeteredModule {
  return withEmissionSettings(() => instrumentWithSettings(wasm, moduleSha256, costs));
}

function instrumentWithSettings(wasm: Uint8Array, moduleSha256: string, costs: FuelCosts): MeteredModule {
  let mod: binaryen.Module;
  try {
    mod = binaryen.readBinaryWithFeatures(wasm, ALLOWED_FEATURES);
  } catch (e) {
    throw new AppLoadError(`app module cannot be read for instrumentation: ${(e as Error).message}`, { cause: e });
  }
  try {
    return new Instrumenter(mod, costs).run(moduleSha256);
  } finally {
    mod.dispose();
  }
}

type Expr = binaryen.ExpressionRef;

/**
 * binaryen.js's expression classes (getters and setters by expression kind), which its
 * typings do not declare. Every argument is an expression or function reference or an index.
 */
type ExprClass = Record<
  "getBody" | "getChildAt" | "getCondition" | "getDelta" | "getDest" | "getIfFalse" | "getIfTrue" | "getLeft" | "getNumChildren" | "getNumOperands" | "getOp" | "getOperandAt" | "getPtr" | "getRight" | "getSize" | "getSource" | "getTarget" | "getValue" | "isAtomic" | "isReturn" | "setBody" | "setChildAt" | "setCondition" | "setDelta" | "setDest" | "setIfFalse" | "setIfTrue" | "setLeft" | "setOperandAt" | "setPtr" | "setRight" | "setSize" | "setSource" | "setTarget" | "setValue",
  (...args: number[]) => number
>;
const X = binaryen as unknown as Record<
  | "Function" | "Block" | "If" | "Loop" | "Break" | "Switch" | "Call" | "CallIndirect" | "LocalSet" | "GlobalSet"
  | "Load" | "Store" | "Unary" | "Binary" | "Select" | "Drop" | "Return" | "MemoryGrow" | "MemoryCopy" | "MemoryFill",
  ExprClass
>;

interface DataSegmentAccess {
  getNumDataSegments(): number;
  getDataSegmentInfo(segment: number): { passive: boolean };
}

class Instrumenter {
  private readonly m: binaryen.Module;
  private readonly tmp = new Map<binaryen.Type, string>();
  private fnName = "";

  constructor(
    m: binaryen.Module,
    private readonly costs: FuelCosts,
  ) {
    this.m = m;
  }

  run(moduleSha256: string): MeteredModule {
    const m = this.m;
    // The binary parser accepts anything the feature set allows; validate() then refuses an
    // instruction of a feature that is not in it.
    if (!m.validate()) throw new AppLoadError("app module uses WebAssembly features the sequencer does not run (allowed: MVP, sign-ext, non-trapping float-to-int, mutable globals, bulk memory copy/fill)");
    const initialPages = this.checkMemory();
    this.checkNames();
    this.addGlobal(G_FUEL, binaryen.i64, this.i64(FUEL_PER_MAINTENANCE_CALL));
    this.addGlobal(G_DEPTH, binaryen.i32, m.i32.const(0));
    this.addGlobal(G_GROW_REFUSED, binaryen.i32, m.i32.const(0));

    const n = m.getNumFunctions();
    for (let i = 0; i < n; i++) {
      const f = m.getFunctionByIndex(i);
      const info = binaryen.getFunctionInfo(f);
      if (info.module !== "") continue; // an import: the host's code, not metered here
      this.instrumentFunction(f, info);
    }

    // Export the counters and every mutable global of the module (host snapshot/restore).
    m.addGlobalExport(G_FUEL, FUEL_EXPORT);
    m.addGlobalExport(G_DEPTH, DEPTH_EXPORT);
    m.addGlobalExport(G_GROW_REFUSED, GROW_REFUSED_EXPORT);
    const stateGlobals: string[] = [];
    const ng = m.getNumGlobals();
    for (let i = 0; i < ng; i++) {
      const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
      if (!g.mutable || g.module !== "" || g.name.startsWith("__seq_")) continue;
      const name = `${STATE_GLOBAL_PREFIX}${stateGlobals.length}`;
      m.addGlobalExport(g.name, name);
      stateGlobals.push(name);
    }

    if (!m.validate()) throw new AppLoadError("internal: the instrumented module does not validate");
    const bytes = m.emitBinary();
    return { bytes, moduleSha256, meteredSha256: sha256Hex(bytes), stateGlobals, initialPages };
  }

  // ---- module-level checks ---------------------------------------------------------------

  private checkMemory(): number {
    const m = this.m;
    if (!m.hasMemory()) throw new AppLoadError("app module has no memory");
    const mem = m.getMemoryInfo();
    if (mem.module !== "") throw new AppLoadError("app module imports its memory; it must define and export it");
    if (mem.shared || mem.is64) throw new AppLoadError("app module memory must be unshared and 32-bit");
    if (mem.initial > MAX_MEMORY_PAGES) {
      throw new AppLoadError(`app module starts with ${mem.initial} memory pages; the limit is ${MAX_MEMORY_PAGES}`);
    }
    // binaryen.js has these two on the module, not where its typings put them
    const segs = m as unknown as DataSegmentAccess;
    for (let i = 0; i < segs.getNumDataSegments(); i++) {
      const seg = segs.getDataSegmentInfo(m.getDataSegmentByIndex(i));
      if (seg.passive) throw new AppLoadError("app module has a passive data segment (memory.init / data.drop are not supported)");
    }
    return mem.initial;
  }

  private checkNames(): void {
    const m = this.m;
    for (let i = 0; i < m.getNumExports(); i++) {
      const e = binaryen.getExportInfo(m.getExportByIndex(i));
      if (e.name.startsWith("__seq_")) throw new AppLoadError(`app module exports "${e.name}"; the __seq_ prefix is reserved for the host`);
    }
    for (let i = 0; i < m.getNumGlobals(); i++) {
      const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
      if (g.name.startsWith("__seq_")) throw new AppLoadError(`app module has a global named "${g.name}"; the __seq_ prefix is reserved`);
    }
  }

  /** binaryen.js takes one bigint for i64.const (its typings still show two halves). */
  private i64(v: bigint): Expr {
    return (this.m.i64.const as unknown as (value: bigint) => Expr)(v);
  }

  private addGlobal(name: string, type: binaryen.Type, init: Expr): void {
    this.m.addGlobal(name, type, true, init);
  }

  /** A scratch global of `type`, used only between a set and the get that follows it. */
  private scratch(type: binaryen.Type): string {
    let name = this.tmp.get(type);
    if (name === undefined) {
      name = `${G_TMP_PREFIX}${this.tmp.size}`;
      const m = this.m;
      const zero =
        type === binaryen.i32 ? m.i32.const(0)
        : type === binaryen.i64 ? this.i64(0n)
        : type === binaryen.f32 ? m.f32.const(0)
        : type === binaryen.f64 ? m.f64.const(0)
        : null;
      if (zero === null) throw new AppLoadError(`app function ${this.fnName} returns a value of an unsupported type`);
      this.m.addGlobal(name, type, true, zero);
      this.tmp.set(type, name);
    }
    return name;
  }

  // ---- per function ------------------------------------------------------------------------

  private instrumentFunction(f: binaryen.FunctionRef, info: binaryen.FunctionInfo): void {
    const m = this.m;
    this.fnName = info.name;
    const results = info.results;
    if (results !== binaryen.none && binaryen.expandType(results).length !== 1) {
      throw new AppLoadError(`app function ${info.name} returns several values (multi-value is not supported)`);
    }
    const locals = binaryen.expandType(info.params).length + info.vars.length;
    if (locals > MAX_LOCALS_PER_FUNCTION) {
      throw new AppLoadError(`app function ${info.name} has ${locals} locals; the limit is ${MAX_LOCALS_PER_FUNCTION}`);
    }
    // Costs are taken from the original code, before anything is injected into it.
    const entryCost = this.cost(info.body);
    const body = this.visit(info.body, results);

    // depth += 1 (trap past the limit); charge the entry region; run the body; depth -= 1
    const prologue = [
      m.global.set(G_DEPTH, m.i32.add(m.global.get(G_DEPTH, binaryen.i32), m.i32.const(1))),
      m.if(m.i32.gt_u(m.global.get(G_DEPTH, binaryen.i32), m.i32.const(MAX_CALL_DEPTH)), m.unreachable()),
      ...this.charge(entryCost),
    ];
    let wrapped: Expr;
    if (results === binaryen.none) {
      wrapped = m.block(null, [...prologue, body, this.depthDown()], binaryen.none);
    } else {
      const t = this.scratch(results);
      wrapped = m.block(
        null,
        [...prologue, m.global.set(t, body), this.depthDown(), m.global.get(t, results)],
        results,
      );
    }
    X.Function.setBody(f, wrapped);
  }

  private depthDown(): Expr {
    const m = this.m;
    return m.global.set(G_DEPTH, m.i32.sub(m.global.get(G_DEPTH, binaryen.i32), m.i32.const(1)));
  }

  /** fuel -= cost; trap when it goes negative. */
  private charge(cost: bigint): Expr[] {
    if (cost === 0n) return [];
    return this.chargeDynamic(this.i64(cost));
  }

  private chargeDynamic(amount: Expr): Expr[] {
    const m = this.m;
    return [
      m.global.set(G_FUEL, m.i64.sub(m.global.get(G_FUEL, binaryen.i64), amount)),
      m.if(m.i64.lt_s(m.global.get(G_FUEL, binaryen.i64), this.i64(0n)), m.unreachable()),
    ];
  }

  /**
   * Rewrites `e` and its children bottom-up; returns the expression to use in its place.
   * Refuses every expression kind outside the allowed set (`childSlots` returns null).
   */
  private visit(e: Expr, fnResults: binaryen.Type): Expr {
    if (e === 0) return e;
    const m = this.m;
    const id = binaryen.getExpressionId(e);
    const slots = childSlots(e, id);
    if (slots === null) throw this.refuse(expressionName(id));
    if ((id === binaryen.CallId && X.Call.isReturn(e)) || (id === binaryen.CallIndirectId && X.CallIndirect.isReturn(e))) {
      throw this.refuse("a tail call");
    }
    if ((id === binaryen.LoadId && X.Load.isAtomic(e)) || (id === binaryen.StoreId && X.Store.isAtomic(e))) {
      throw this.refuse("an atomic memory access");
    }
    if (id === binaryen.LoopId) {
      // Charged on every entry of the loop header, i.e. once per iteration; the cost is taken
      // from the original body, before anything is injected into it.
      const original = X.Loop.getBody(e);
      const cost = this.cost(original);
      const body = this.visit(original, fnResults);
      X.Loop.setBody(e, m.block(null, [...this.charge(cost), body], binaryen.getExpressionType(body)));
      return e;
    }
    for (const [get, set] of slots) {
      const child = get();
      if (child !== 0) set(this.visit(child, fnResults));
    }
    switch (id) {
      case binaryen.ReturnId: {
        // Every exit decrements the depth: `return x` becomes `return (t = x; depth--; t)`,
        // a bare `return` becomes `depth--; return`.
        const value = X.Return.getValue(e);
        if (value === 0) return m.block(null, [this.depthDown(), e], binaryen.unreachable);
        const t = this.scratch(fnResults);
        X.Return.setValue(e, m.block(null, [m.global.set(t, value), this.depthDown(), m.global.get(t, fnResults)], fnResults));
        return e;
      }
      case binaryen.MemoryGrowId: {
        // grow(n) → grow(size + n > cap ? (flag = 1, 0xffffffff) : n); the engine answers -1
        // for any request past 65536 pages, exactly as for a real exhaustion.
        const t = this.scratch(binaryen.i32);
        const over = m.i64.gt_u(
          m.i64.add(m.i64.extend_u(m.memory.size()), m.i64.extend_u(m.global.get(t, binaryen.i32))),
          this.i64(BigInt(MAX_MEMORY_PAGES)),
        );
        const capped = m.block(null, [
          m.global.set(t, X.MemoryGrow.getDelta(e)),
          ...this.chargeDynamic(m.i64.mul(m.i64.extend_u(m.global.get(t, binaryen.i32)), this.i64(this.costs.growPage))),
          m.if(
            over,
            m.block(null, [m.global.set(G_GROW_REFUSED, m.i32.const(1)), m.i32.const(-1)], binaryen.i32),
            m.global.get(t, binaryen.i32),
          ),
        ], binaryen.i32);
        X.MemoryGrow.setDelta(e, capped);
        return e;
      }
      case binaryen.MemoryCopyId:
        X.MemoryCopy.setSize(e, this.bulkSize(X.MemoryCopy.getSize(e)));
        return e;
      case binaryen.MemoryFillId:
        X.MemoryFill.setSize(e, this.bulkSize(X.MemoryFill.getSize(e)));
        return e;
      default:
        return e;
    }
  }

  /**
   * The size operand of a bulk op, charged by length. It is the op's last operand, so the
   * charge runs after dest/value/source were evaluated and right before the copy or fill.
   */
  private bulkSize(size: Expr): Expr {
    const m = this.m;
    const t = this.scratch(binaryen.i32);
    const perBytes = m.i64.shr_u(m.i64.extend_u(m.global.get(t, binaryen.i32)), this.i64(this.costs.bulkBytesShift));
    return m.block(null, [m.global.set(t, size), ...this.chargeDynamic(perBytes), m.global.get(t, binaryen.i32)], binaryen.i32);
  }

  /**
   * Static cost of the straight-line code of `e` (original code, nothing injected yet): every
   * instruction, except those inside a nested loop, which are charged at that loop's header.
   */
  private cost(e: Expr): bigint {
    if (e === 0) return 0n;
    const id = binaryen.getExpressionId(e);
    if (id === binaryen.LoopId) return this.costs.instruction; // its body pays at the header
    let own: bigint = this.costs.instruction;
    if (id === binaryen.CallId || id === binaryen.CallIndirectId) own += this.costs.call;
    else if (id === binaryen.BinaryId && DIVISIONS.has(X.Binary.getOp(e))) own = this.costs.division;
    let sum = own;
    for (const [get] of childSlots(e, id) ?? []) sum += this.cost(get());
    return sum;
  }

  private refuse(what: string): AppLoadError {
    return new AppLoadError(
      `app function ${this.fnName} uses ${what}, which the sequencer cannot bound or restore deterministically (metering v${METERING_VERSION})`,
    );
  }
}

type Slot = readonly [get: () => Expr, set: (v: Expr) => void];

/**
 * The operands of an expression in evaluation order, each as a getter and a setter: the one
 * table of which expression kinds the sequencer runs (null for any other kind). Both the
 * rewrite and the cost model walk it.
 */
function childSlots(e: Expr, id: number): Slot[] | null {
  const slot = (cls: ExprClass, get: keyof ExprClass, set: keyof ExprClass): Slot => [
    () => cls[get](e),
    (v) => void cls[set](e, v),
  ];
  const indexed = (cls: ExprClass, count: number, get: keyof ExprClass, set: keyof ExprClass): Slot[] =>
    Array.from({ length: count }, (_, i): Slot => [() => cls[get](e, i), (v) => void cls[set](e, i, v)]);
  const B = binaryen;
  switch (id) {
    case B.NopId:
    case B.UnreachableId:
    case B.ConstId:
    case B.LocalGetId:
    case B.GlobalGetId:
    case B.MemorySizeId:
      return [];
    case B.BlockId:
      return indexed(X.Block, X.Block.getNumChildren(e), "getChildAt", "setChildAt");
    case B.IfId:
      return [slot(X.If, "getCondition", "setCondition"), slot(X.If, "getIfTrue", "setIfTrue"), slot(X.If, "getIfFalse", "setIfFalse")];
    case B.LoopId:
      return [slot(X.Loop, "getBody", "setBody")];
    case B.BreakId:
      return [slot(X.Break, "getValue", "setValue"), slot(X.Break, "getCondition", "setCondition")];
    case B.SwitchId:
      return [slot(X.Switch, "getValue", "setValue"), slot(X.Switch, "getCondition", "setCondition")];
    case B.CallId:
      return indexed(X.Call, X.Call.getNumOperands(e), "getOperandAt", "setOperandAt");
    case B.CallIndirectId:
      return [
        ...indexed(X.CallIndirect, X.CallIndirect.getNumOperands(e), "getOperandAt", "setOperandAt"),
        slot(X.CallIndirect, "getTarget", "setTarget"),
      ];
    case B.LocalSetId:
      return [slot(X.LocalSet, "getValue", "setValue")];
    case B.GlobalSetId:
      return [slot(X.GlobalSet, "getValue", "setValue")];
    case B.LoadId:
      return [slot(X.Load, "getPtr", "setPtr")];
    case B.StoreId:
      return [slot(X.Store, "getPtr", "setPtr"), slot(X.Store, "getValue", "setValue")];
    case B.UnaryId:
      return [slot(X.Unary, "getValue", "setValue")];
    case B.BinaryId:
      return [slot(X.Binary, "getLeft", "setLeft"), slot(X.Binary, "getRight", "setRight")];
    case B.SelectId:
      return [slot(X.Select, "getIfTrue", "setIfTrue"), slot(X.Select, "getIfFalse", "setIfFalse"), slot(X.Select, "getCondition", "setCondition")];
    case B.DropId:
      return [slot(X.Drop, "getValue", "setValue")];
    case B.ReturnId:
      return [slot(X.Return, "getValue", "setValue")];
    case B.MemoryGrowId:
      return [slot(X.MemoryGrow, "getDelta", "setDelta")];
    case B.MemoryCopyId:
      return [slot(X.MemoryCopy, "getDest", "setDest"), slot(X.MemoryCopy, "getSource", "setSource"), slot(X.MemoryCopy, "getSize", "setSize")];
    case B.MemoryFillId:
      return [slot(X.MemoryFill, "getDest", "setDest"), slot(X.MemoryFill, "getValue", "setValue"), slot(X.MemoryFill, "getSize", "setSize")];
    default:
      return null;
  }
}

const DIVISIONS = new Set<number>([
  binaryen.DivSInt32, binaryen.DivUInt32, binaryen.RemSInt32, binaryen.RemUInt32,
  binaryen.DivSInt64, binaryen.DivUInt64, binaryen.RemSInt64, binaryen.RemUInt64,
]);

function expressionName(id: number): string {
  for (const [k, v] of Object.entries(binaryen)) {
    if (k.endsWith("Id") && v === id) return k.slice(0, -2);
  }
  return `expression #${id}`;
}
