// The one producer for a lab that changes over time: a snapshot of its status every interval and
// the events since the last one, as an async iterable. `status --watch`, `events`, the library's
// lab.events()/lab.watch() and the dashboard all consume it instead of polling on their own. It
// keeps a session per node between ticks rather than opening one per node per tick.
import { diffStatus, type LabEvent } from "../core/events.js";
import type { LabSecrets } from "../core/node-plan.js";
import { realClock, type Clock } from "../core/retry.js";
import type { LabStatus } from "../core/status.js";
import { readLab } from "./context.js";
import type { Runtime } from "./runtime.js";
import { SessionPool } from "./sessions.js";
import { readLabStatus } from "./status.js";

/** An event with the moment it was seen (ISO 8601). */
export type TimedLabEvent = { time: string } & LabEvent;

export interface LabTick {
  /** When this look was taken (ISO 8601). */
  time: string;
  status: LabStatus;
  /** What changed since the previous tick; on the first, every node and walsender as it is. */
  events: TimedLabEvent[];
  /** How long this look took (reading the containers and every node's views), ms. */
  read_ms: number;
}

export interface WatchOptions {
  /** How often to look (default 1 s). */
  intervalMs?: number;
  /** Bounds each node's answer (default 1 s). */
  timeoutMs?: number;
  /** Ends the iteration (Ctrl-C in the CLI). */
  signal?: AbortSignal;
  clock?: Clock;
}

export async function* watchLab(runtime: Runtime, lab: string, options: WatchOptions = {}): AsyncGenerator<LabTick, void, undefined> {
  const clock = options.clock ?? realClock;
  const intervalMs = options.intervalMs ?? 1000;
  const pool = new SessionPool(runtime.connect, options.timeoutMs ?? 1000);
  let known: { secrets: LabSecrets } | undefined;
  let previous: LabStatus | undefined;
  try {
    while (!options.signal?.aborted) {
      const started = clock.now();
      const context = await readLab(runtime, lab, known);
      known = { secrets: context.secrets };
      const status = await readLabStatus(context, { pool });
      const time = new Date(clock.now()).toISOString();
      const events = diffStatus(previous, status).map((event) => ({ time, ...event }));
      previous = status;
      if (options.signal?.aborted) return;
      yield { time, status, events, read_ms: Math.round(clock.now() - started) };
      await clock.sleep(Math.max(0, intervalMs - (clock.now() - started)), options.signal);
    }
  } finally {
    await pool.close();
  }
}

/** Only the events of watchLab(), one at a time. */
export async function* watchEvents(runtime: Runtime, lab: string, options: WatchOptions = {}): AsyncGenerator<TimedLabEvent, void, undefined> {
  for await (const tick of watchLab(runtime, lab, options)) yield* tick.events;
}
