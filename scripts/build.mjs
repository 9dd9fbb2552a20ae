// The build: two esbuild bundles, then type declarations from tsc (for `import { Lab } from "repl-lab"`).
// - dist/index.js, the library: ESM, split so that an import loads only what it uses.
// - dist/cli.cjs, the CLI: one CommonJS file, which bin/repl-lab.cjs compiles through V8's code cache.
//   A CLI starts once per command, and compiling its JavaScript was most of its start-up after Node's
//   own (npm run bench measures it against `node -e 0`). Node 20 keeps no code cache for ES modules,
//   and a script's cache is only taken whole, hence one file.
import { execFileSync } from "node:child_process";
import { build } from "esbuild";
import { readFile, rm } from "node:fs/promises";

const root = new URL("..", import.meta.url).pathname;

/**
 * dockerode loads gRPC and protobufjs for BuildKit (image builds through the engine), which repl-lab
 * never uses, and docker-modem loads ssh2 for ssh:// engines at start-up. The BuildKit parts are left
 * out and ssh2 is loaded when an ssh:// engine is first dialled: together they were more than half
 * of dockerode's load time. node-postgres probes for Cloudflare Workers when it loads, which makes
 * Node load its fetch implementation (undici); this bundle is for Node, so it gets pg's Node streams,
 * and its SCRAM hashing through node:crypto rather than the Web Crypto API (same results: loading
 * WebCrypto and its per-call checks cost 7 ms of the three sign-ins of a `status`).
 * commander loads child_process for executable subcommands, which repl-lab has none of, and
 * docker-modem loads https (and TLS with it) for engines reached over TLS: both load on first use.
 * docker-modem also formats every request for its debug log (util.inspect, all depths) even when
 * that log is off: 2 to 6 ms a request; it now formats only when DEBUG=modem turns the log on.
 */
const lazyBuiltins = { child_process: /[\\/]commander[\\/]/, https: /[\\/]docker-modem[\\/]/ };
const leaveOutUnused = {
  name: "leave-out-unused",
  setup(build) {
    build.onResolve({ filter: /^(@grpc\/.*|protobufjs)$/ }, (args) => ({ path: args.path, namespace: "unused" }));
    // dockerode's BuildKit session (gRPC, and uuid, whose loading took 6 ms of every command).
    build.onLoad({ filter: /[\\/]dockerode[\\/]lib[\\/]session\.js$/ }, () => ({
      contents: `module.exports = function withSession() { throw new Error("BuildKit sessions are not bundled with repl-lab"); };`,
      loader: "js",
    }));
    build.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: `module.exports = new Proxy({}, { get(_, key) { throw new Error(${JSON.stringify(args.path)} + " is not bundled with repl-lab (BuildKit sessions are not used): " + String(key)); } });`,
      loader: "js",
    }));
    build.onResolve({ filter: /^ssh2$/ }, (args) =>
      args.namespace === "lazy" ? { path: "ssh2", external: true } : { path: "ssh2", namespace: "lazy" },
    );
    build.onResolve({ filter: /^(node:)?(child_process|https)$/ }, (args) => {
      const builtin = args.path.replace(/^node:/, "");
      return lazyBuiltins[builtin]?.test(args.importer) ? { path: builtin, namespace: "lazy-builtin" } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: `let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require(${JSON.stringify(`node:${args.path}`)}))[key] });`,
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const patched = source.replace("debug('Sending: %s', util.inspect(", "debug.enabled && debug('Sending: %s', util.inspect(");
      if (patched === source) throw new Error(`${args.path}: the request log line to make lazy was not found (a new docker-modem?)`);
      return { contents: patched, loader: "js" };
    });
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/ }, () => ({
      contents: `const nodeCrypto = require("crypto");
const pbkdf2 = require("util").promisify(nodeCrypto.pbkdf2);
const md5 = async (text) => nodeCrypto.createHash("md5").update(text, "utf-8").digest("hex");
module.exports = {
  md5,
  postgresMd5PasswordHash: async (user, password, salt) => "md5" + (await md5(Buffer.concat([Buffer.from(await md5(password + user)), salt]))),
  randomBytes: (length) => nodeCrypto.randomBytes(length),
  deriveKey: (password, salt, iterations) => pbkdf2(password, salt, iterations, 32, "sha256"),
  sha256: async (data) => nodeCrypto.createHash("sha256").update(Buffer.from(data)).digest(),
  hashByName: async (name, data) => nodeCrypto.createHash(name.replace("-", "").toLowerCase()).update(Buffer.from(data)).digest(),
  hmacSha256: async (key, message) => nodeCrypto.createHmac("sha256", Buffer.from(key)).update(message).digest(),
};`,
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
// Native add-ons (resvg's PNG renderer among them) and pg's optional native binding stay outside the bundles.
// playwright-core (a development dependency) drives the browser for the dashboard's benchmark only.
const external = ["cpu-features", "pg-native", "@resvg/resvg-js", "playwright-core"];
await build({
  absWorkingDir: root,
  entryPoints: { index: "src/index.ts", "bench/bench": "src/bench/bench.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  external,
  // Bundled CommonJS code calls require(); give it Node's.
  banner: { js: 'import { createRequire as __replLabCreateRequire } from "node:module"; const require = __replLabCreateRequire(import.meta.url);' },
  plugins: [leaveOutUnused],
  logLevel: "warning",
});
await build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // No comments or indentation: a smaller file to read at each start, and pure ASCII (esbuild escapes
  // the rest), which the launcher reads as latin1 without decoding UTF-8. Names stay for stack traces.
  minifyWhitespace: true,
  legalComments: "linked",
  // import() of a package outside the bundle becomes require(): a script compiled by hand has no ES module loader.
  supported: { "dynamic-import": false },
  // What only experiments and scenario reports load stays in node_modules, out of the file every command reads.
  external: [...external, "echarts", "hdr-histogram-js", "junit-report-builder"],
  define: { "import.meta.url": "__replLabModuleUrl" },
  banner: { js: 'const __replLabModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [leaveOutUnused],
  logLevel: "warning",
});
const cli = await readFile(new URL("../dist/cli.cjs", import.meta.url));
if (cli.some((byte) => byte > 0x7f)) throw new Error("dist/cli.cjs is not pure ASCII, and bin/repl-lab.cjs reads it as latin1: look for a comment or string esbuild kept as it was");

// Type declarations (and the type check) last: tsc writes them under dist/types.
execFileSync(process.execPath, [new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
