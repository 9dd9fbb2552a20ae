// repl-lab rejoin <node>: a former primary back as a follower.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerRejoin(program: Command): void {
  program
    .command("rejoin")
    .description("bring a former primary (or any diverged node) back as a follower, with pg_rewind or a fresh base backup")
    .argument("<node>", "the node to bring back")
    .addOption(labOption())
    .option("--reclone", "use a fresh base backup instead of pg_rewind")
    .addOption(jsonOption())
    .action(async (node: string, flags: LabFlags & JsonFlags & { reclone?: boolean }) => {
      const [{ rejoin }, { rejoinView }] = await Promise.all([import("../../operations/rejoin.js"), import("../../views/results.js")]);
      const options = { lab: flags.lab, node, reclone: Boolean(flags.reclone) };
      await run(flags, (runtime, { signal, progress }) => rejoin(runtime, { ...options, signal }, progress), { text: rejoinView }, { finish: "rejoin" });
    });
}
