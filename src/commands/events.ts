// repl-lab events (and status --watch --events): a timestamped line per change, until Ctrl-C.
import type { DockerEngine } from "../docker.js";
import { describeEvent, diffStatus } from "../events.js";
import { requireLab } from "../lab.js";
import { readLabStatus, type LabStatus } from "../lab-status.js";
import { printLine } from "../output.js";
import { realClock } from "../retry.js";

export async function events(engine: DockerEngine, options: { lab: string; json: boolean; intervalMs: number; signal?: AbortSignal }): Promise<void> {
  await engine.ping();
  let previous: LabStatus | undefined;
  while (!options.signal?.aborted) {
    const started = Date.now();
    const current = await readLabStatus(engine, await requireLab(engine, options.lab), { timeoutMs: 1000 });
    const time = new Date();
    for (const event of diffStatus(previous, current)) {
      if (options.json) process.stdout.write(JSON.stringify({ time: time.toISOString(), ...event }) + "\n");
      else printLine(`${time.toISOString().slice(11, 23)}  ${describeEvent(event)}`);
    }
    previous = current;
    await realClock.sleep(Math.max(0, options.intervalMs - (Date.now() - started)), options.signal);
  }
}
