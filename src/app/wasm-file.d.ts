// `import p from "x.wasm" with { type: "file" }` yields the file's path (embedded in the
// compiled binary by `bun build --compile`). bun-types only declares this for TS >= 7.1.
declare module "*.wasm" {
  const path: string;
  export default path;
}
