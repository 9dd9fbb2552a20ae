// repl-lab env: connection URLs for shells, .env files and CI.
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerEnv(program: Command): void {
  program
    .command("env")
    .description("connection URL of each node, and PRIMARY_URL/STANDBY_URL that follow the roles, as shell export lines")
    .addOption(labOption())
    .addOption(jsonOption("print { node: url, primary: url, standby: url } as JSON"))
    .option("--dotenv", "NAME=value lines, for a .env file or GitHub Actions' $GITHUB_ENV")
    .addHelpText("after", `
Examples:
  $ eval "$(repl-lab env)" && psql "$STANDBY1_URL" -c 'SELECT pg_is_in_recovery()'
  $ psql "$PRIMARY_URL"         libpq finds the primary among all nodes (target_session_attrs=read-write)
  $ psql "$WRITER_URL"          with up --ha --proxy: HAProxy sends it to the leader (any client, node-postgres too)
  $ repl-lab env --dotenv >> "$GITHUB_ENV"
  $ repl-lab env --json`)
    .action(async (flags: LabFlags & JsonFlags & { dotenv?: boolean }) => {
      const [{ env }, { exportLines, dotenvLines }] = await Promise.all([import("../../operations/env.js"), import("../../views/results.js")]);
      await run(flags, (runtime) => env(runtime, { lab: flags.lab }), { text: flags.dotenv ? dotenvLines : exportLines });
    });
}
