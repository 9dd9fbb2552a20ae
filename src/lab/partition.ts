// Cuts by packet filter, on the engine: each member's rules are loaded into its own network
// namespace by a short-lived helper container that joins that namespace with NET_ADMIN for that
// moment only (as Pumba does for tc); no lab node holds the capability. The cut in force is kept in
// the labels of a marker container (never started), so it is part of the lab's state like the rest.
import type { ContainerEngine } from "../core/engine.js";
import { LabError } from "../core/errors.js";
import { helperLabels, LABEL, labLabels, names, PARTITION_NODE } from "../core/labels.js";
import { encodeMap, memberRules, nftScript, type PartitionMap } from "../core/partition.js";
import type { LabContext, LabNode } from "./context.js";
import { reread } from "./server.js";

/** The helper image: nftables on Debian (`repl-lab image build --netfilter`, or templates/netfilter/Dockerfile where a registry answers). */
export const NETFILTER_IMAGE = "repl-lab/netfilter:1";

const HELPER_TIMEOUT_MS = 30_000;

/** Every PostgreSQL node, etcd member and pg_auto_failover monitor of the lab, by name (the proxy is a client, on no side). */
export function labMembers(lab: LabContext): LabNode[] {
  return [...lab.nodes, ...lab.etcd, ...(lab.monitor ? [lab.monitor] : [])];
}

export async function requireNetfilterImage(engine: ContainerEngine): Promise<void> {
  if (await engine.inspectImage(NETFILTER_IMAGE)) return;
  throw new LabError(`no packet-filter helper image: ${NETFILTER_IMAGE} has not been built`, {
    hint: `build it with \`repl-lab image build --netfilter\` (about 30 s), or \`docker build -t ${NETFILTER_IMAGE} templates/netfilter\` where a registry answers; \`--isolate\` needs no image`,
  });
}

/** Loads one member's rules (none: removes the table) in its network namespace. */
async function loadRules(lab: LabContext, member: LabNode, script: string): Promise<void> {
  const result = await lab.runtime.engine.runToCompletion(
    {
      name: `${names.container(lab.name, PARTITION_NODE)}-nft-${member.name}-${Date.now().toString(36)}`,
      image: NETFILTER_IMAGE,
      entrypoint: ["sh", "-c", 'printf "%s" "$RULES" | nft -f -'],
      env: { RULES: script },
      labels: helperLabels(lab.name, HELPER_TIMEOUT_MS),
      networkOf: member.id,
      capAdd: ["NET_ADMIN"],
    },
    { timeoutMs: HELPER_TIMEOUT_MS },
  );
  if (result.exitCode !== 0) {
    throw new LabError(`could not load packet-filter rules in ${member.name}'s network namespace`, { details: [result.stderr.trim() || result.stdout.trim()] });
  }
}

/**
 * Loads the map's rules in every running member, by the members' current addresses (a restarted
 * container may have a new one, so every member's rules are rewritten, not only the restarted
 * one's). Members the map does not name, and every member when there is no map, lose the table.
 * Stopped members have no network namespace; they get theirs when they start (see reapply).
 */
export async function loadMap(lab: LabContext, map: PartitionMap | undefined): Promise<string[]> {
  const members = labMembers(lab);
  const address = new Map(members.map((member) => [member.name, member.address]));
  const rules = map ? memberRules(map) : new Map();
  const running = members.filter((member) => member.state === "running" || member.state === "paused");
  const toAddresses = (list: string[]) => list.map((name) => address.get(name)).filter((value): value is string => value !== undefined);
  await Promise.all(
    running.map((member) => {
      const own = rules.get(member.name);
      return loadRules(lab, member, nftScript(own ? { dropFrom: toAddresses(own.dropFrom), dropTo: toAddresses(own.dropTo) } : undefined));
    }),
  );
  return running.map((member) => member.name);
}

/** Records the map as the lab's cut in force (replacing any), in a marker container's labels. */
export async function recordMap(lab: LabContext, map: PartitionMap): Promise<void> {
  const { engine } = lab.runtime;
  if (lab.partition) await engine.removeContainer(lab.partition.marker);
  await engine.createContainer({
    name: names.partitionMarker(lab.name),
    image: NETFILTER_IMAGE,
    entrypoint: ["true"],
    labels: { ...labLabels(lab.name), [LABEL.node]: PARTITION_NODE, [LABEL.partition]: encodeMap(map) },
  });
}

export async function forgetMap(lab: LabContext): Promise<void> {
  if (lab.partition) await lab.runtime.engine.removeContainer(lab.partition.marker);
}

/**
 * After a member's container starts again (start, restart, a rejoin's new container) its network
 * namespace is new and holds no rules, and it may have a new address: the cut in force is loaded
 * again in every member. Nothing when there is no cut.
 */
export async function reloadCut(lab: LabContext): Promise<void> {
  if (!lab.partition) return;
  const fresh = await reread(lab);
  if (fresh.partition) await loadMap(fresh, fresh.partition.map);
}

