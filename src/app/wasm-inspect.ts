/**
 * Just enough of a WebAssembly binary reader to see the function signatures of imports and
 * exports, which the JS API does not expose. The host uses it to refuse, at load time, a
 * module whose ABI does not match — instead of discovering it on the first apply, where a
 * mismatch would be a fatal error in the middle of the sequence.
 *
 * Only called on modules that `new WebAssembly.Module` already validated, so malformed
 * input is not expected; it still fails with AppLoadError, never an index error.
 */
import { AppLoadError } from "./errors.ts";

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

export type ImportDesc =
  | { module: string; name: string; kind: "function"; sig: FuncSig }
  | { module: string; name: string; kind: "table" | "memory" | "global" | "tag" };

export type ExportDesc =
  | { name: string; kind: "function"; sig: FuncSig }
  | { name: string; kind: "table" | "memory" | "global" | "tag" };

export interface ModuleShape {
  imports: ImportDesc[];
  exports: ExportDesc[];
}

const VALTYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

const EXTERNAL_KINDS = ["function", "table", "memory", "global", "tag"] as const;

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array, private readonly end = b.length) {}

  byte(): number {
    if (this.pos >= this.end) throw new AppLoadError("wasm module: unexpected end of section");
    return this.b[this.pos++]!;
  }

  /** Unsigned LEB128, up to 64 bits; returned as number when it fits (sizes, indices). */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new AppLoadError("wasm module: LEB128 too long");
    }
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new AppLoadError("wasm module: name past end of section");
    const s = new TextDecoder("utf-8", { fatal: false }).decode(this.b.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  valType(): ValType {
    const t = VALTYPES[this.byte()];
    if (!t) throw new AppLoadError("wasm module: unsupported value type");
    return t;
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

export function inspectModule(bytes: Uint8Array): ModuleShape {
  const r = new Reader(bytes);
  r.pos = 8; // magic + version, already checked by WebAssembly.Module
  const types: FuncSig[] = [];
  const funcTypes: number[] = []; // type index of every function, imports first
  const imports: ImportDesc[] = [];
  const rawExports: { name: string; kind: number; index: number }[] = [];

  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new AppLoadError("wasm module: section past end of file");
    const s = new Reader(bytes, end);
    s.pos = start;
    if (id === 1) readTypes(s, types);
    else if (id === 2) readImports(s, types, funcTypes, imports);
    else if (id === 3) {
      const n = s.u32();
      for (let i = 0; i < n; i++) funcTypes.push(s.u32());
    } else if (id === 7) {
      const n = s.u32();
      for (let i = 0; i < n; i++) rawExports.push({ name: s.name(), kind: s.byte(), index: s.u32() });
    }
    r.pos = end;
  }

  const exports: ExportDesc[] = rawExports.map(({ name, kind, index }) => {
    const k = EXTERNAL_KINDS[kind];
    if (!k) throw new AppLoadError(`wasm module: export ${name} has unknown kind ${kind}`);
    if (k !== "function") return { name, kind: k };
    const sig = types[funcTypes[index] ?? -1];
    if (!sig) throw new AppLoadError(`wasm module: export ${name} has no type`);
    return { name, kind: k, sig };
  });
  return { imports, exports };
}

function readTypes(s: Reader, types: FuncSig[]): void {
  const n = s.u32();
  for (let i = 0; i < n; i++) {
    // 0x60 is a plain function type; GC-proposal rec/sub types are not used by app modules
    if (s.byte() !== 0x60) throw new AppLoadError("wasm module: unsupported type section entry (GC types?)");
    const params: ValType[] = [];
    const results: ValType[] = [];
    for (let k = s.u32(); k > 0; k--) params.push(s.valType());
    for (let k = s.u32(); k > 0; k--) results.push(s.valType());
    types.push({ params, results });
  }
}

function readImports(s: Reader, types: FuncSig[], funcTypes: number[], out: ImportDesc[]): void {
  const n = s.u32();
  for (let i = 0; i < n; i++) {
    const module = s.name();
    const name = s.name();
    const kind = s.byte();
    if (kind === 0) {
      const typeIndex = s.u32();
      funcTypes.push(typeIndex);
      const sig = types[typeIndex];
      if (!sig) throw new AppLoadError(`wasm module: import ${module}.${name} has no type`);
      out.push({ module, name, kind: "function", sig });
    } else if (kind === 1) {
      s.byte(); // reftype
      s.limits();
      out.push({ module, name, kind: "table" });
    } else if (kind === 2) {
      s.limits();
      out.push({ module, name, kind: "memory" });
    } else if (kind === 3) {
      s.valType();
      s.byte(); // mutability
      out.push({ module, name, kind: "global" });
    } else if (kind === 4) {
      s.byte(); // attribute
      s.u32();
      out.push({ module, name, kind: "tag" });
    } else {
      throw new AppLoadError(`wasm module: import ${module}.${name} has unknown kind ${kind}`);
    }
  }
}

export function sigToString(sig: FuncSig): string {
  return `(${sig.params.join(", ")}) -> (${sig.results.join(", ")})`;
}

export function sigEquals(a: FuncSig, b: FuncSig): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}
