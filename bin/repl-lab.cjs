#!/usr/bin/env node
// Starts the CLI (dist/cli.cjs, one CommonJS file) through V8's code cache. The first successful
// run of each command saves the code V8 compiled for it; later runs of that command load it instead
// of parsing and compiling again, which was most of a command's start-up after Node's own. Node 22's
// module.enableCompileCache() does this for every module; Node 20 has only vm.Script's cachedData.
// `BENCH_ONLY=startup npm run bench` measures it.
// The cache is under $XDG_CACHE_HOME/repl-lab (else ~/.cache/repl-lab), a file per command in a
// folder named by Node's version and the bundle's size and time; REPL_LAB_CODE_CACHE=off turns it
// off. A cache V8 rejects (another V8, other flags) is written again. The cache only saves time:
// when it cannot be read or written, the CLI runs as it would without it.
// CommonJS, like the bundle: an ES module entry costs Node its ES module loader at start-up.
"use strict";
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const { basename, dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { Script } = require("node:vm");

const bundle = join(__dirname, "..", "dist", "cli.cjs");
try {
  statSync(bundle);
} catch {
  process.stderr.write(`error: repl-lab is not built (${bundle} is missing)\nhint: run \`npm run build\` in ${join(__dirname, "..")}\n`);
  process.exit(1);
}

/** A short name for a path (32-bit FNV-1a): node:crypto would cost `--version` 2 ms to load. */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** Where this command's cache is kept, or undefined when it is turned off. */
function cacheLocation() {
  if (process.env.REPL_LAB_CODE_CACHE === "off") return undefined;
  const { size, mtimeMs } = statSync(bundle);
  // A folder per installed copy (two installs must not take turns removing each other's cache),
  // and in it one folder for the bundle as it is now.
  const install = fnv1a(bundle);
  // os.homedir() is $HOME when it is set; node:os loads only when it is not.
  const home = process.env.HOME || require("node:os").homedir();
  const root = join(process.env.XDG_CACHE_HOME || join(home, ".cache"), "repl-lab", install);
  const folder = join(root, `node-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`);
  const verb = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
  return { root, folder, file: join(folder, `${verb && /^[a-z][a-z-]{0,31}$/.test(verb) ? verb : "repl-lab"}.v8`) };
}

/** Writes the cache whole or not at all (a rename), and removes this install's caches of earlier builds. */
function save(location, data) {
  try {
    mkdirSync(location.folder, { recursive: true });
    const partial = `${location.file}.${process.pid}`;
    writeFileSync(partial, data);
    renameSync(partial, location.file);
    for (const entry of readdirSync(location.root)) {
      if (entry !== basename(location.folder)) rmSync(join(location.root, entry), { recursive: true, force: true });
    }
  } catch {
    // A read-only home or a full disk: the next run compiles again.
  }
}

const location = cacheLocation();
let cachedData;
try {
  if (location) cachedData = readFileSync(location.file);
} catch {
  // None yet.
}
// The bundle is a function's text (the build writes its first and last lines), compiled as it is
// read: V8 takes the file's string without a copy, and stack traces keep the file's lines and columns.
const script = new Script(readFileSync(bundle, "latin1"), { filename: bundle, cachedData });
const cli = { exports: {} };
try {
  // This file's require resolves packages as one made for the bundle would (both are in the
  // package's folder), without loading node:module and Node's ES module loader with it.
  script.runInThisContext()(cli.exports, require, cli, bundle, dirname(bundle), pathToFileURL(bundle).href);
} catch (error) {
  // A broken install (a file of the package missing): one line, where Node would print the
  // bundle's line, which is most of a megabyte.
  const message = process.env.DEBUG ? String(error?.stack ?? error) : `error: repl-lab could not start: ${error?.message ?? error}`;
  process.stderr.write(`${message}\nhint: reinstall repl-lab, or run \`npm run build\` in ${join(__dirname, "..")}\n`);
  process.exit(70);
}
if (process.env.DEBUG && location) {
  process.stderr.write(`[debug] code cache ${location.file}: ${cachedData === undefined ? "none yet" : script.cachedDataRejected ? "rejected" : "used"}\n`);
}
if (location && (cachedData === undefined || script.cachedDataRejected)) {
  // At exit, so the cache holds every function the command compiled, not only the top level.
  process.once("exit", (code) => {
    if (code === 0) save(location, script.createCachedData());
  });
}
cli.exports.main(process.argv);
