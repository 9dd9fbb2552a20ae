// repl-lab status [--watch] [--json]
import type { DockerEngine } from "../docker.js";
import { requireLab } from "../lab.js";
import { readLabStatus, type LabStatus } from "../lab-status.js";
import { colour, printJson, printLine } from "../output.js";
import { realClock } from "../retry.js";
import { renderStatus } from "../status-view.js";

export interface StatusOptions {
  lab: string;
  json: boolean;
  watch: boolean;
  intervalMs: number;
  signal?: AbortSignal;
}

export async function status(engine: DockerEngine, options: StatusOptions): Promise<LabStatus> {
  await engine.ping();
  if (!options.watch) {
    const current = await readLabStatus(engine, await requireLab(engine, options.lab));
    if (options.json) printJson(current);
    else printLine(renderStatus(current, colour));
    return current;
  }
  let current: LabStatus | undefined;
  const clearScreen = process.stdout.isTTY && !options.json;
  while (!options.signal?.aborted) {
    const started = Date.now();
    current = await readLabStatus(engine, await requireLab(engine, options.lab));
    if (options.json) {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...current }) + "\n");
    } else {
      const screen = `${renderStatus(current, colour)}\n${colour.dim(`${new Date().toLocaleTimeString()} · every ${options.intervalMs / 1000} s · Ctrl-C to stop`)}`;
      process.stdout.write(clearScreen ? `\x1b[H\x1b[2J${screen}\n` : `${screen}\n\n`);
    }
    await realClock.sleep(Math.max(0, options.intervalMs - (Date.now() - started)), options.signal);
  }
  return current!;
}
