// repl-lab events (and status --watch --events): one event per change, until stopped.
import type { Runtime } from "../lab/runtime.js";
import { watchEvents, type TimedLabEvent } from "../lab/watch.js";

export function events(runtime: Runtime, options: { lab: string; intervalMs: number; signal?: AbortSignal }): AsyncIterable<TimedLabEvent> {
  return watchEvents(runtime, options.lab, { intervalMs: options.intervalMs, signal: options.signal });
}
