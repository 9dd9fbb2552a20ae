// A scenario file: an optional `lab` (the fields of a lab file), an optional `name`, and `steps`, each
// one action. Everything is checked before any lab exists; a bad step is a UsageError naming its
// file and line.
import { readFileSync } from "node:fs";
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { ACTION_VERBS, describeAction, isActionVerb, parseAction, type LabAction } from "../core/action.js";
import { MAX_DURATION_MS, parseDuration } from "../core/duration.js";
import { UsageError } from "../core/errors.js";
import { parseSize } from "../core/size.js";
import { buildTopology, type LabSpecInput, type Topology } from "../core/topology.js";
import { parseExpression, type Expression } from "./expression.js";

export type Step =
  | { kind: "action"; action: LabAction }
  | { kind: "sql"; node: string; query: string; as?: string; expect?: { rows?: Record<string, unknown>[]; count?: number; error?: string } }
  | { kind: "wait"; until: Expression; timeoutMs: number }
  | { kind: "hold"; while: Expression; forMs: number }
  | { kind: "check"; maxLagBytes?: number; timeoutMs?: number }
  | { kind: "sleep"; ms: number }
  | { kind: "workload"; start?: string; stop?: string; writers: number };

export interface ScenarioStep {
  step: Step;
  /** What a report calls it: `name:` when given, else made from the step. */
  title: string;
  line: number;
}

export interface Scenario {
  file: string;
  name: string;
  /** The lab the scenario makes; undefined when it says none (it runs in one given with --lab). */
  topology: Topology | undefined;
  steps: ScenarioStep[];
}

const ACTIONS = [...ACTION_VERBS, "sql", "wait", "hold", "check", "sleep", "workload"] as const;

function fail(file: string, line: number, message: string): never {
  throw new UsageError(`${file}:${line}: ${message}`, { hint: "see the scenario section of the README, or scenarios/ for examples" });
}

function duration(file: string, line: number, value: unknown, what: string): number {
  // A bare number is seconds, as in a lab file; .inf and .nan are numbers to YAML, and no duration.
  const ms = typeof value === "number" ? (Number.isFinite(value) ? Math.round(value * 1000) : undefined) : typeof value === "string" ? parseDuration(value) : undefined;
  if (ms === undefined || ms < 0 || ms > MAX_DURATION_MS) fail(file, line, `${what}: expected a duration from 0 to 24h, such as 500ms or 10s`);
  return ms;
}

function text(file: string, line: number, value: unknown, what: string): string {
  if (typeof value !== "string" && typeof value !== "number") fail(file, line, `${what}: expected text`);
  const result = String(value).trim();
  if (result === "") fail(file, line, `${what}: must not be empty`);
  return result;
}

function mapping(file: string, line: number, value: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(file, line, `${what}: expected a mapping with ${keys.join(", ")}`);
  const unknown = Object.keys(value).filter((key) => !keys.includes(key));
  if (unknown.length) fail(file, line, `${what}: unknown field ${unknown.join(", ")} (it takes ${keys.join(", ")})`);
  return value as Record<string, unknown>;
}

function condition(file: string, line: number, value: unknown, what: string, nodes: string[] | undefined): Expression {
  let expression: Expression;
  try {
    expression = parseExpression(text(file, line, value, what));
  } catch (error) {
    fail(file, line, `${what}: ${(error as Error).message}`);
  }
  const roots = ["lab", "sql", "workload", ...(nodes ?? [])];
  for (const path of expression.paths) {
    if (nodes && !roots.includes(path[0]!)) fail(file, line, `${what}: "${path.join(".")}" names no node of this lab (its nodes are ${nodes.join(", ")}), nor lab, sql or workload`);
  }
  return expression;
}

