// repl-lab sync set|off|commit: synchronous replication changed on the running primary.
import type { Command } from "commander";
import { SYNC_COMMIT_LEVELS } from "../../core/constants.js";
import type { SyncChange } from "../../operations/sync.js";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

type SyncFlags = LabFlags & JsonFlags;

async function runSync(change: SyncChange, flags: SyncFlags): Promise<void> {
  const [{ sync }, { syncView }] = await Promise.all([import("../../operations/sync.js"), import("../../views/results.js")]);
  await run(flags, (runtime) => sync(runtime, { lab: flags.lab, change }), { text: syncView });
}

export function registerSync(program: Command): void {
  const sync = program
    .command("sync")
    .description("change synchronous replication on the running primary (ALTER SYSTEM + reload, no restart)")
    .addHelpText("after", `
Examples:
  $ repl-lab sync set "FIRST 1 (standby1, standby2)"
  $ repl-lab sync off                       the manual fallback when a synchronous standby fails: synchronous_standby_names = ''
  $ repl-lab sync commit remote_apply

See https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION`);
  sync
    .command("set")
    .description("set synchronous_standby_names")
    .argument("<spec>", 'standby1 | "FIRST 1 (standby1, standby2)" | "ANY 2 (*)"')
    .addOption(labOption())
    .addOption(jsonOption())
    .action((spec: string, flags: SyncFlags) => runSync({ kind: "standbys", spec }, flags));
  sync
    .command("off")
    .description("synchronous_standby_names = '': waiting commits complete, replication becomes asynchronous")
    .addOption(labOption())
    .addOption(jsonOption())
    .action((flags: SyncFlags) => runSync({ kind: "standbys", spec: null }, flags));
  sync
    .command("commit")
    .description("set synchronous_commit")
    .argument("<level>", SYNC_COMMIT_LEVELS.join(" | "))
    .addOption(labOption())
    .addOption(jsonOption())
    .action((level: string, flags: SyncFlags) => runSync({ kind: "commit", level }, flags));
}
