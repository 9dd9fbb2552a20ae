#!/usr/bin/env node
// Starts the CLI: dist/cli/cli.mjs, the esbuild bundle of src/cli.ts (docs/build.md).
"use strict";
const { existsSync } = require("node:fs");
const nodeModule = require("node:module");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

// Node 22.1+ keeps V8's compiled code between runs (in NODE_COMPILE_CACHE, else a folder under the
// temporary directory). Node 20 has no such cache and compiles at each start.
if (typeof nodeModule.enableCompileCache === "function") nodeModule.enableCompileCache();
// A stack trace under DEBUG names src/ files and lines, through the bundle's source maps.
if (process.env.DEBUG) process.setSourceMapsEnabled(true);

const root = join(__dirname, "..");
const entry = join(root, "dist", "cli", "cli.mjs");
if (!existsSync(entry)) {
  process.stderr.write(`error: repl-lab is not built (${entry} is missing)\nhint: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
import(pathToFileURL(entry).href).then(
  (cli) => cli.main(process.argv),
  (error) => {
    // A broken install (a file of the package missing): one line, not the bundle's text around the failure.
    const message = process.env.DEBUG ? String(error?.stack ?? error) : `error: repl-lab could not start: ${error?.message ?? error}`;
    process.stderr.write(`${message}\nhint: reinstall repl-lab, or run \`npm run build\` in ${root}\n`);
    process.exit(70);
  },
);
