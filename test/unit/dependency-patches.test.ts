// What the build changes in dependencies (scripts/dependency-patches.mjs): each patched module must
// give what the original gives, and a first-use stand-in must act as the module it stands for.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { firstUseStandIn, patchCliTable3, patchDockerModem, patchStringWidth } from "../../scripts/dependency-patches.mjs";

const require = createRequire(import.meta.url);

/** Evaluates a CommonJS module's source as if it were the file at `path` (its requires resolve from there). */
function moduleFrom<T>(path: string, source: string): T {
  const module = { exports: {} as T };
  new Function("module", "exports", "require", source)(module, module.exports, createRequire(path));
  return module.exports;
}

type TableClass = new (options?: object) => unknown[] & { toString(): string; messages?: string[] };

/** cli-table3 loaded from its sources, each file passed through `change` (its own files only: string-width is the real one). */
function cliTable3(change: (file: string, source: string) => string): TableClass {
  const src = join(dirname(require.resolve("cli-table3/package.json")), "src");
  const loaded = new Map<string, unknown>();
  const load = (file: string): unknown => {
    if (!loaded.has(file)) {
      const path = join(src, file);
      const module = { exports: {} };
      loaded.set(file, module.exports);
      const outside = createRequire(path);
      const inside = (id: string) => (id.startsWith("./") ? load(`${id.slice(2)}.js`) : outside(id));
      new Function("module", "exports", "require", change(file, readFileSync(path, "utf8")))(module, module.exports, inside);
      loaded.set(file, module.exports);
    }
    return loaded.get(file);
  };
  return load("table.js") as TableClass;
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

  it("cli-table3 draws every table as the original does: spans, gaps, wrapping, truncation, colours, options per cell, debug", () => {
    const original = cliTable3((_, source) => source);
    const patched = cliTable3(patchCliTable3);
    const bold = (text: string) => `\u001b[1m${text}\u001b[22m`;
    // [table options, rows]: repl-lab's own style first, then what cli-table3's README shows.
    const tables: [object, unknown[]][] = [
      [
        { head: ["node", "state", "lag"].map(bold), style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } },
        [["leader", "\u001b[32mstreaming\u001b[39m", "307 µs"], ["standby1", "\u001b[32m\u001b[1msync\u001b[22m\u001b[39m", "-"], ["日本語", "👍 ok", "e\u0301"]],
      ],
      [{ head: ["a", "b", "c"] }, [["1", "2"], ["only one"], [{ colSpan: 2, content: "two columns" }, "z"], [{ rowSpan: 2, content: "two rows" }, "a", "b"], ["c", "d"]]],
      [{ colWidths: [6, 9], wordWrap: true }, [["a long text that wraps", "another that wraps too"], ["x\ny", "z"], [{ content: "no word boundary", wordWrap: true, wrapOnWordBoundary: false }, "w"]]],
      [{ colWidths: [5, 7], truncate: "~" }, [["truncated here", "\u001b[31mred and long\u001b[39m"], [{ content: "cell's own", truncate: ".." }, "x"]]],
      [{ head: ["k", "v"], style: { head: ["red"], border: ["grey"] } }, [[1, true], [null, undefined], ["", 12n], [{ content: "link", href: "http://example.com" }, "v"]]],
      [
        { chars: { "top-mid": "+", "left-mid": "L", middle: "|" }, style: { "padding-left": 3, paddingRight: 0, compact: true }, colAligns: ["right", "center"] },
        [["r", "c"], [{ content: "own chars", chars: { left: "#", "right-mid": "R" }, style: { "padding-left": 0, paddingRight: 2 }, hAlign: "center" }, "x"]],
      ],
      [{ rowHeights: [3], colAligns: ["left"] }, [[{ content: "middle", vAlign: "center" }, { content: "bottom", vAlign: "bottom" }]]],
      [{}, [{ "vertical key": "value" }, { other: ["listed", "values"] }]],
      [{ head: ["", "across"] }, [{ "row head": ["a"] }]],
      [{ debug: 3, head: ["d"] }, [["debugged"], [{ colSpan: 3, content: "wider than the table" }]]],
    ];
    for (const [options, rows] of tables) {
      const [a, b] = [new original(structuredClone(options)), new patched(structuredClone(options))];
      a.push(...structuredClone(rows));
      b.push(...structuredClone(rows));
      expect(b.toString(), JSON.stringify(rows, (_, value: unknown) => (typeof value === "bigint" ? `${value}n` : value))).toBe(a.toString());
      expect(b.messages).toEqual(a.messages);
    }
    // The debug table's log has its cells' text, cut to 10 columns, as the original writes it.
    expect(new patched({ debug: 3 }).messages?.join("\n")).toContain("Cell wider tha…");
  });

  it("docker-modem's request log is formatted only when it is on, and an ssh engine's address is a valid URL", () => {
    const source = readFileSync(require.resolve("docker-modem/lib/modem.js"), "utf8");
    expect(patchDockerModem(source)).toContain("debug.enabled && debug('Sending: %s', util.inspect(");
    // An ssh:// engine's address gets its slashes (bad-input.test.ts dials one).
    expect(patchDockerModem(source)).toContain("protocol: parsed.protocol || this.protocol,\n      slashes: true,\n");
  });

  it("a first-use stand-in loads its module only when used, then reads, calls and constructs as the module does", () => {
    const here = require.resolve("dockerode/lib/util.js");
    const resolved = createRequire(here).resolve("@balena/dockerignore");
    delete require.cache[resolved];
    type Ignore = { add(rules: string[]): Ignore; ignores(path: string): boolean };
    const ignore = moduleFrom<(options?: object) => Ignore>(here, firstUseStandIn("@balena/dockerignore"));
    expect(require.cache[resolved]).toBeUndefined();
    // Called, as dockerode calls it.
    expect(ignore().add(["*.log", "!keep.log"]).ignores("debug.log")).toBe(true);
    expect(require.cache[resolved]).toBeDefined();
    expect(ignore().add(["*.log", "!keep.log"]).ignores("keep.log")).toBe(false);
    // A module's members, and a class constructed through the stand-in.
    const zlib = moduleFrom<typeof import("node:zlib")>(here, firstUseStandIn("zlib"));
    expect(zlib.gunzipSync(zlib.gzipSync("lab")).toString()).toBe("lab");
    const { EventEmitter } = require("node:events") as typeof import("node:events");
    const Emitter = moduleFrom<typeof EventEmitter>(here, firstUseStandIn("node:events"));
    expect(new Emitter()).toBeInstanceOf(EventEmitter);
  });

  it("a source without the line to patch stops the build", () => {
    expect(() => patchStringWidth("module.exports = () => 0;")).toThrow("string-width/index.js: the line to patch was not found");
    expect(() => patchDockerModem("debug('Sending: %s', util.inspect(")).toThrow("docker-modem/lib/modem.js: the line to patch was not found");
    expect(() => patchDockerModem("")).toThrow("docker-modem/lib/modem.js: the line to patch was not found");
    for (const file of ["utils.js", "cell.js", "debug.js", "layout-manager.js"]) {
      expect(() => patchCliTable3(file, "module.exports = {};")).toThrow(`cli-table3/src/${file}: the line to patch was not found`);
    }
  });
});
