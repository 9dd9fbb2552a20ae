// Every example in the README (and in docs/) is checked here, without an engine: each `repl-lab`
// command line parses with the CLI's own program, each scenario and lab file parses with the
// schema `scenario run` and `up --file` use, the library example is the file the suite runs, and
// the GitHub Actions recipe's commands parse too (package.test.ts runs them).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildProgram } from "../../src/cli.js";
import * as library from "../../src/index.js";
import { buildTopology } from "../../src/core/topology.js";
import { parseScenario } from "../../src/scenario/parse.js";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");
const markdownFiles = (dir: string): string[] =>
  readdirSync(new URL(dir, ROOT), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdownFiles(`${dir}${entry.name}/`) : entry.name.endsWith(".md") ? [`${dir}${entry.name}`] : [],
  );
const PAGES = ["README.md", ...markdownFiles("docs/")];

interface Block {
  page: string;
  info: string;
  body: string;
}

function codeBlocks(page: string): Block[] {
  return [...read(page).matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ page, info: match[1]!, body: match[2]! }));
}

/** What a reader would type: `$ …` lines of any block, every line of a shell block, inline `repl-lab …` spans, the recipe's `run:` lines. */
function commandLines(page: string): string[] {
  const fromBlocks = codeBlocks(page).flatMap(({ info, body }) =>
    body.split("\n").flatMap((line) => {
      if (line.startsWith("$ ")) return [line.slice(2)];
      return ["sh", "bash", "shell"].includes(info) && line.trim() !== "" ? [line] : [];
    }),
  );
  const withoutBlocks = read(page).replace(/^```\w*\n[\s\S]*?^```$/gm, "");
  const inline = [...withoutBlocks.matchAll(/`((?:npx )?repl-lab [^`]+)`/g)].map((match) => match[1]!);
  return [...fromBlocks, ...inline];
}

type Token = { word: string } | { op: string };
const OPERATOR_CHARS = ";|&<>";

/** A shell line's words and operators, quotes removed and the comment dropped; enough for the examples we write. */
function lex(line: string): Token[] {
  const tokens: Token[] = [];
  let word: string | null = null;
  const flush = () => {
    if (word !== null) tokens.push({ word });
    word = null;
  };
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === "'" || char === '"') {
      const end = line.indexOf(char, i + 1);
      if (end < 0) throw new Error(`unclosed ${char} in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(char)) {
      flush();
    } else if (char === "#" && word === null) {
      break;
    } else if (/^<[^<>\s]+>/.test(line.slice(i))) {
      const placeholder = /^<[^<>\s]+>/.exec(line.slice(i))![0];
      word = (word ?? "") + placeholder;
      i += placeholder.length - 1;
    } else if (OPERATOR_CHARS.includes(char)) {
      if (word !== null && /^\d+$/.test(word) && (char === "<" || char === ">")) word = null; // a file descriptor, as in 2>&1
      flush();
      let op = char;
      while (i + 1 < line.length && OPERATOR_CHARS.includes(line[i + 1]!)) op += line[++i];
      tokens.push({ op });
    } else {
      word = (word ?? "") + char;
    }
  }
  flush();
  return tokens;
}

/** The argument vectors of the repl-lab commands in a shell line, `$(…)` substitutions included. */
function replLabInvocations(line: string): string[][] {
  const substitutions = [...line.matchAll(/\$\(([^()]*)\)/g)].map((match) => match[1]!);
  const commands: string[][] = [[]];
  let skipNext = false;
  for (const token of lex(line.replace(/\$\(([^()]*)\)/g, "SUBSTITUTION"))) {
    if ("op" in token) {
      if (/^[<>]/.test(token.op)) skipNext = true;
      else commands.push([]);
    } else if (skipNext) {
      skipNext = false;
    } else {
      commands.at(-1)!.push(token.word);
    }
  }
  const own = commands.flatMap((words) => {
    const start = words[0] === "npx" ? 1 : 0;
    return words[start] === "repl-lab" ? [words.slice(start + 1)] : [];
  });
  return [...own, ...substitutions.flatMap(replLabInvocations)];
}

const isPlaceholder = (word: string) => /^<.*>$/.test(word) || word === "…";

/** Why the CLI would refuse these arguments before doing anything, or undefined when it would take them. */
function refusal(args: string[]): string | undefined {
  let command: Command = buildProgram();
  let index = 0;
  while (command.commands.length > 0 && index < args.length && !args[index]!.startsWith("-")) {
    const name = args[index]!;
    if (isPlaceholder(name)) return undefined;
    const sub = command.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name));
    if (!sub) return `${command.name()} has no command "${name}"`;
    command = sub;
    index++;
  }
  const elided = args.indexOf("…", index);
  const rest = args.slice(index, elided < 0 ? undefined : elided);
  const asked = rest.some((arg) => arg === "-h" || arg === "--help");
  command.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let parsed: { operands: string[]; unknown: string[] };
  try {
    parsed = command.parseOptions(rest);
  } catch (error) {
    if ((error as { code?: string }).code === "commander.version") return undefined;
    return (error as Error).message;
  }
  const unknown = parsed.unknown.filter((arg) => arg !== "-h" && arg !== "--help");
  if (unknown.length > 0) return `${command.name()}: unknown option ${unknown[0]}`;
  if (asked || elided >= 0) return undefined;
  if (command.commands.length > 0) return `${command.name()} needs one of its commands`;
  const declared = command.registeredArguments;
  const required = declared.filter((argument) => argument.required).length;
  if (parsed.operands.length < required) return `${command.name()}: missing ${declared[parsed.operands.length]!.name()}`;
  if (!declared.some((argument) => argument.variadic) && parsed.operands.length > declared.length) {
    return `${command.name()}: unexpected ${parsed.operands[declared.length]}`;
  }
  return undefined;
}

