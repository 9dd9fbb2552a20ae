// repl-lab status: nodes, pg_stat_replication and slots, once or refreshed.
import type { Command } from "commander";
import { nextTurn } from "../../core/schedule.js";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { loadRuntime, show, withInterrupt } from "../run.js";
import { printEvents } from "./events.js";

type StatusFlags = LabFlags & JsonFlags & { watch?: boolean; interval: string; events?: boolean };

/** `status --watch`: a redraw (or a JSON line) per look until Ctrl-C. */
async function printWatch(lab: string, intervalMs: number, json: boolean | undefined): Promise<void> {
  const [runtime, { watchStatus }, { colour, printJsonLine }, { watchScreen }] = await Promise.all([
    loadRuntime(), import("../../operations/status.js"), import("../../views/terminal.js"), import("../../views/results.js"),
  ]);
  const clearScreen = process.stdout.isTTY && !json;
  await withInterrupt(async (signal) => {
    for await (const tick of watchStatus(runtime, { lab, intervalMs, signal })) {
      if (json) printJsonLine({ time: tick.time, ...tick.status });
      else process.stdout.write(clearScreen ? `\x1b[H\x1b[2J${watchScreen(tick, colour, intervalMs)}\n` : `${watchScreen(tick, colour, intervalMs)}\n\n`);
    }
  });
}

async function printStatus(flags: StatusFlags): Promise<void> {
  const [runtime, { status }] = await Promise.all([loadRuntime(), import("../../operations/status.js")]);
  const result = status(runtime, { lab: flags.lab });
  result.catch(() => undefined); // awaited below, after the view has loaded while the lab answered
  const [, { renderStatus }] = await nextTurn().then(() => Promise.all([import("../../views/terminal.js"), import("../../views/status.js")]));
  await show(await result, flags, { text: renderStatus });
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("nodes, the primary's pg_stat_replication and pg_replication_slots")
    .addOption(labOption())
    .addOption(jsonOption("print { nodes, replication, slots } as JSON (one object per line with --watch)"))
    .option("-w, --watch", "refresh every second until Ctrl-C")
    .option("--interval <duration>", "refresh interval for --watch", "1s")
    .option("--events", "with --watch: print a timestamped line per change instead of redrawing (same as `repl-lab events`)")
    .addHelpText("after", `
Examples:
  $ repl-lab status
  $ repl-lab status --watch
  $ repl-lab status --json | jq '.replication[] | {application_name, sync_state, replay_lag_bytes}'`)
    .action(async (flags: StatusFlags) => {
      const { durationMs } = await import("../../core/duration.js");
      const intervalMs = durationMs(flags.interval, "--interval");
      if (flags.events && !flags.watch) {
        const { UsageError } = await import("../../core/errors.js");
        throw new UsageError("--events goes with --watch");
      }
      if (flags.events) return printEvents(flags.lab, intervalMs, flags.json);
      if (flags.watch) return printWatch(flags.lab, intervalMs, flags.json);
      return printStatus(flags);
    });
}
