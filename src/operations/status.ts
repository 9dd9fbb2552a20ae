// repl-lab status [--watch]: one look at the lab, or a look every interval until stopped.
import type { LabStatus } from "../core/status.js";
import { readLab } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";
import { readLabStatus } from "../lab/status.js";
import { watchLab, type LabTick } from "../lab/watch.js";

export async function status(runtime: Runtime, options: { lab: string }): Promise<LabStatus> {
  return readLabStatus(await readLab(runtime, options.lab));
}

export function watchStatus(runtime: Runtime, options: { lab: string; intervalMs: number; signal?: AbortSignal }): AsyncIterable<LabTick> {
  return watchLab(runtime, options.lab, { intervalMs: options.intervalMs, signal: options.signal, timeoutMs: 2000 });
}
