// repl-lab psql: an interactive psql inside a node's container.
import type { Command } from "commander";
import { labOption, NODE_ARGUMENT, type LabFlags } from "../options.js";
import { execute } from "../run.js";

export function registerPsql(program: Command): void {
  program
    .command("psql")
    .description("open an interactive psql on a node (inside its container)")
    .argument(...NODE_ARGUMENT)
    .argument("[psql-args...]", "extra arguments for psql, after --")
    .addOption(labOption())
    .action(async (node: string, args: string[], flags: LabFlags) => {
      const { psql } = await import("../../operations/psql.js");
      const stdio = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
      process.exitCode = await execute((runtime) => psql(runtime, { lab: flags.lab, node, args, stdio }));
    });
}
