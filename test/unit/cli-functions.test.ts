// The CLI stays a set of small pieces: no function in src/cli.ts or src/cli/ spans more than 80 lines
// (a command's registration, its help text included, is one such function).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const MAX_LINES = 80;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

interface Measured {
  where: string;
  name: string;
  lines: number;
}

/** Every function with a body (declarations, expressions, arrows, methods, accessors), with its span in lines. */
function functionsOf(fileName: string, text: string): Measured[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const measured: Measured[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name) ? node.parent.name.text : "(anonymous)";
      measured.push({ where: `${fileName}:${first + 1}`, name, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return measured;
}

const cliFiles = [join(SRC, "cli.ts"), ...filesUnder(join(SRC, "cli"))];
const measured = cliFiles.flatMap((file) => functionsOf(relative(SRC, file), readFileSync(file, "utf8")));

describe("the CLI's functions", () => {
  it(`are measured: every file of src/cli.ts and src/cli/, each function found`, () => {
    expect(cliFiles.length).toBeGreaterThan(20);
    expect(measured.map((each) => each.name)).toEqual(expect.arrayContaining(["buildProgram", "main", "report", "registerUp", "registerExperiment"]));
    const long = functionsOf("long.ts", `export function long() {\n${"  call();\n".repeat(MAX_LINES)}}\nconst short = () => 1;\n`);
    expect(long.map(({ name, lines }) => [name, lines])).toEqual([["long", MAX_LINES + 2], ["short", 1]]);
  });

  it(`span at most ${MAX_LINES} lines each`, () => {
    const tooLong = measured.filter((each) => each.lines > MAX_LINES).map((each) => `${each.where} ${each.name}: ${each.lines} lines`);
    expect(tooLong).toEqual([]);
  });
});
