// repl-lab promote <standby>: failover by hand.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerPromote(program: Command): void {
  program
    .command("promote")
    .description("promote a standby (pg_promote) and make the other standbys follow it")
    .argument("<node>", "a standby")
    .addOption(labOption())
    .addOption(jsonOption())
    .addHelpText("after", `
Example (failover):
  $ repl-lab kill leader && repl-lab promote standby1 && repl-lab status`)
    .action(async (node: string, flags: LabFlags & JsonFlags) => {
      const [{ promote }, { promoteView }] = await Promise.all([import("../../operations/promote.js"), import("../../views/results.js")]);
      await run(flags, (runtime, { signal, progress }) => promote(runtime, { lab: flags.lab, node, signal }, progress), { text: promoteView }, { finish: "promote" });
    });
}