const problems = (lines: string[]) =>
  lines.flatMap((line) => replLabInvocations(line).flatMap((args) => {
    const why = refusal(args);
    return why === undefined ? [] : [`${line}\n    ${why}`];
  }));

describe("the checker of command lines", () => {
  it("refuses what the CLI refuses: an unknown command, option or choice, a missing or extra argument, a bare parent command", () => {
    for (const line of [
      "repl-lab statsu",
      "repl-lab up --no-such-flag",
      "repl-lab up --sync-commit eventually",
      "repl-lab up --followers",
      "repl-lab kill",
      "repl-lab kill standby1 standby2",
      "repl-lab sync set",
      "repl-lab sync",
      "repl-lab experiment no-such-experiment",
      'eval "$(repl-lab env --dotenv-ish)"',
      "repl-lab status --lab demo && repl-lab promote",
    ]) {
      expect(problems([line]), line).toHaveLength(1);
    }
  });

  it("takes what the CLI takes: quotes, comments, pipes, redirections, substitutions, npx, --help and placeholders", () => {
    expect(
      problems([
        'repl-lab up -n 3 --sync "ANY 2 (standby1, standby2, standby3)" -c max_connections=50   # a comment',
        "npx repl-lab env --dotenv >> \"$GITHUB_ENV\"",
        "repl-lab status --json | jq '.replication[]'",
        'eval "$(repl-lab env --lab demo)"; repl-lab psql standby1 -- -c "SELECT 1"',
        "repl-lab kill leader && repl-lab promote standby1 2>&1",
        "repl-lab experiment <name> --help",
        "repl-lab sync --help",
        "repl-lab --version",
      ]),
    ).toEqual([]);
  });
});

describe("the README and docs/", () => {
  const lines = PAGES.flatMap(commandLines);

  it("keep the README a manual: under 450 lines, with its contents first, the rest in docs/", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme.split("\n").length).toBeLessThan(450);
    expect(readme.slice(0, 1500)).toContain("**Contents:**");
  });

  it("show only repl-lab command lines that parse with the CLI's own program", () => {
    expect(lines.length).toBeGreaterThan(40);
    expect(problems(lines)).toEqual([]);
  });

  it("run only npm scripts that package.json has (the quick start's two commands among them)", () => {
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    const used = PAGES.flatMap((page) => [...read(page).matchAll(/\bnpm (?:run ([\w:-]+)|(test)\b)/g)].map((match) => match[1] ?? match[2]!));
    expect(used).toEqual(expect.arrayContaining(["demo", "test", "bench"]));
    expect(used.filter((name) => !(name in scripts))).toEqual([]);
  });

  const dir = mkdtempSync(join(tmpdir(), "readme-yaml-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const yamlBlocks = PAGES.flatMap(codeBlocks).filter((block) => block.info === "yaml");
  const scenarios = yamlBlocks.filter((block) => "steps" in (parseYaml(block.body) as object));
  const labFiles = yamlBlocks.filter((block) => !scenarios.includes(block));

  it("show scenario files that parse as `scenario run` reads them, each a file of scenarios/ verbatim", () => {
    expect(scenarios.length).toBeGreaterThan(0);
    const shipped = readdirSync(new URL("scenarios/", ROOT)).map((name) => read(`scenarios/${name}`));
    scenarios.forEach((block, index) => {
      const file = join(dir, `scenario-${index}.yaml`);
      writeFileSync(file, block.body);
      expect(() => parseScenario(file), block.page).not.toThrow();
      expect(shipped, block.page).toContain(block.body);
    });
  });

  it("show lab files that parse with the topology schema up --file uses", () => {
    for (const block of labFiles) expect(() => buildTopology(parseYaml(block.body)), `${block.page}:\n${block.body}`).not.toThrow();
    expect(() => buildTopology(parseYaml(read("lab.example.yaml")))).not.toThrow();
  });

  it("name only members the library has: Lab.…, lab.… and its exports", () => {
    // The constructor only stores its arguments, so an instance shows the members (sync's too) with no engine.
    const instance = new (library.Lab as unknown as new (...args: unknown[]) => object)("readme", undefined, {}, undefined);
    const named = [...read("README.md").matchAll(/`((?:Lab|lab)\.[\w.]+|\w+)\(/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(15);
    const missing = named.filter((name) => {
      const [head, ...path] = name.split(".");
      let value: unknown = head === "Lab" ? library.Lab : head === "lab" ? instance : (library as Record<string, unknown>)[head!];
      if (head !== "Lab" && head !== "lab" && value === undefined) return false; // SQL and PostgreSQL's functions, not the library's
      for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
      return typeof value !== "function";
    });
    expect(missing).toEqual([]);
    expect(named).toEqual(expect.arrayContaining(["runExperiment", "Lab.up", "lab.sync.set"]));
  });

  it("shows examples/read-replica.test.ts exactly as the suite runs it", () => {
    const example = read("examples/read-replica.test.ts").trimEnd();
    expect(read("README.md")).toContain("```ts\n" + example + "\n```");
  });

  it("links the GitHub Actions recipe, whose repl-lab commands parse", () => {
    expect(read("README.md")).toContain("(examples/github-actions.yml)");
    const recipe = parseYaml(read("examples/github-actions.yml")) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const runs = Object.values(recipe.jobs).flatMap((job) => job.steps.flatMap((step) => (step.run ? step.run.split("\n") : [])));
    expect(runs.filter((line) => replLabInvocations(line).length > 0).length).toBeGreaterThan(4);
    expect(problems(runs)).toEqual([]);
  });
});