function parseStep(file: string, line: number, raw: unknown, nodes: string[] | undefined): ScenarioStep {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(file, line, `a step is a mapping with one of ${ACTIONS.join(", ")}`);
  const { name, ...rest } = raw as Record<string, unknown>;
  const keys = Object.keys(rest);
  if (keys.length !== 1 || !(ACTIONS as readonly string[]).includes(keys[0]!)) {
    fail(file, line, `a step has exactly one of ${ACTIONS.join(", ")}${keys.length ? ` (this one has ${keys.join(", ")})` : ""}`);
  }
  const action = keys[0] as (typeof ACTIONS)[number];
  const value = rest[action];
  const node = (given: unknown, what: string) => {
    const result = text(file, line, given, what);
    if (nodes && !nodes.includes(result)) fail(file, line, `${what}: this lab has no node "${result}" (its nodes are ${nodes.join(", ")})`);
    return result;
  };
  let step: Step;
  let title: string;
  if (isActionVerb(action)) {
    // A lab action, in the one schema the dashboard and the library use too. The short forms a
    // file may use: `kill: standby1`, `rejoin: leader`, `sync: off`, `host-down: a`.
    const body =
      value === null || value === undefined
        ? {}
        : typeof value === "object" && !Array.isArray(value)
          ? value
          : action === "sync"
            ? value === "off"
              ? { off: true }
              : { set: value }
            : action === "host-down" || action === "host-up"
              ? { host: value }
              : { node: value };
    let parsed: LabAction;
    try {
      parsed = parseAction(action, body);
    } catch (error) {
      fail(file, line, (error as Error).message);
    }
    if ("node" in parsed) node(parsed.node, body === value ? `${action}.node` : action);
    step = { kind: "action", action: parsed };
    title = describeAction(parsed);
  } else if (action === "sql") {
    const fields = mapping(file, line, value, "sql", ["node", "query", "as", "expect"]);
    const expect = fields.expect === undefined ? undefined : mapping(file, line, fields.expect, "sql.expect", ["rows", "count", "error"]);
    if (expect?.rows !== undefined && !Array.isArray(expect.rows)) fail(file, line, "sql.expect.rows: expected a list of rows (mappings of column: value)");
    if (expect?.count !== undefined && (typeof expect.count !== "number" || !Number.isInteger(expect.count))) fail(file, line, "sql.expect.count: expected a number of rows");
    if (fields.as !== undefined && expect !== undefined) fail(file, line, "sql: a query run in the background (as) has no expect; wait on sql.<name>.state instead");
    step = {
      kind: "sql",
      node: node(fields.node, "sql.node"),
      query: text(file, line, fields.query, "sql.query"),
      as: fields.as === undefined ? undefined : text(file, line, fields.as, "sql.as"),
      expect: expect && {
        rows: expect.rows as Record<string, unknown>[] | undefined,
        count: expect.count as number | undefined,
        error: expect.error === undefined ? undefined : String(expect.error),
      },
    };
    const query = step.query.replace(/\s+/g, " ");
    title = `sql on ${step.node}${step.as ? ` in the background as ${step.as}` : ""}: ${query.length > 60 ? `${query.slice(0, 57)}…` : query}`;
  } else if (action === "wait") {
    const fields = mapping(file, line, value, "wait", ["until", "timeout"]);
    step = { kind: "wait", until: condition(file, line, fields.until, "wait.until", nodes), timeoutMs: fields.timeout === undefined ? 30_000 : duration(file, line, fields.timeout, "wait.timeout") };
    title = `wait until ${step.until.text}`;
  } else if (action === "hold") {
    const fields = mapping(file, line, value, "hold", ["while", "for"]);
    if (fields.for === undefined) fail(file, line, "hold: say for how long, e.g. for: 3s");
    step = { kind: "hold", while: condition(file, line, fields.while, "hold.while", nodes), forMs: duration(file, line, fields.for, "hold.for") };
    title = `${step.while.text} holds for ${step.forMs / 1000} s`;
  } else if (action === "check") {
    const fields = value === null || value === true ? {} : mapping(file, line, value, "check", ["max_lag", "timeout"]);
    const maxLag = fields.max_lag === undefined ? undefined : parseSize(fields.max_lag as string | number);
    if (fields.max_lag !== undefined && maxLag === undefined) fail(file, line, "check.max_lag: expected a size such as 16MB");
    step = {
      kind: "check",
      maxLagBytes: maxLag,
      timeoutMs: fields.timeout === undefined ? undefined : duration(file, line, fields.timeout, "check.timeout"),
    };
    title = "check";
  } else if (action === "sleep") {
    step = { kind: "sleep", ms: duration(file, line, value, "sleep") };
    title = `sleep ${step.ms / 1000} s`;
  } else {
    const fields = mapping(file, line, value, "workload", ["start", "stop", "writers"]);
    if ((fields.start === undefined) === (fields.stop === undefined)) fail(file, line, "workload: give start: <name> or stop: <name>");
    const writers = fields.writers === undefined ? 4 : Number(fields.writers);
    if (!Number.isInteger(writers) || writers < 1 || writers > 64) fail(file, line, "workload.writers: expected a whole number from 1 to 64");
    step = fields.start !== undefined ? { kind: "workload", start: text(file, line, fields.start, "workload.start"), writers } : { kind: "workload", stop: text(file, line, fields.stop, "workload.stop"), writers };
    title = step.start ? `workload ${step.start}: start ${writers} writers` : `workload ${step.stop}: stop`;
  }
  return { step, title: name === undefined ? title : text(file, line, name, "name"), line };
}

/** Reads and checks a scenario file; `given` says a lab is given with --lab (then `lab:` is not needed). */
export function parseScenario(file: string, options: { givenLab?: boolean } = {}): Scenario {
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read scenario file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length) {
    const [first] = document.errors;
    fail(file, lines.linePos(first!.pos[0]).line, `not YAML: ${first!.message.split("\n")[0]}`);
  }
  const lineOf = (node: YamlNode | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : 1);
  const root = document.contents;
  if (!isMap(root)) fail(file, 1, "a scenario is a mapping with steps (and optionally name and lab)");
  let data: Record<string, unknown>;
  try {
    // toJS expands aliases: a file that defines a few and repeats them (an alias bomb) would take
    // all memory; yaml refuses past its alias budget, and that is a bad file, not a crash.
    data = document.toJS() as Record<string, unknown>;
  } catch (error) {
    fail(file, 1, `not a scenario: ${(error as Error).message.split("\n")[0]}`);
  }
  const unknown = Object.keys(data).filter((key) => !["name", "lab", "steps"].includes(key));
  if (unknown.length) fail(file, lineOf(root.get(unknown[0], true) as YamlNode), `unknown field ${unknown.join(", ")} (a scenario has name, lab and steps)`);
  let topology: Topology | undefined;
  if (data.lab !== undefined) {
    try {
      topology = buildTopology({ ...(data.lab as LabSpecInput), lab: "scenario" });
    } catch (error) {
      fail(file, lineOf(root.get("lab", true) as YamlNode), `lab: ${(error as Error).message}`);
    }
  } else if (!options.givenLab) {
    topology = buildTopology({ lab: "scenario" });
  }
  const steps = root.get("steps", true);
  if (!isSeq(steps) || steps.items.length === 0) fail(file, lineOf(steps as YamlNode), "steps: expected a list of steps");
  const nodes = topology?.nodes.map((node) => node.name);
  return {
    file,
    name: typeof data.name === "string" ? data.name : file,
    topology,
    steps: steps.items.map((item, index) => parseStep(file, lineOf(item as YamlNode), (data.steps as unknown[])[index], nodes)),
  };
}
