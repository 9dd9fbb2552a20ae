// The build: two esbuild bundles, then type declarations from tsc (for `import { Lab } from "repl-lab"`).
// - dist/index.js, the library: ESM, split so that an import loads only what it uses.
// - dist/cli.cjs, the CLI: one file, the body of the CommonJS function bin/repl-lab.cjs compiles
//   through V8's code cache.
//   A CLI starts once per command, and compiling its JavaScript was most of its start-up after Node's
//   own (npm run bench measures it against `node -e 0`). Node 20 keeps no code cache for ES modules,
//   and a script's cache is only taken whole, hence one file.
import { execFileSync } from "node:child_process";
import { build } from "esbuild";
import { readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { firstUseStandIn, patchCliTable3, patchDockerModem, patchStringWidth } from "./dependency-patches.mjs";

const root = new URL("..", import.meta.url).pathname;

/**
 * dockerode loads gRPC and protobufjs for BuildKit (image builds through the engine), which repl-lab
 * never uses: they are left out. node-postgres probes for Cloudflare Workers when it loads, which
 * makes Node load its fetch implementation (undici); this bundle is for Node, so it gets pg's Node
 * streams, and its SCRAM hashing through node:crypto rather than the Web Crypto API (same results:
 * loading WebCrypto and its per-call checks cost 7 ms of the three sign-ins of a `status`).
 * Three dependencies' sources are patched for speed with the same results, and docker-modem's
 * ssh:// address is mended: see dependency-patches.mjs.
 *
 * What a bundled module requires at its top but uses only in functions a command rarely calls: it
 * gets a stand-in that loads the real module at first use. Loaded with their importers, these were
 * most of the engine client's load time. (A rule's module is loaded as it is anywhere else.)
 */
const loadOnFirstUse = [
  // commander: executable subcommands, which repl-lab has none of.
  { module: /^(node:)?child_process$/, importer: /[\\/]commander[\\/]/ },
  // docker-modem: engines over TLS (https, and TLS with it). ssh:// engines: see ssh2 below.
  { module: /^(node:)?https$/, importer: /[\\/]docker-modem[\\/]/ },
  // dockerode: the tar, gzip and .dockerignore of an image build's context.
  { module: /^(node:)?zlib$|^tar-fs$|^@balena\/dockerignore$/, importer: /[\\/]dockerode[\\/]lib[\\/]util\.js$/ },
  // node-postgres: a host name's lookup for pg-native's connection string.
  { module: /^(node:)?dns$/, importer: /[\\/]pg[\\/]lib[\\/]connection-parameters\.js$/ },
];
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
    // Only the modules the rules name reach the callback (esbuild matches the filter in Go, cheaply).
    build.onResolve({ filter: new RegExp(loadOnFirstUse.map((rule) => rule.module.source).join("|")) }, (args) =>
      args.namespace === "file" && loadOnFirstUse.some((rule) => rule.module.test(args.path) && rule.importer.test(args.importer))
        ? { path: args.path, namespace: "on-first-use", pluginData: { resolveDir: args.resolveDir } }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "on-first-use" }, (args) => ({ contents: firstUseStandIn(args.path), resolveDir: args.pluginData.resolveDir, loader: "js" }));
    // docker-modem takes ssh2's Client when it loads and constructs one when an ssh:// engine is
    // dialled: it gets a Client that loads ssh2 (outside the bundle) then.
    build.onResolve({ filter: /^ssh2$/ }, (args) => (args.namespace === "file" ? { path: "ssh2", namespace: "ssh2-on-first-use" } : undefined));
    build.onLoad({ filter: /.*/, namespace: "ssh2-on-first-use" }, () => ({
      contents: `class Client { constructor(...args) { return new (require("ssh2").Client)(...args); } }
module.exports = { Client };`,
      loader: "js",
    }));
    // chalk probes the terminal when it loads (node:tty, and node:net with it) for its default
    // instance, which repl-lab never uses: its views make their own Chalk with the level
    // views/terminal.ts decides. chalk's own package maps #supports-color to a variant that probes
    // nothing outside Node: that one is taken.
    build.onResolve({ filter: /^#supports-color$/ }, (args) =>
      /[\\/]chalk[\\/]source[\\/]/.test(args.importer) ? { path: join(args.importer.replace(/[\\/]source[\\/].*$/, ""), "source", "vendor", "supports-color", "browser.js") } : undefined,
    );
    // docker-modem's request log: with DEBUG unset no debug namespace can be on, so it gets a log
    // that is off, and debug (with its colour and terminal probing) is not loaded.
    build.onLoad({ filter: /[\\/]node_modules[\\/]debug[\\/]src[\\/]index\.js$/ }, () => ({
      contents: `module.exports = process.env.DEBUG ? require("./node.js") : function createDebug() { const log = function () {}; log.enabled = false; return log; };`,
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => ({ contents: patchDockerModem(await readFile(args.path, "utf8")), loader: "js" }));
    build.onLoad({ filter: /[\\/]cli-table3[\\/]src[\\/](utils|cell|debug|layout-manager)\.js$/ }, async (args) => ({ contents: patchCliTable3(basename(args.path), await readFile(args.path, "utf8")), loader: "js" }));
    build.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => ({ contents: patchStringWidth(await readFile(args.path, "utf8")), loader: "js" }));
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/ }, () => ({
      contents: `const nodeCrypto = require("crypto");
const pbkdf2 = require("util").promisify(nodeCrypto.pbkdf2);
const saltedPasswords = new Map();
const md5 = async (text) => nodeCrypto.createHash("md5").update(text, "utf-8").digest("hex");
module.exports = {
  md5,
  postgresMd5PasswordHash: async (user, password, salt) => "md5" + (await md5(Buffer.concat([Buffer.from(await md5(password + user)), salt]))),
  randomBytes: (length) => nodeCrypto.randomBytes(length),
  // SaltedPassword depends only on the password and the role's salt and iteration count, which
  // every node of a lab shares (standbys are copies of the leader): worked out once per process.
  deriveKey(password, salt, iterations) {
    const key = iterations + ":" + Buffer.from(salt).toString("base64") + ":" + password;
    let derived = saltedPasswords.get(key);
    if (!derived) {
      derived = pbkdf2(password, salt, iterations, 32, "sha256");
      saltedPasswords.set(key, derived);
      derived.catch(() => saltedPasswords.delete(key));
    }
    return derived;
  },
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
  },
};

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
// Native add-ons (resvg's PNG renderer among them) and pg's optional native binding stay outside the bundles.
// playwright-core (a development dependency) drives the browser for the dashboard's benchmark only.
const external = ["cpu-features", "pg-native", "@resvg/resvg-js", "playwright-core", "ssh2"];
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
  // The file is the body of the function bin/repl-lab.cjs compiles, written whole here rather than
  // joined to the file's text at each start (which copied the megabyte and cost a garbage
  // collection), and with "use strict" first in the body, where it takes effect. The launcher
  // hands in the module's URL for import.meta.url.
  define: { "import.meta.url": "__replLabModuleUrl" },
  banner: { js: "(function (exports, require, module, __filename, __dirname, __replLabModuleUrl) {" },
  footer: { js: "})" },
  plugins: [leaveOutUnused],
  logLevel: "warning",
});
const cli = await readFile(new URL("../dist/cli.cjs", import.meta.url));
if (cli.some((byte) => byte > 0x7f)) throw new Error("dist/cli.cjs is not pure ASCII, and bin/repl-lab.cjs reads it as latin1: look for a comment or string esbuild kept as it was");

// Type declarations (and the type check) last: tsc writes them under dist/types.
execFileSync(process.execPath, [new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
