// repl-lab switchover <standby>: a planned change of primary.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerSwitchover(program: Command): void {
  program
    .command("switchover")
    .description("planned change of primary with no acknowledged write lost: clean stop, promote, old primary follows")
    .argument("<node>", "the standby to make primary")
    .addOption(labOption())
    .addOption(jsonOption())
    .action(async (node: string, flags: LabFlags & JsonFlags) => {
      const [{ switchover }, { switchoverView }] = await Promise.all([import("../../operations/switchover.js"), import("../../views/results.js")]);
      await run(flags, (runtime, { signal, progress }) => switchover(runtime, { lab: flags.lab, node, signal }, progress), { text: switchoverView }, { finish: "switchover" });
    });
}
