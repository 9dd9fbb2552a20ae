// The build patches two dependencies' sources for start-up time (scripts/dependency-patches.mjs):
// each patched module must give what the original gives.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { patchDockerModem, patchStringWidth } from "../../scripts/dependency-patches.mjs";

const require = createRequire(import.meta.url);

/** Evaluates a CommonJS module's source as if it were the file at `path` (its requires resolve from there). */
function moduleFrom<T>(path: string, source: string): T {
  const module = { exports: {} as T };
  new Function("module", "exports", "require", source)(module, module.exports, createRequire(path));
  return module.exports;
}

describe("dependency patches", () => {
  it("string-width gives the original's width for ASCII, escape codes, emoji, wide and combining characters", () => {
    const path = require.resolve("string-width");
    const source = readFileSync(path, "utf8");
    const original = moduleFrom<(text: string) => number>(path, source);
    const patched = moduleFrom<(text: string) => number>(path, patchStringWidth(source));
    const samples = [
      "", "leader", "0/5000000", "pg_stat_replication on leader", " ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./ ",
      "\u001b[1mnode\u001b[22m", "\u001b[32mstreaming\u001b[39m", "307 µs", "日本語", "👍 ok", "👨‍👩‍👧", "e\u0301", "tab\there", "a\u007fb", "line\nbreak",
    ];
    for (const sample of samples) expect(patched(sample), JSON.stringify(sample)).toBe(original(sample));
    expect(patched("0/5000000")).toBe(9);
  });

  it("docker-modem's request log is formatted only when it is on", () => {
    const source = readFileSync(require.resolve("docker-modem/lib/modem.js"), "utf8");
    expect(patchDockerModem(source)).toContain("debug.enabled && debug('Sending: %s', util.inspect(");
  });

  it("a source without the line to patch stops the build", () => {
    expect(() => patchStringWidth("module.exports = () => 0;")).toThrow("string-width/index.js: the line to patch was not found");
    expect(() => patchDockerModem("")).toThrow("docker-modem/lib/modem.js: the line to patch was not found");
  });
});
