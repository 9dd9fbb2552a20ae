// Types for the tests that read the build's options.
import type { BuildOptions } from "esbuild";
export const libraryBundle: BuildOptions;
export const cliBundle: BuildOptions;
