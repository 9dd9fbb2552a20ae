// All polling goes through retryUntil, with a clock that tests can control.
import { InterruptedError } from "./errors.js";

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError("interrupted");
}

export interface RetryOptions {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** Builds the error thrown at the deadline: say what was awaited and what was last seen. */
  onTimeout: () => Error | Promise<Error>;
}

/**
 * Calls `attempt` until it returns something other than undefined, or the deadline passes.
 * An error thrown by `attempt` ends the wait at once: it means waiting longer cannot help.
 */
export async function retryUntil<T>(attempt: () => Promise<T | undefined>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    throwIfInterrupted(options.signal);
    const result = await attempt();
    if (result !== undefined) return result;
    if (clock.now() >= deadline) throw await options.onTimeout();
    await clock.sleep(Math.min(options.intervalMs, Math.max(0, deadline - clock.now())), options.signal);
  }
}

/** Parses "500ms", "5s", "2min", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  const factor = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[unit] ?? 1000;
  return Math.round(value * factor);
}
