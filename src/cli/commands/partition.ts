// repl-lab partition [<node>] [--groups …] [--one-way] [--isolate] and repl-lab heal [<node>].
import type { Command } from "commander";
import { jsonOption, labOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

interface PartitionFlags extends LabFlags, JsonFlags {
  groups?: string;
  oneWay?: boolean;
  isolate?: boolean;
}

export function registerPartition(program: Command): void {
  program
    .command("partition")
    .description("cut lab members off from each other by packet filter (clients and DNS still reach every node), or take one off the network")
    .argument("[node]", "cut this node (a PostgreSQL node or an etcd member) from every other member")
    .addOption(labOption())
    .option("--groups <groups>", 'split the lab into groups that cannot reach each other: "leader,etcd1 | standby1,standby2,etcd2,etcd3"; across engines "host:a | host:b,host:c" cuts machines apart')
    .option("--one-way", "with --groups: the first group cannot reach the second; the second still reaches the first")
    .option("--isolate", "take the node off the lab network instead: nothing reaches it, its clients and Docker's DNS included")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      [
        "",
        "A cut drops packets between members inside their own network namespaces (nftables, loaded by a",
        "short-lived helper container with NET_ADMIN; no node holds the capability). The host's clients",
        "still reach every node, so a client on each side can keep writing. `repl-lab heal` removes it.",
        "",
        "Examples:",
        "  $ repl-lab partition leader && repl-lab status",
        '  $ repl-lab partition --groups "leader,etcd1 | standby1,standby2,etcd2,etcd3"',
        '  $ repl-lab partition --groups "leader | standby1" --one-way',
        "  $ repl-lab partition --isolate standby1",
      ].join("\n"),
    )
    .action(async (node: string | undefined, flags: PartitionFlags) => {
      const [{ partition }, { partitionView }] = await Promise.all([import("../../operations/partition.js"), import("../../views/results.js")]);
      const options = { lab: flags.lab, node, groups: flags.groups, oneWay: flags.oneWay, isolate: flags.isolate };
      await run(flags, (runtime, { progress }) => partition(runtime, options, progress), { text: partitionView });
    });
}

export function registerHeal(program: Command): void {
  program
    .command("heal")
    .description("remove the cut in force and put isolated nodes back on the lab network")
    .argument("[node]", "only what concerns this node (the cut it is part of, or its isolation)")
    .addOption(labOption())
    .addOption(jsonOption())
    .addHelpText("after", "\nExamples:\n  $ repl-lab heal && repl-lab status\n  $ repl-lab heal standby1")
    .action(async (node: string | undefined, flags: LabFlags & JsonFlags) => {
      const [{ heal }, { partitionView }] = await Promise.all([import("../../operations/partition.js"), import("../../views/results.js")]);
      await run(flags, (runtime, { progress }) => heal(runtime, { lab: flags.lab, node }, progress), { text: partitionView });
    });
}
