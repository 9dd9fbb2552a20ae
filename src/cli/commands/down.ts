// repl-lab down: remove a lab.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerDown(program: Command): void {
  program
    .command("down")
    .description("remove the lab's containers, network and volumes")
    .addOption(labOption())
    .option("--keep-volumes", "keep the data volumes")
    .addOption(jsonOption("print what was removed as JSON"))
    .action(async (flags: LabFlags & JsonFlags & { keepVolumes?: boolean }) => {
      const [{ down }, { downView }] = await Promise.all([import("../../operations/down.js"), import("../../views/results.js")]);
      const keepVolumes = Boolean(flags.keepVolumes);
      await run(flags, (runtime) => down(runtime, { lab: flags.lab, keepVolumes }), { text: (removed) => downView(removed, keepVolumes) });
    });
}
