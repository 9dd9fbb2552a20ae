// repl-lab delay <standby>: replay delay or link latency on demand.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerDelay(program: Command): void {
  program
    .command("delay")
    .description("make a follower lag on demand: replay delay (recovery_min_apply_delay) or latency on its replication link")
    .argument("<node>", "a standby")
    .addOption(labOption())
    .option("--apply <duration>", "replay each transaction no sooner than this after its commit on the primary")
    .option("--network <duration>", "one-way latency on its replication link, both directions (userspace; no netem needed)")
    .option("--clear", "remove both delays")
    .addOption(jsonOption())
    .addHelpText("after", `
Examples:
  $ repl-lab delay standby2 --apply 2s      then: repl-lab sql leader "INSERT …"; repl-lab status
  $ repl-lab delay standby1 --network 20ms  a commit waiting for standby1 now takes a 40 ms round trip
  $ repl-lab delay standby2 --clear`)
    .action(async (node: string, flags: LabFlags & JsonFlags & { apply?: string; network?: string; clear?: boolean }) => {
      const [{ delay }, { delayView }] = await Promise.all([import("../../operations/delay.js"), import("../../views/results.js")]);
      const change = { lab: flags.lab, node, apply: flags.apply, network: flags.network, clear: Boolean(flags.clear) };
      await run(flags, (runtime) => delay(runtime, change), { text: delayView });
    });
}
