// The build: the library and CLI bundles (scripts/bundles.mjs says what each holds and why), then
// type declarations from tsc (for `import { Lab } from "repl-lab"`). docs/build.md describes it.
import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { build } from "esbuild";
import { cliBundle, libraryBundle } from "./bundles.mjs";

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
await Promise.all([build(libraryBundle), build(cliBundle)]);

// Type declarations (and the type check) last: tsc writes them under dist/types.
execFileSync(process.execPath, [new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", "tsconfig.json"], {
  cwd: new URL("..", import.meta.url).pathname,
  stdio: "inherit",
});
