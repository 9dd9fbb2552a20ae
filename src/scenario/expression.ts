// The small language of a scenario's `wait: {until: …}` and `hold: {while: …}`, parsed once and
// evaluated against what `status --json` says (never eval'd):
//
//   expr       := and ("or" and)*
//   and        := unary ("and" unary)*
//   unary      := "not" unary | "(" expr ")" | comparison
//   comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=") operand]
//   operand    := path | number [unit] | 'text' | "text" | word | null | true | false
//   path       := name "." name ("." name)*        e.g. standby2.sync_state, sql.commit.state
//
// A path's first name is a node (its fields from `status`'s node and its pg_stat_replication row),
// `lab` (primaries, warnings, nodes), `sql` (background queries by name) or `workload`. A word
// without a dot is text (sync, streaming). Units: ms, s, min are seconds (as status reports lags);
// B, kB, MB, GB are bytes. A path that leads nowhere is null.
import { UsageError } from "../core/errors.js";

export type Value = string | number | boolean | null;
export type Scope = Record<string, unknown>;

type Node =
  | { kind: "or" | "and"; left: Node; right: Node }
  | { kind: "not"; operand: Node }
  | { kind: "compare"; op: "==" | "!=" | "<" | "<=" | ">" | ">="; left: Operand; right: Operand }
  | { kind: "truthy"; operand: Operand };

type Operand = { kind: "path"; path: string[] } | { kind: "literal"; value: Value };

export interface Expression {
  text: string;
  root: Node;
  /** Every path it reads, to show their values when it does not hold. */
  paths: string[][];
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, min: 60, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const TOKEN = /\s*(?:(\(|\)|==|!=|<=|>=|<|>)|('(?:[^']*)'|"(?:[^"]*)")|(-?\d+(?:\.\d+)?)([A-Za-z]+)?|([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*))/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new UsageError(`cannot read "${text}" at "${text.slice(at).trim()}"`);
    tokens.push(match[0].trim());
  }
  return tokens;
}

function literal(token: string): Operand {
  if (/^'.*'$|^".*"$/.test(token)) return { kind: "literal", value: token.slice(1, -1) };
  const number = /^(-?\d+(?:\.\d+)?)([A-Za-z]+)?$/.exec(token);
  if (number) {
    const unit = number[2]?.toLowerCase();
    if (unit !== undefined && !(unit in UNITS)) throw new UsageError(`"${token}": unknown unit ${number[2]} (use ms, s, min, B, kB, MB or GB)`);
    return { kind: "literal", value: Number(number[1]) * (unit ? UNITS[unit]! : 1) };
  }
  if (token === "null") return { kind: "literal", value: null };
  if (token === "true" || token === "false") return { kind: "literal", value: token === "true" };
  if (token.includes(".")) return { kind: "path", path: token.split(".") };
  return { kind: "literal", value: token };
}

export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const take = () => tokens[position++];
  const paths: string[][] = [];
  const operand = (): Operand => {
    const token = take();
    if (token === undefined || ["(", ")", "==", "!=", "<", "<=", ">", ">=", "and", "or", "not"].includes(token)) {
      throw new UsageError(`"${text}": expected a value or a path${token ? ` where "${token}" is` : " at the end"}`);
    }
    const parsed = literal(token);
    if (parsed.kind === "path") paths.push(parsed.path);
    return parsed;
  };
  const unary = (): Node => {
    if (peek() === "not") {
      take();
      return { kind: "not", operand: unary() };
    }
    if (peek() === "(") {
      take();
      const inner = or();
      if (take() !== ")") throw new UsageError(`"${text}": a "(" is not closed`);
      return inner;
    }
    const left = operand();
    const op = peek();
    if (op === "==" || op === "!=" || op === "<" || op === "<=" || op === ">" || op === ">=") {
      take();
      return { kind: "compare", op, left, right: operand() };
    }
    return { kind: "truthy", operand: left };
  };
  const and = (): Node => {
    let node = unary();
    while (peek() === "and") {
      take();
      node = { kind: "and", left: node, right: unary() };
    }
    return node;
  };
  const or = (): Node => {
    let node = and();
    while (peek() === "or") {
      take();
      node = { kind: "or", left: node, right: and() };
    }
    return node;
  };
  if (tokens.length === 0) throw new UsageError("an empty condition");
  const root = or();
  if (position < tokens.length) throw new UsageError(`"${text}": unexpected "${tokens[position]}"`);
  return { text, root, paths };
}

export function resolve(scope: Scope, path: string[]): Value {
  let value: unknown = scope;
  for (const key of path) {
    if (value === null || typeof value !== "object") return null;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined) return null;
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return value as Value;
}

function operandValue(scope: Scope, operand: Operand): Value {
  return operand.kind === "literal" ? operand.value : resolve(scope, operand.path);
}

function asNumber(value: Value): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

function compare(op: string, left: Value, right: Value): boolean {
  const [a, b] = [asNumber(left), asNumber(right)];
  if (op === "==" || op === "!=") {
    const equal = left === null || right === null ? left === right : a !== undefined && b !== undefined ? a === b : String(left) === String(right);
    return op === "==" ? equal : !equal;
  }
  if (a === undefined || b === undefined) return false;
  return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
}

function evaluateNode(scope: Scope, node: Node): boolean {
  switch (node.kind) {
    case "or":
      return evaluateNode(scope, node.left) || evaluateNode(scope, node.right);
    case "and":
      return evaluateNode(scope, node.left) && evaluateNode(scope, node.right);
    case "not":
      return !evaluateNode(scope, node.operand);
    case "compare":
      return compare(node.op, operandValue(scope, node.left), operandValue(scope, node.right));
    case "truthy": {
      const value = operandValue(scope, node.operand);
      return value !== null && value !== false && value !== 0 && value !== "";
    }
  }
}

export function evaluate(expression: Expression, scope: Scope): boolean {
  return evaluateNode(scope, expression.root);
}

/** "standby2.sync_state is potential, standby1.state is null": what the paths read, for a failure message. */
export function describeValues(expression: Expression, scope: Scope): string {
  return [...new Set(expression.paths.map((path) => path.join(".")))]
    .map((path) => `${path} is ${JSON.stringify(resolve(scope, path.split(".")))}`)
    .join(", ");
}
