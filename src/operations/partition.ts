// repl-lab partition [<node>] [--groups "a,b | c,d"] [--one-way] [--isolate] and repl-lab heal [<node>]:
// network partitions between lab members. By default a cut is made of packet filters in the members'
// own network namespaces (lab/partition.ts): the members of one group cannot reach those of another,
// while Docker's DNS and the host's clients still reach every node, so a client on each side can
// keep writing. --isolate takes one node off the lab network instead: nothing reaches it, its
// clients and name lookups included.
import { LabError, UsageError } from "../core/errors.js";
import { names } from "../core/labels.js";
import { describeMap, nodeAgainstTheRest, parseGroups, type PartitionMap } from "../core/partition.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { readLab, requireMember, type LabContext, type LabNode } from "../lab/context.js";
import { forgetMap, labMembers, loadMap, recordMap, requireNetfilterImage } from "../lab/partition.js";
import type { Runtime } from "../lab/runtime.js";
import { reread } from "../lab/server.js";

export interface PartitionOptions {
  lab: string;
  /** `partition <node>`: the node against every other member (or, with isolate, off the network). */
  node?: string;
  /** `--groups "leader,etcd1 | standby1,standby2"`. */
  groups?: string;
  /** The first group cannot reach the second; the second still reaches the first. */
  oneWay?: boolean;
  /** Take the node off the lab network (clients and DNS too) rather than filter packets. */
  isolate?: boolean;
}

export interface PartitionResult {
  lab: string;
  action: "partition" | "heal";
  /** The cut by packet filter in force afterwards; null when there is none. */
  partition: PartitionMap | null;
  /** Nodes off the lab network afterwards. */
  isolated: string[];
  /** Members whose packet filters were (re)written. */
  filtered: string[];
  message: string;
  elapsed_ms: number;
}

function result(lab: LabContext, action: PartitionResult["action"], filtered: string[], message: string, started: number): PartitionResult {
  return {
    lab: lab.name,
    action,
    partition: lab.partition?.map ?? null,
    isolated: labMembers(lab).filter((member) => member.isolated).map((member) => member.name),
    filtered,
    message,
    elapsed_ms: Date.now() - started,
  };
}

function requireAttachable(member: LabNode, action: string): void {
  if (member.state !== "running" && member.state !== "paused") {
    throw new LabError(`cannot ${action} ${member.name}: it is ${member.state}`, { hint: `start it with \`repl-lab start ${member.name}\`` });
  }
}

/** What a node cut off means, for the message: the etcd members decide what a minority can do in HA mode. */
function consequence(lab: LabContext, map: PartitionMap): string {
  if (map.one_way) return "";
  if (!lab.ha) return "; nobody fails over in a manual lab: a primary cut off keeps its role and accepts writes from the clients that still reach it";
  if (lab.monitor) {
    const withMonitor = map.groups.find((group) => group.includes(lab.monitor!.name));
    return withMonitor
      ? `; pg_auto_failover's monitor is on the side with ${withMonitor.filter((name) => name !== lab.monitor!.name).join(", ") || "nobody else"}: it can promote a standby there; a primary cut from the monitor and from every standby demotes itself once no standby has shown in pg_stat_replication for network_partition_timeout, and a walsender outlives a silent standby by wal_sender_timeout (the lab's 4 s; 30 s with --manager-defaults)`
      : "; the monitor is cut from everyone: nobody fails over, and a primary that reaches no standby either demotes itself once none has shown in pg_stat_replication for network_partition_timeout";
  }
  const majority = Math.floor(lab.etcd.length / 2) + 1;
  const withMajority = map.groups.find((group) => group.filter((name) => lab.etcd.some((member) => member.name === name)).length >= majority);
  return withMajority
    ? `; only the side with ${withMajority.join(", ")} holds an etcd majority: Patroni there can hold or take the leader lock, a leader elsewhere demotes itself when it cannot renew it (within ttl)`
    : "; no side holds an etcd majority: no leader lock can be renewed, so Patroni demotes the leader within ttl";
}

