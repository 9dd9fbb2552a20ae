// The layers of src/ only point down, and no module reaches itself through its imports (type
// imports included: a cycle of types is still a cycle a reader must untangle).
//   core (pure) < engine, postgres, ha clients (adapters) < lab < operations < api.ts (the Lab)
//   < experiments, scenario, dashboard (composite: they drive a Lab) < views, index.ts < cli, bench
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

const LAYERS: [RegExp, number, string][] = [
  [/^core\//, 0, "core"],
  [/^(engine\/|postgres\.ts$|ha\/)/, 1, "adapters"],
  [/^lab\//, 2, "lab"],
  [/^operations\//, 3, "operations"],
  [/^api\.ts$/, 4, "the Lab facade"],
  [/^(experiments|scenario|dashboard)\//, 5, "composite"],
  [/^(views\/|index\.ts$)/, 6, "views and the library's entry"],
  [/^(cli\/|cli\.ts$|bench\/)/, 7, "cli and bench"],
];

function layerOf(file: string): { rank: number; name: string } {
  const found = LAYERS.find(([pattern]) => pattern.test(file));
  if (!found) throw new Error(`${file} is in no layer: add it to LAYERS`);
  return { rank: found[1], name: found[2] };
}

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [relative(SRC, join(dir, entry.name))] : [],
  );
}

/** Every relative import of a file (static, `export … from`, and `import()`), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)["'](\.[^"']+)["']/gm)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(SRC, resolve(dirname(join(SRC, file)), specifier)).replace(/\.js$/, ".ts"));
}

const files = sourceFiles();
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe("the layers of src/", () => {
  it("every import resolves to a source file", () => {
    const missing = [...graph].flatMap(([file, imports]) => imports.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`));
    expect(missing).toEqual([]);
  });

  it("only point down: no module imports one of a higher layer", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => graph.has(target) && layerOf(target).rank > layerOf(file).rank)
        .map((target) => `${file} (${layerOf(file).name}) → ${target} (${layerOf(target).name})`),
    );
    expect(upward).toEqual([]);
  });

  it("have no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === "open") cycles.push([...path.slice(path.indexOf(target)), target].join(" → "));
        else if (!state.has(target) && graph.has(target)) visit(target);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
