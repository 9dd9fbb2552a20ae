// repl-lab logs: a node's server log.
import type { Command } from "commander";
import { labOption, NODE_ARGUMENT, type LabFlags } from "../options.js";
import { execute } from "../run.js";

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("print a node's server log")
    .argument(...NODE_ARGUMENT)
    .addOption(labOption())
    .option("--follow", "keep printing new lines")
    .option("--tail <n>", "only the last n lines", "all")
    .action(async (node: string, flags: LabFlags & { follow?: boolean; tail: string }) => {
      if (flags.tail !== "all" && !/^\d+$/.test(flags.tail)) {
        const { UsageError } = await import("../../core/errors.js");
        throw new UsageError(`--tail ${flags.tail}: expected a number of lines or "all"`);
      }
      const tail = flags.tail === "all" ? "all" : Number(flags.tail);
      const { logs } = await import("../../operations/logs.js");
      const chunks = await execute((runtime) => logs(runtime, { lab: flags.lab, node, follow: Boolean(flags.follow), tail }));
      for await (const chunk of chunks) process.stdout.write(chunk);
    });
}
