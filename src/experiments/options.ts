// An experiment's options, each declared once: its flag and help (with the default shown), how a
// value is read (a flag's string, or the library's number or array), its bounds, and its default.
// One parser turns the options given into the experiment's config, keyed in snake_case with the
// unit (applyDelay → apply_delay_ms); a bad value is a UsageError naming the flag, before any lab exists.
import { parseDuration } from "../core/duration.js";
import { UsageError } from "../core/errors.js";
import { parseSize } from "../core/size.js";

export type RawOptions = Record<string, unknown>;

type Snake<Text extends string> = Text extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${Snake<Tail>}`
  : Text;
/** The config's key for an option: snake_case, with the unit. */
type ConfigKey<Key extends string, Unit extends string = ""> = `${Snake<Key>}${Unit}`;

export interface OptionDeclaration<Field extends string = string, Value = unknown> {
  /** The library's name (camelCase); the flag is its kebab-case. */
  key: string;
  configKey: Field;
  /** commander's flag syntax, e.g. "--apply-delay <d>". */
  flags: string;
  /** The help line, with the default. */
  description: string;
  /** A given value (never undefined) into the config's; a UsageError when it is out of bounds. */
  read(given: unknown): Value;
  /** The config's value when the option is not given; it may follow the options declared before it. */
  fallback(config: RawOptions): Value;
}

/** The config an experiment's declarations give. */
export type ConfigOf<Options extends readonly OptionDeclaration[]> = {
  [Option in Options[number] as Option["configKey"]]: Option extends OptionDeclaration<string, infer Value> ? Value : never;
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const snake = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const flagOf = (key: string) => `--${kebab(key)}`;

function declareOption<const Key extends string, Unit extends string, Value>(
  key: Key,
  unit: Unit,
  shape: { placeholder?: string; help: string; defaultText?: string; read(given: unknown): Value; fallback(config: RawOptions): Value },
): OptionDeclaration<ConfigKey<Key, Unit>, Value> {
  return {
    key,
    configKey: `${snake(key)}${unit}` as ConfigKey<Key, Unit>,
    flags: shape.placeholder ? `${flagOf(key)} ${shape.placeholder}` : flagOf(key),
    description: shape.defaultText === undefined ? shape.help : `${shape.help} (default ${shape.defaultText})`,
    read: shape.read,
    fallback: shape.fallback,
  };
}

/** Items of a comma-separated string or of an array, trimmed, blanks left out. */
function items(given: unknown): string[] {
  return (Array.isArray(given) ? given.map(String) : String(given).split(",")).map((item) => item.trim()).filter((item) => item !== "");
}

function bound(text: string, parse: (text: string) => number | undefined): number {
  const value = parse(text);
  if (value === undefined) throw new Error(`not a bound: ${text}`);
  return value;
}

interface Bounds {
  min: string;
  max: string;
  help: string;
}

function durationReader(key: string, bounds: Bounds): (given: unknown) => number {
  const [min, max] = [bound(bounds.min, parseDuration), bound(bounds.max, parseDuration)];
  return (given) => {
    const ms = typeof given === "number" ? given : parseDuration(String(given).trim());
    if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
      throw new UsageError(`${flagOf(key)} ${String(given)}: expected a duration from ${bounds.min} to ${bounds.max}, such as 200ms or 2s`);
    }
    return ms;
  };
}

/** A duration in ms ("200ms", "2s", or a number of ms); without a default, null when not given. */
export function duration<const Key extends string>(key: Key, spec: Bounds & { default: string }): OptionDeclaration<ConfigKey<Key, "_ms">, number>;
export function duration<const Key extends string>(key: Key, spec: Bounds): OptionDeclaration<ConfigKey<Key, "_ms">, number | null>;
export function duration<const Key extends string>(key: Key, spec: Bounds & { default?: string }): OptionDeclaration<ConfigKey<Key, "_ms">, number | null> {
  const read = durationReader(key, spec);
  const fallback = spec.default === undefined ? null : read(spec.default);
  return declareOption(key, "_ms", { placeholder: "<d>", help: spec.help, defaultText: spec.default, read, fallback: () => fallback });
}

/** A comma-separated list (or an array) of durations, in ms. */
export function durations<const Key extends string>(key: Key, spec: Bounds & { default: string[] }): OptionDeclaration<ConfigKey<Key, "_ms">, number[]> {
  const one = durationReader(key, spec);
  const read = (given: unknown) => {
    const list = Array.isArray(given) ? given.map((item) => (typeof item === "number" ? item : String(item).trim())) : items(given);
    if (list.length === 0) throw new UsageError(`${flagOf(key)} ${String(given)}: expected a comma-separated list of durations, such as 5s,10s`);
    return list.map(one);
  };
  const fallback = read(spec.default);
  return declareOption(key, "_ms", { placeholder: "<list>", help: spec.help, defaultText: spec.default.join(","), read, fallback: () => [...fallback] });
}

/** A whole number within bounds. */
export function count<const Key extends string>(key: Key, spec: { default: number; min: number; max: number; help: string }): OptionDeclaration<ConfigKey<Key>, number> {
  const read = (given: unknown) => {
    const number = typeof given === "number" ? given : /^\s*\d+\s*$/.test(String(given)) ? Number(given) : Number.NaN;
    if (!Number.isInteger(number) || number < spec.min || number > spec.max) {
      throw new UsageError(`${flagOf(key)} ${String(given)}: expected a whole number from ${spec.min} to ${spec.max}`);
    }
    return number;
  };
  return declareOption(key, "", { placeholder: "<n>", help: spec.help, defaultText: String(spec.default), read, fallback: () => spec.default });
}

/** A default computed from the options declared before it, and how the help says so. */
export interface Derived<Value> {
  text: string;
  from(config: RawOptions): Value;
}

/** A size in bytes: "300MB", "1GB", or a number of bytes. */
export function size<const Key extends string>(key: Key, spec: Bounds & { default: string | Derived<number> }): OptionDeclaration<ConfigKey<Key, "_bytes">, number> {
  const [min, max] = [bound(spec.min, parseSize), bound(spec.max, parseSize)];
  const read = (given: unknown) => {
    const bytes = parseSize(typeof given === "number" ? given : String(given).trim());
    if (bytes === undefined || bytes < min || bytes > max) {
      throw new UsageError(`${flagOf(key)} ${String(given)}: expected a size from ${spec.min} to ${spec.max}, such as 300MB`);
    }
    return bytes;
  };
  const derived = typeof spec.default === "string" ? { text: spec.default, from: () => read(spec.default) } : spec.default;
  return declareOption(key, "_bytes", { placeholder: "<size>", help: spec.help, defaultText: derived.text, read, fallback: derived.from });
}

const RATE = /^(\d+(?:\.\d+)?)\s*(kB|MB)\/s$/i;

function parseRate(text: string): number | undefined {
  const match = RATE.exec(text.trim());
  return match ? Math.round(Number(match[1]) * (match[2]!.toLowerCase() === "mb" ? 1024 * 1024 : 1024)) : undefined;
}

/** A comma-separated list (or an array) of rates such as 512kB/s or 2MB/s, in bytes per second. */
export function rates<const Key extends string>(key: Key, spec: Bounds & { default: string[] }): OptionDeclaration<ConfigKey<Key, "_bytes_per_s">, number[]> {
  const [min, max] = [bound(spec.min, parseRate), bound(spec.max, parseRate)];
  const read = (given: unknown) => {
    const list = items(given).map(parseRate);
    if (list.length === 0 || list.some((rate) => rate === undefined || rate < min || rate > max)) {
      throw new UsageError(`${flagOf(key)} ${String(given)}: expected rates such as 1MB/s,2MB/s (${spec.min} to ${spec.max})`);
    }
    return list as number[];
  };
  const fallback = read(spec.default);
  return declareOption(key, "_bytes_per_s", { placeholder: "<list>", help: spec.help, defaultText: spec.default.join(","), read, fallback: () => [...fallback] });
}

/** A comma-separated list (or an array) of some of `choices`, in the order given, without repeats; by default all of them. */
export function list<const Key extends string, const Choice extends string>(
  key: Key,
  choices: readonly Choice[],
  spec: { default?: readonly Choice[]; help: string },
): OptionDeclaration<ConfigKey<Key>, Choice[]> {
  const chosen = spec.default ?? choices;
  const all = chosen.length === choices.length;
  const read = (given: unknown) => {
    const list = items(given);
    if (list.length === 0 || list.some((item) => !(choices as readonly string[]).includes(item))) {
      throw new UsageError(`${flagOf(key)} ${String(given)}: expected a comma-separated list of ${choices.join(", ")}`);
    }
    return [...new Set(list)] as Choice[];
  };
  const defaultText = all ? (choices.length === 2 ? "both" : "all") : chosen.join(",");
  return declareOption(key, "", { placeholder: "<list>", help: spec.help, defaultText, read, fallback: () => [...chosen] });
}

/** Text that may not be blank. */
/** Free text; with no default, undefined unless given (the experiment derives one). */
export function text<const Key extends string>(key: Key, spec: { default: string; placeholder: string; help: string }): OptionDeclaration<ConfigKey<Key>, string>;
export function text<const Key extends string>(key: Key, spec: { placeholder: string; help: string }): OptionDeclaration<ConfigKey<Key>, string | undefined>;
export function text<const Key extends string>(key: Key, spec: { default?: string; placeholder: string; help: string }): OptionDeclaration<ConfigKey<Key>, string | undefined> {
  const read = (given: unknown) => {
    if (String(given).trim() === "") throw new UsageError(`${flagOf(key)}: expected ${spec.help}, not an empty value`);
    return String(given);
  };
  const defaultText = spec.default === undefined ? undefined : JSON.stringify(spec.default);
  return declareOption(key, "", { placeholder: spec.placeholder, help: spec.help, defaultText, read, fallback: () => spec.default });
}

/** On or off; off unless given. */
export function flag<const Key extends string>(key: Key, spec: { help: string }): OptionDeclaration<ConfigKey<Key>, boolean> {
  const read = (given: unknown) => {
    if (given === true || given === "true") return true;
    if (given === false || given === "false") return false;
    throw new UsageError(`${flagOf(key)} ${String(given)}: expected true or false`);
  };
  return declareOption(key, "", { help: spec.help, read, fallback: () => false });
}

/**
 * The config from the options given (flags' strings or the library's values): each declared option
 * read or defaulted, in declaration order; an option that is not declared is refused (a typo in a
 * library call, say).
 */
export function parseOptions<const Options extends readonly OptionDeclaration[]>(declarations: Options, raw: RawOptions): ConfigOf<Options> {
  const isGiven = (key: string) => raw[key] !== undefined && raw[key] !== null && raw[key] !== "";
  const unknown = Object.keys(raw).filter((key) => raw[key] !== undefined && !declarations.some((option) => option.key === key));
  if (unknown.length > 0) throw new UsageError(`unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map(flagOf).join(", ")}`);
  const config: RawOptions = {};
  for (const option of declarations) config[option.configKey] = isGiven(option.key) ? option.read(raw[option.key]) : option.fallback(config);
  return config as ConfigOf<Options>;
}
