// The build: type declarations from tsc (for `import { Lab } from "repl-lab"`), then one esbuild
// bundle for the CLI and the library, split so that each command loads only what it uses. A CLI
// starts once per command, and resolving and reading hundreds of small module files was most of
// its start-up (npm run bench measures it against `node -e 0`).
import { execFileSync } from "node:child_process";
import { build } from "esbuild";
import { rm } from "node:fs/promises";

const root = new URL("..", import.meta.url).pathname;

/**
 * dockerode loads gRPC and protobufjs for BuildKit (image builds through the engine), which repl-lab
 * never uses, and docker-modem loads ssh2 for ssh:// engines at start-up. The BuildKit parts are left
 * out and ssh2 is loaded when an ssh:// engine is first dialled: together they were more than half
 * of dockerode's load time. node-postgres probes for Cloudflare Workers when it loads, which makes
 * Node load its fetch implementation (undici); this bundle is for Node, so it gets pg's Node streams.
 * commander loads child_process for executable subcommands, which repl-lab has none of.
 */
const leaveOutUnused = {
  name: "leave-out-unused",
  setup(build) {
    build.onResolve({ filter: /^(@grpc\/.*|protobufjs)$/ }, (args) => ({ path: args.path, namespace: "unused" }));
    build.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: `module.exports = new Proxy({}, { get(_, key) { throw new Error(${JSON.stringify(args.path)} + " is not bundled with repl-lab (BuildKit sessions are not used): " + String(key)); } });`,
      loader: "js",
    }));
    build.onResolve({ filter: /^ssh2$/ }, (args) =>
      args.namespace === "lazy" ? { path: "ssh2", external: true } : { path: "ssh2", namespace: "lazy" },
    );
    build.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: "child_process", namespace: "lazy-builtin" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: `let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require(${JSON.stringify(`node:${args.path}`)}))[key] });`,
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      contents: `module.exports = {
  getStream() { return new (require("net").Socket)(); },
  getSecureStream(options) { return require("tls").connect(options); },
};`,
      loader: "js",
    }));
    build.onLoad({ filter: /.*/, namespace: "lazy" }, () => ({
      contents: `let real; const load = () => (real ??= require("ssh2"));
class Client { constructor(...args) { return new (load().Client)(...args); } }
module.exports = { Client };`,
      loader: "js",
    }));
  },
};

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli.ts", index: "src/index.ts", "bench/bench": "src/bench/bench.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  // Native add-ons (resvg's PNG renderer among them) and pg's optional native binding stay outside the bundle.
  // playwright-core (a development dependency) drives the browser for the dashboard's benchmark only.
  external: ["cpu-features", "pg-native", "@resvg/resvg-js", "playwright-core"],
  // Bundled CommonJS code calls require(); give it Node's.
  banner: { js: 'import { createRequire as __replLabCreateRequire } from "node:module"; const require = __replLabCreateRequire(import.meta.url);' },
  plugins: [leaveOutUnused],
  logLevel: "warning",
});

// Type declarations (and the type check) last: tsc writes them under dist/types.
execFileSync(process.execPath, [new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
