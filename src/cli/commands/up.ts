// repl-lab up: create a lab and wait until it streams as asked.
import type { Command } from "commander";
import { defaultLabName } from "../../core/constants.js";
import { addTopologyOptions, jsonOption, quietOption, type JsonFlags, type TopologyFlags } from "../options.js";
import { run } from "../run.js";

type UpFlags = TopologyFlags & JsonFlags & { waitTimeout: string; quiet?: boolean };

export function registerUp(program: Command): void {
  addTopologyOptions(program.command("up"))
    .description("create a lab and wait until every follower is streaming with the expected sync_state")
    .option("--wait-timeout <duration>", "give up (and remove the lab) after this long", "120s")
    .addOption(jsonOption())
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
Examples:
  $ repl-lab up --followers 2 --sync standby1
  $ repl-lab up --lab quorum -n 3 --sync "ANY 2 (standby1, standby2, standby3)" --sync-commit remote_apply
  $ repl-lab up -n 2 --sync "FIRST 1 (standby1, standby2)" --wal-sender-timeout 5s -c max_connections=50
  $ repl-lab up --file lab.yaml --json
  $ repl-lab up --ha -n 2 --sync standby1         Patroni + etcd: kill leader and a follower takes over by itself
  $ repl-lab up --ha --manager pg_auto_failover -n 2 --proxy
                                                 pg_auto_failover's monitor decides; WRITER_URL follows the leader`,
    )
    .action(async (flags: UpFlags) => {
      const [{ topologyFrom }, { durationMs }, { up }, { upView }] = await Promise.all([
        import("../topology.js"), import("../../core/duration.js"), import("../../operations/up.js"), import("../../views/results.js"),
      ]);
      const topology = topologyFrom(flags);
      const waitTimeoutMs = durationMs(flags.waitTimeout, "--wait-timeout");
      await run(flags, (runtime, { signal, progress }) => up(runtime, { topology, waitTimeoutMs, signal }, progress), { text: (result, colour) => upView(result, colour, defaultLabName()) }, "abort");
    });
}
