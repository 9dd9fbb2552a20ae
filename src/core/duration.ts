// Durations as people write them ("500ms", "5s", "2min") and as the code keeps them (milliseconds).
import { UsageError } from "./errors.js";

/**
 * The longest duration anything in a lab waits, sleeps or repeats on: a day. (Node's timers take at
 * most 2^31-1 ms, about 24.8 days, and fire at once past that: a longer wait would not wait at all.)
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Parses "500ms", "5s", "2min", "1h" or a bare number of seconds into milliseconds; undefined past a day. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  const factor = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[unit] ?? 1000;
  const ms = Math.round(value * factor);
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : undefined;
}

const shown = (ms: number) => (ms >= 3_600_000 && ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * A duration given as text ("90s", from a flag or a file) or as milliseconds (from the library),
 * within bounds (by default more than 0 and at most a day); `what` names the flag or field in the
 * usage error.
 */
export function durationMs(value: string | number, what: string, bounds: { min?: number; max?: number } = {}): number {
  const { min = 1, max = MAX_DURATION_MS } = bounds;
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
    throw new UsageError(`${what} ${String(value)}: expected a duration from ${shown(min)} to ${shown(max)}, such as 90s, 2min or 500ms`);
  }
  return ms;
}
