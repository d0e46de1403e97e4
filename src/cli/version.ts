import pkg from "../../package.json";

/** The product version, taken from package.json at build time and embedded in the binary. */
export const VERSION: string = pkg.version;
