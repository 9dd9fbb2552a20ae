// The two esbuild bundles, as options: scripts/build.mjs builds them, test/integration/build.test.ts
// checks what goes into them, docs/build.md explains the choices with figures. Dependencies go in as
// published: no plugin, no file of theirs swapped, no import of theirs redirected.
const root = new URL("..", import.meta.url).pathname;

/** Both bundles: ES modules for Node 20+, split into chunks, with source maps. */
const esModules = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
};

/**
 * The library (dist/index.js): every package stays external, so `import { Lab } from "repl-lab"`
 * loads the application's node_modules as they are, shares them with it (one pg, one dockerode),
 * and a dependency's update reaches it without a new build of repl-lab.
 */
/** @type {import("esbuild").BuildOptions} */
export const libraryBundle = {
  ...esModules,
  entryPoints: { index: "src/index.ts", "bench/bench": "src/bench/bench.ts" },
  outdir: "dist",
  packages: "external",
};

/**
 * The CLI (dist/cli/cli.mjs, which bin/repl-lab.cjs imports): dependencies bundled, split along our
 * own lazy import()s, so that a command reads and compiles only what it uses (`--help` commander and
 * the command table, not the engine client; `status` not the YAML parser). Packages stay external
 * where bundling would change how they run: native add-ons, and ssh2, which loads its optional
 * binding from its own folder. So do those only experiments load.
 */
/** @type {import("esbuild").BuildOptions} */
export const cliBundle = {
  ...esModules,
  entryPoints: { cli: "src/cli.ts" },
  outdir: "dist/cli",
  outExtension: { ".js": ".mjs" },
  external: ["ssh2", "cpu-features", "pg-native", "@resvg/resvg-js", "echarts", "hdr-histogram-js", "junit-report-builder", "playwright-core"],
  // Bundled CommonJS code calls require(): in an ES module it gets Node's (esbuild's documented way).
  banner: { js: 'import { createRequire as __replLabCreateRequire } from "node:module"; const require = __replLabCreateRequire(import.meta.url);' },
};
