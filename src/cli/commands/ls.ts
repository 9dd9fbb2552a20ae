// repl-lab ls: the labs on this engine.
import type { Command } from "commander";
import { jsonOption, type JsonFlags } from "../options.js";
import { run } from "../run.js";

export function registerLs(program: Command): void {
  program
    .command("ls")
    .description("list the labs on this Docker engine")
    .addOption(jsonOption("print as JSON"))
    .action(async (flags: JsonFlags) => {
      const [{ ls }, { lsView }] = await Promise.all([import("../../operations/ls.js"), import("../../views/results.js")]);
      await run(flags, (runtime) => ls(runtime), { text: lsView });
    });
}
