// All waiting goes through here: retryUntil (and the helpers built on it) for a condition, sleep
// for a set time, both on a clock that tests can control and both ended early by an abort signal.
import { InterruptedError, LabError } from "./errors.js";

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

/** Resolves after `ms`, or at once when the signal aborts (the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  return clock.sleep(ms, signal);
}

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

class Deadline extends Error {}

/** Like retryUntil for a yes/no condition, but resolves false at the deadline instead of throwing. */
export async function pollUntil(attempt: () => Promise<boolean>, options: Omit<RetryOptions, "onTimeout">): Promise<boolean> {
  try {
    return await retryUntil(async () => ((await attempt()) ? true : undefined), { ...options, onTimeout: () => new Deadline() });
  } catch (error) {
    if (error instanceof Deadline) return false;
    throw error;
  }
}

/**
 * Looks until `look` gives a value (anything but undefined), every `intervalMs`, for at most
 * `timeoutMs`; a lab that never gets there is a LabError naming what did not happen (exit 1).
 */
export function waitUntil<T>(look: () => Promise<T | undefined>, timeoutMs: number, what: string, signal?: AbortSignal, intervalMs = 50): Promise<T> {
  return retryUntil(look, { timeoutMs, intervalMs, signal, onTimeout: () => new LabError(`${what} did not happen within ${timeoutMs / 1000} s`) });
}

class Held extends Error {}

/**
 * Checks that `holds` stays true for `forMs`, looking every `intervalMs`. Resolves undefined when it
 * held throughout, else the milliseconds after which it stopped holding.
 */
export async function holdFor(holds: () => Promise<boolean>, options: { forMs: number; intervalMs: number; signal?: AbortSignal; clock?: Clock }): Promise<number | undefined> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  try {
    return await retryUntil(async () => ((await holds()) ? undefined : clock.now() - started), {
      timeoutMs: options.forMs,
      intervalMs: options.intervalMs,
      signal: options.signal,
      clock,
      onTimeout: () => new Held(),
    });
  } catch (error) {
    if (error instanceof Held) return undefined;
    throw error;
  }
}
