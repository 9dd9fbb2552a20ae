// repl-lab sql: a query on a node.
import type { Command } from "commander";
import { jsonOption, labOption, NODE_ARGUMENT, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerSql(program: Command): void {
  program
    .command("sql")
    .description("run a query on a node and print the rows")
    .argument(...NODE_ARGUMENT)
    .argument("<query>", "SQL text")
    .addOption(labOption())
    .addOption(jsonOption("print the rows as JSON"))
    .addHelpText("after", `
Examples:
  $ repl-lab sql leader "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"
  $ repl-lab sql standby1 "SELECT * FROM t"`)
    .action(async (node: string, query: string, flags: LabFlags & JsonFlags) => {
      const [{ sql }, { sqlView }] = await Promise.all([import("../../operations/sql.js"), import("../../views/results.js")]);
      await run(flags, (runtime) => sql(runtime, { lab: flags.lab, node, query }), { text: sqlView, json: (result) => result.rows });
    });
}