export async function partition(runtime: Runtime, options: PartitionOptions, progress: Progress = silentProgress): Promise<PartitionResult> {
  const started = Date.now();
  if (options.groups !== undefined && options.node !== undefined) {
    throw new UsageError("give a node or --groups, not both", { hint: 'repl-lab partition leader, or repl-lab partition --groups "leader | standby1,standby2"' });
  }
  if (options.groups === undefined && options.node === undefined) {
    throw new UsageError("partition needs a node or --groups", { hint: 'repl-lab partition leader, or repl-lab partition --groups "leader | standby1,standby2"' });
  }
  if (options.oneWay && options.groups === undefined) throw new UsageError("--one-way goes with --groups", { hint: 'repl-lab partition --groups "leader | standby1" --one-way' });
  if (options.isolate && options.node === undefined) throw new UsageError("--isolate takes one node", { hint: "repl-lab partition --isolate leader" });
  const lab = await readLab(runtime, options.lab);
  const members = labMembers(lab).map((member) => member.name);

  if (options.isolate) {
    const member = requireMember(lab, options.node!);
    requireAttachable(member, "isolate");
    if (member.isolated) throw new LabError(`cannot isolate ${member.name}: it is already off the lab network`, { hint: `heal it with \`repl-lab heal ${member.name}\`` });
    await runtime.engine.disconnectNetwork(names.network(lab.name), member.id);
    return result(
      await reread(lab),
      "partition",
      [],
      `${member.name} taken off the lab network: nothing reaches it and it reaches nothing, its clients and Docker's DNS included`,
      started,
    );
  }

  let groups: string[][];
  if (options.groups !== undefined) {
    // A lab across engines: host:<name> stands for its members on that host.
    const onHost: Record<string, string[]> = {};
    for (const host of lab.hosts?.hosts ?? []) onHost[host.name] = labMembers(lab).filter((member) => member.host?.name === host.name).map((member) => member.name);
    groups = parseGroups(options.groups, members, onHost);
  } else {
    groups = nodeAgainstTheRest(requireMember(lab, options.node!).name, members);
  }
  if (lab.partition) {
    throw new LabError(`lab ${lab.name} is already partitioned (${describeMap(lab.partition.map)})`, { hint: "heal it first with `repl-lab heal`" });
  }
  for (const name of groups.flat()) {
    const member = requireMember(lab, name);
    requireAttachable(member, "partition");
    if (member.isolated) throw new LabError(`cannot cut ${name} by packet filter: it is off the lab network`, { hint: `heal it first with \`repl-lab heal ${name}\`` });
  }
  await requireNetfilterImage(runtime.engine);
  const map: PartitionMap = { groups, one_way: options.oneWay === true };
  progress.step(`loading packet filters: ${describeMap(map)}`);
  // Recorded first: a command that dies halfway leaves a map that `heal` removes with its rules.
  await recordMap(lab, map);
  const filtered = await loadMap(lab, map);
  return result(await reread(lab), "partition", filtered, `cut by packet filter: ${describeMap(map)}${consequence(lab, map)}`, started);
}

export async function heal(runtime: Runtime, options: { lab: string; node?: string }, progress: Progress = silentProgress): Promise<PartitionResult> {
  const started = Date.now();
  const lab = await readLab(runtime, options.lab);
  const target = options.node === undefined ? undefined : requireMember(lab, options.node);
  const isolated = labMembers(lab).filter((member) => member.isolated && (target === undefined || member === target));
  const cut = lab.partition && (target === undefined || lab.partition.map.groups.flat().includes(target.name)) ? lab.partition : undefined;
  if (!cut && isolated.length === 0) {
    if (target) throw new LabError(`cannot heal ${target.name}: it is not partitioned`, { hint: "see `repl-lab status`" });
    throw new LabError(`lab ${lab.name} is not partitioned`, { hint: "see `repl-lab status`" });
  }
  const said: string[] = [];
  for (const member of isolated) {
    await runtime.engine.connectNetwork(names.network(lab.name), member.id, [member.name]);
    said.push(`${member.name} back on the lab network`);
  }
  let filtered: string[] = [];
  if (cut) {
    progress.step("removing packet filters");
    await requireNetfilterImage(runtime.engine);
    filtered = await loadMap(await reread(lab), undefined);
    await forgetMap(lab);
    said.push(`cut removed (${describeMap(cut.map)}): every member reaches every other`);
  }
  return result(await reread(lab), "heal", filtered, said.join("; "), started);
}
