// Changes the build makes to a dependency's source. All but one are for start-up time and give the
// same results as the original (test/unit/dependency-patches.test.ts compares them); the one that
// is not (docker-modem's ssh address) is tested through the CLI. Each throws when its anchor is
// missing, so a new version of the dependency stops the build instead of going unpatched.

function patch(what, source, anchor, replacement) {
  if (!source.includes(anchor)) throw new Error(`${what}: the line to patch was not found (a new version?)`);
  return source.replace(anchor, replacement);
}

/**
 * docker-modem formats every request for its debug log (util.inspect, all depths) even when that
 * log is off: 2 to 6 ms a request. It now formats only when DEBUG=modem turns the log on.
 * And the one change that is not for speed: an ssh:// engine's request address had no `//` after
 * its scheme ("ssh:host:port…"), so every command printed Node's warning that the URL is invalid
 * (DEP0170). With the slashes written, http and https addresses are the same as before, and ssh
 * requests still go through the ssh agent, which ignores the address's host.
 */
export function patchDockerModem(source) {
  const what = "docker-modem/lib/modem.js";
  const log = patch(what, source, "debug('Sending: %s', util.inspect(", "debug.enabled && debug('Sending: %s', util.inspect(");
  return patch(what, log, "      protocol: parsed.protocol || this.protocol,\n", "      protocol: parsed.protocol || this.protocol,\n      slashes: true,\n");
}

/**
 * string-width 4 (cli-table3's) strips escape codes and runs a 10 KB emoji expression on every
 * call, and a status of three tables calls it some 900 times. Printable ASCII (no escape code, no
 * emoji, no wide or combining character) takes one column a character: its length is its width.
 */
export function patchStringWidth(source) {
  const anchor = "\tstring = stripAnsi(string);";
  return patch("string-width/index.js", source, anchor, `\tif (!/[^\\x20-\\x7e]/.test(string)) {\n\t\treturn string.length;\n\t}\n\n${anchor}`);
}

/**
 * cli-table3 0.6 spends most of a status's table drawing (15 ms of a 250 ms command, cold) on work
 * whose result it throws away or could have kept. Each of its files gets the same results, sooner:
 * - utils.js: a width of printable ASCII is its length (as string-width's patch above), without a
 *   new escape-code expression, a replace and a split per call;
 * - cell.js: the 17 option names each cell looks up are turned into camelCase once, not split
 *   and joined again for every cell; the first defined of four values is found without building
 *   arrays; a cell's text is cut to 10 columns for the debug log only when that log is on (it is
 *   off unless a table is made with `debug`);
 * - debug.js: tells cell.js whether its info log is on;
 * - layout-manager.js: a table where every row has every column and no cell spans two skips the
 *   search for gaps to fill (a check of each position against every cell above it).
 */
export function patchCliTable3(file, source) {
  const what = `cli-table3/src/${file}`;
  switch (file) {
    case "utils.js":
      return patch(what, source, "function strlen(str) {\n", "function strlen(str) {\n  if (typeof str === 'string' && !/[^\\x20-\\x7e]/.test(str)) return str.length;\n");
    case "cell.js": {
      const optionNames = patch(
        what,
        source,
        "function setOption(objA, objB, nameB, targetObj) {\n  let nameA = nameB.split('-');\n  if (nameA.length > 1) {\n    nameA[1] = nameA[1].charAt(0).toUpperCase() + nameA[1].substr(1);\n    nameA = nameA.join('');\n",
        "const camelCaseNames = new Map();\nfunction setOption(objA, objB, nameB, targetObj) {\n  let nameA = camelCaseNames.get(nameB);\n  if (nameA === undefined) {\n    const words = nameB.split('-');\n    nameA = words.length > 1 ? words[0] + words[1].charAt(0).toUpperCase() + words[1].substr(1) + words.slice(2).join('') : nameB;\n    camelCaseNames.set(nameB, nameA);\n  }\n  if (nameA !== nameB) {\n",
      );
      const firstDefined = patch(
        what,
        optionNames,
        "function firstDefined(...args) {\n  return args.filter((v) => v !== undefined && v !== null).shift();\n}",
        "function firstDefined(...args) {\n  for (const v of args) if (v !== undefined && v !== null) return v;\n  return undefined;\n}",
      );
      return patch(
        what,
        firstDefined,
        "    let content = utils.truncate(this.content, 10, this.truncate);\n    if (!lineNum) {\n",
        "    if (!lineNum && info.enabled()) {\n      let content = utils.truncate(this.content, 10, this.truncate);\n",
      );
    }
    case "debug.js":
      return patch(what, source, "debug.info = (msg) => debug(msg, debug.INFO);\n", "debug.info = (msg) => debug(msg, debug.INFO);\ndebug.info.enabled = () => level >= debug.INFO;\n");
    case "layout-manager.js":
      return patch(
        what,
        source,
        "    let w_max = maxWidth(table);\n",
        "    let w_max = maxWidth(table);\n    if (table.every((row) => row.length === w_max && row.every((cell) => (cell.rowSpan || 1) === 1 && (cell.colSpan || 1) === 1))) return;\n",
      );
    default:
      return source;
  }
}

/**
 * The source of a module that stands in for `module` (see the build's loadOnFirstUse rules) and
 * loads it at first use: reading a property, calling it, or constructing it. A function, so that
 * what is called (DockerIgnore()) or constructed works too.
 */
export function firstUseStandIn(module) {
  return `let real; const load = () => (real ??= require(${JSON.stringify(module)}));
module.exports = new Proxy(function () {}, {
  get: (_, key) => load()[key],
  apply: (_, self, values) => Reflect.apply(load(), self, values),
  construct: (_, values) => Reflect.construct(load(), values),
});`;
}
