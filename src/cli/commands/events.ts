// repl-lab events: a line per change, until Ctrl-C.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { loadRuntime, withInterrupt } from "../run.js";

/** A line (or a JSON object) per change until Ctrl-C; `status --watch --events` prints the same. */
export async function printEvents(lab: string, intervalMs: number, json: boolean | undefined): Promise<void> {
  const [runtime, { events }, { printJsonLine, printLine }, { eventLine }] = await Promise.all([
    loadRuntime(), import("../../operations/events.js"), import("../../views/terminal.js"), import("../../views/results.js"),
  ]);
  await withInterrupt(async (signal) => {
    for await (const event of events(runtime, { lab, intervalMs, signal })) {
      if (json) printJsonLine(event);
      else printLine(eventLine(event));
    }
  });
}

export function registerEvents(program: Command): void {
  program
    .command("events")
    .description("print a timestamped line per change in role, container state, timeline, walsender state or sync_state")
    .addOption(labOption())
    .addOption(jsonOption("one JSON object per event"))
    .option("--interval <duration>", "how often to look", "250ms")
    .addHelpText("after", `
Example, in a second terminal while you break things:
  $ repl-lab events
  16:55:01.234  standby1  container running → exited
  16:55:01.234  standby1  walsender gone (on leader) (was streaming, sync)
  16:55:01.234  standby2  sync_state potential → sync (on leader)`)
    .action(async (flags: LabFlags & JsonFlags & { interval: string }) => {
      const { durationMs } = await import("../../core/duration.js");
      await printEvents(flags.lab, durationMs(flags.interval, "--interval"), flags.json);
    });
}
