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
