// Experiment options as flags give them (strings) or the library does (numbers, arrays), validated
// into configs; a bad one is a UsageError that names it, before any lab exists.
import { parseDuration } from "../core/duration.js";
import { UsageError } from "../core/errors.js";
import { parseSize } from "../core/size.js";

export type RawOptions = Record<string, unknown>;

function given(raw: RawOptions, key: string): unknown {
  const value = raw[key];
  return value === undefined || value === null || value === "" ? undefined : value;
}

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** A duration in ms: "200ms", "2s", or a number of ms. */
export function durationOption(raw: RawOptions, key: string, fallback: number | undefined, bounds: { min?: number; max?: number } = {}): number | undefined {
  const value = given(raw, key);
  if (value === undefined) return fallback;
  const ms = typeof value === "number" ? value : parseDuration(String(value));
  const { min = 0, max = 3_600_000 } = bounds;
  if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
    throw new UsageError(`${flag(key)} ${String(value)}: expected a duration from ${min} ms to ${max / 1000} s, such as 200ms or 2s`);
  }
  return ms;
}

/** A whole number within bounds. */
export function countOption(raw: RawOptions, key: string, fallback: number, min: number, max: number): number {
  const value = given(raw, key);
  if (value === undefined) return fallback;
  const number = typeof value === "number" ? value : /^\s*\d+\s*$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`${flag(key)} ${String(value)}: expected a whole number from ${min} to ${max}`);
  return number;
}

/** A comma-separated list (or an array) of allowed values, in the order given, without repeats. */
export function listOption<T extends string>(raw: RawOptions, key: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const value = given(raw, key);
  if (value === undefined) return [...fallback];
  const items = (Array.isArray(value) ? value.map(String) : String(value).split(",")).map((item) => item.trim()).filter((item) => item !== "");
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (items.length === 0 || unknown.length > 0) {
    throw new UsageError(`${flag(key)} ${String(value)}: expected a comma-separated list of ${allowed.join(", ")}`);
  }
  return [...new Set(items)] as T[];
}

/** A comma-separated list (or an array) of durations, in ms. */
export function durationListOption(raw: RawOptions, key: string, fallback: number[], bounds: { min?: number; max?: number } = {}): number[] {
  const value = given(raw, key);
  if (value === undefined) return fallback;
  const items = Array.isArray(value) ? value : String(value).split(",");
  return items.map((item) => durationOption({ [key]: typeof item === "number" ? item : String(item).trim() }, key, undefined, bounds)!);
}

/** A size in bytes: "300MB", "64MB", "1GB", or a number of bytes. */
export function sizeOption(raw: RawOptions, key: string, fallback: number, bounds: { min: number; max: number }): number {
  const value = given(raw, key);
  if (value === undefined) return fallback;
  const bytes = parseSize(typeof value === "number" ? value : String(value));
  if (bytes === undefined || bytes < bounds.min || bytes > bounds.max) {
    throw new UsageError(`${flag(key)} ${String(value)}: expected a size from ${bounds.min / 1024 ** 2} MB to ${bounds.max / 1024 ** 3} GB, such as 300MB`);
  }
  return bytes;
}

/** Refuses options this experiment does not take (a typo in a library call, say). */
export function onlyOptions(raw: RawOptions, known: readonly string[]): void {
  const unknown = Object.keys(raw).filter((key) => raw[key] !== undefined && !known.includes(key));
  if (unknown.length > 0) throw new UsageError(`unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map(flag).join(", ")}`);
}
