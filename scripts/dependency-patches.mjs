// Changes the build makes to a dependency's source, each for start-up time and each giving the same
// results as the original (test/unit/dependency-patches.test.ts compares them). Each throws when its
// anchor is missing, so a new version of the dependency stops the build instead of going unpatched.

function patch(what, source, anchor, replacement) {
  if (!source.includes(anchor)) throw new Error(`${what}: the line to patch was not found (a new version?)`);
  return source.replace(anchor, replacement);
}

/**
 * docker-modem formats every request for its debug log (util.inspect, all depths) even when that
 * log is off: 2 to 6 ms a request. It now formats only when DEBUG=modem turns the log on.
 */
export function patchDockerModem(source) {
  return patch("docker-modem/lib/modem.js", source, "debug('Sending: %s', util.inspect(", "debug.enabled && debug('Sending: %s', util.inspect(");
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
