// Durations as people write them ("500ms", "5s", "2min") and as the code keeps them (milliseconds).
import { UsageError } from "./errors.js";

/** Parses "500ms", "5s", "2min", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  const factor = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[unit] ?? 1000;
  return Math.round(value * factor);
}

/**
 * A positive duration given as text ("90s", from a flag or a lab file) or as milliseconds (from
 * the library); `what` names the flag or field in the usage error.
 */
export function durationMs(value: string | number, what: string): number {
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    throw new UsageError(`${what} ${String(value)}: expected a duration such as 90s, 2min or 500ms`);
  }
  return ms;
}
