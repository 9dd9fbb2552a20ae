// The root program and a table of its commands, each registered by its own file in commands/.
import { Command } from "commander";
import { FAULT_ACTIONS } from "../core/constants.js";
import { readPackageFile } from "../core/package-files.js";
import { registerCheck } from "./commands/check.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDelay } from "./commands/delay.js";
import { registerDown } from "./commands/down.js";
import { registerEnv } from "./commands/env.js";
import { registerEvents } from "./commands/events.js";
import { registerExperiment } from "./commands/experiment.js";
import { registerFault } from "./commands/faults.js";
import { registerHost } from "./commands/host.js";
import { registerImage } from "./commands/image.js";
import { registerLogs } from "./commands/logs.js";
import { registerLs } from "./commands/ls.js";
import { registerHeal, registerPartition } from "./commands/partition.js";
import { registerPromote } from "./commands/promote.js";
import { registerPsql } from "./commands/psql.js";
import { registerRejoin } from "./commands/rejoin.js";
import { registerRender } from "./commands/render.js";
import { registerScenario } from "./commands/scenario.js";
import { registerSql } from "./commands/sql.js";
import { registerStatus } from "./commands/status.js";
import { registerSwitchover } from "./commands/switchover.js";
import { registerSync } from "./commands/sync.js";
import { registerUp } from "./commands/up.js";

const VERSION = (JSON.parse(readPackageFile("package.json")) as { version: string }).version;

/** Every command by name, in the order the program's help lists them. */
const COMMANDS: [string, (program: Command) => void][] = [
  ["up", registerUp],
  ["status", registerStatus],
  ["down", registerDown],
  ["ls", registerLs],
  ["env", registerEnv],
  ["sql", registerSql],
  ["psql", registerPsql],
  ["logs", registerLogs],
  ...FAULT_ACTIONS.map((action): [string, (program: Command) => void] => [action, (program) => registerFault(program, action)]),
  ["partition", registerPartition],
  ["heal", registerHeal],
  ["delay", registerDelay],
  ["sync", registerSync],
  ["promote", registerPromote],
  ["rejoin", registerRejoin],
  ["switchover", registerSwitchover],
  ["events", registerEvents],
  ["host", registerHost],
  ["dashboard", registerDashboard],
  ["render", registerRender],
  ["check", registerCheck],
  ["scenario", registerScenario],
  ["experiment", registerExperiment],
  ["image", registerImage],
];

function rootProgram(): Command {
  return new Command("repl-lab")
    .description("PostgreSQL replication labs out of real Docker containers: leaders, followers, lag, sync states and failover you can see.")
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText(
      "after",
      `
Examples:
  $ repl-lab up --followers 2 --sync standby1     leader + 2 followers, standby1 synchronous
  $ repl-lab status                               nodes, pg_stat_replication, slots
  $ repl-lab sql leader "CREATE TABLE t (id int)"
  $ repl-lab env                                  connection URLs as shell exports
  $ repl-lab kill standby1                        SIGKILL a follower; watch with repl-lab events
  $ repl-lab kill leader && repl-lab promote standby1 && repl-lab rejoin leader
  $ repl-lab down                                 remove the lab

Exit codes: 0 ok, 1 lab error, 2 usage error, 3 Docker engine unreachable, 70 internal error, 130 interrupted.
Set NO_COLOR to turn colour off, DEBUG=1 to log every Docker call and query.`,
    );
}

/**
 * The program, with every command, or with only `only` when that names one: building every
 * command's options and help text was 7 ms of each start, and a run needs one command. A name that
 * is no command (a typo, `help`) gets the whole program, whose error suggests the nearest name.
 */
export function buildProgram(only?: string): Command {
  const program = rootProgram();
  const named = COMMANDS.find(([name]) => name === only);
  for (const [, register] of named ? [named] : COMMANDS) register(program);
  return program;
}
