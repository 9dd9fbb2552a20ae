// A lab as the engine knows it, read once: its containers, by their labels (nothing is read from a
// state file), how to reach each node's server, and the lab's secrets from a container's environment.
import type { ContainerDetails, ContainerState, ContainerSummary } from "../core/engine.js";
import { EngineUnreachableError, LabError } from "../core/errors.js";
import { decodeHosts, type LabHosts } from "../core/hosts.js";
import { hostsEngine, removeFrom } from "./hosts.js";
import { CHECK_NODE, checkLabName, ETCD_ROLE, HOSTS_ROLE, LABEL, labLabels, MONITOR_ROLE, names, PARTITION_NODE, PROXY_ROLE } from "../core/labels.js";
import type { HaManager } from "../core/topology.js";
import { decodeMap, type PartitionMap } from "../core/partition.js";
import { ENV, ETCD_CLIENT_PORT, LEADER, PATRONI_PORT, POSTGRES_PORT, PROXY_READER_PORT, PROXY_STATS_PORT, PROXY_WRITER_PORT } from "../core/constants.js";
import type { LabSecrets } from "../core/node-plan.js";
import type { Progress } from "../core/progress.js";
import type { Endpoint } from "../postgres.js";
import { cleanLeftovers, leftoversOf, type Leftover } from "./leftovers.js";
import type { Runtime } from "./runtime.js";

export interface LabNode {
  /** leader, standby1, … */
  name: string;
  id: string;
  container: string;
  /** The role the container was created with; the server may have changed since (promote). */
  roleLabel: string;
  state: ContainerState;
  /** The engine's own words, e.g. "Exited (137) 2 seconds ago". */
  status: string;
  /** The host port of its server: fixed at `up` (so it survives a restart), else what the engine published. */
  hostPort: number | undefined;
  /** Running but taken off the lab network (`partition --isolate`): nothing reaches it, not even clients. */
  isolated: boolean;
  /** Its address on the lab network, while it is on it. */
  address: string | undefined;
  /** HA mode: the host port of Patroni's REST API (a PostgreSQL node) or of etcd's client API (a member). */
  apiPort: number | undefined;
  /** A lab across engines: the host it runs on, and the address its ports are published at. */
  host: { name: string; address: string } | undefined;
}

export interface LabContext {
  runtime: Runtime;
  name: string;
  /** Leader first, then standby1, standby2, … standby10. */
  nodes: LabNode[];
  secrets: LabSecrets;
  /** The followers stream through replication slots. */
  slots: boolean;
  /** HA mode: a manager (Patroni or pg_auto_failover) runs the nodes and fails over by itself. */
  ha: boolean;
  manager: HaManager | undefined;
  /** Patroni: these etcd members (etcd1…etcd3) hold its leader lock. */
  etcd: LabNode[];
  /** pg_auto_failover: its monitor, a PostgreSQL server of its own (apiPort: its published port). */
  monitor: LabNode | undefined;
  /** HA mode with --proxy: the HAProxy container; its writer and reader ports on the host. */
  proxy: (LabNode & { writerPort: number | undefined; readerPort: number | undefined; statsPort: number | undefined }) | undefined;
  /** What a command that died left in the lab (see leftovers.ts). */
  leftovers: Leftover[];
  /** The cut by packet filter in force (`repl-lab partition`), and its marker container. */
  partition: { map: PartitionMap; marker: string } | undefined;
  /** A lab across engines: its hosts and their placement; undefined for a lab on one engine. */
  hosts: LabHosts | undefined;
}

/**
 * Orders leader before standbys and standby2 before standby10. (Not localeCompare with numeric:
 * building its ICU collator costs a short command like `status` some 10 ms.)
 */
function compareNodeNames(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "leader") return -1;
  if (b === "leader") return 1;
  const [, prefixA = a, numberA = ""] = /^(.*?)(\d*)$/.exec(a) ?? [];
  const [, prefixB = b, numberB = ""] = /^(.*?)(\d*)$/.exec(b) ?? [];
  if (prefixA !== prefixB) return prefixA < prefixB ? -1 : 1;
  return Number(numberA || -1) - Number(numberB || -1);
}

const publishedPort = (container: ContainerSummary, port: number) => container.ports.find((entry) => entry.containerPort === port)?.hostPort;

function labNode(lab: string, container: ContainerSummary): LabNode {
  const pinned = Number(container.labels[LABEL.hostPort]);
  const published = container.ports.find((port) => port.containerPort === POSTGRES_PORT)?.hostPort;
  const role = container.labels[LABEL.role];
  const apiContainerPort = role === ETCD_ROLE ? ETCD_CLIENT_PORT : role === MONITOR_ROLE ? POSTGRES_PORT : PATRONI_PORT;
  const apiPort = container.ports.find((port) => port.containerPort === apiContainerPort)?.hostPort;
  const attachable = container.state !== "exited" && container.state !== "created" && container.state !== "dead";
  return {
    name: container.labels[LABEL.node] ?? "",
    id: container.id,
    container: container.name,
    roleLabel: container.labels[LABEL.role] ?? "",
    state: container.state,
    status: container.status,
    hostPort: Number.isInteger(pinned) && pinned > 0 ? pinned : published,
    isolated: attachable && !container.networks.includes(names.network(lab)),
    address: container.addresses[names.network(lab)],
    apiPort,
    host: container.host,
  };
}

const isEtcd = (container: ContainerSummary) => container.labels[LABEL.role] === ETCD_ROLE;
/** Containers of the lab that are not PostgreSQL replication nodes: etcd members, the monitor, the proxy. */
const isAside = (container: ContainerSummary) => [ETCD_ROLE, MONITOR_ROLE, PROXY_ROLE].includes(container.labels[LABEL.role] ?? "");
const hasRole = (role: string) => (container: ContainerSummary) => container.labels[LABEL.role] === role;

/** The lab's containers, and of them each node's one (its helpers and leftovers set apart). */
async function labContainers(runtime: Runtime, lab: string): Promise<{ nodes: ContainerSummary[]; leftovers: Leftover[]; partition: LabContext["partition"] }> {
  checkLabName(lab);
  const containers = await runtime.engine.listContainers(labLabels(lab));
  const leftovers = leftoversOf(lab, containers);
  const marker = containers.find((container) => container.labels[LABEL.node] === PARTITION_NODE);
  const map = decodeMap(marker?.labels[LABEL.partition]);
  const partition = marker && map ? { map, marker: marker.id } : undefined;
  const members = containers.filter((container) => container.labels[LABEL.node] !== CHECK_NODE && container.labels[LABEL.node] !== PARTITION_NODE);
  // A node's container renamed aside carries the node's labels too: the one under the node's own
  // name is the node; an aside one stands in only while there is none (a rebuild that died midway).
  const nodes = members.filter((container) => {
    const node = container.labels[LABEL.node] ?? "";
    if (container.name === names.container(lab, node)) return true;
    return !members.some((other) => other !== container && other.labels[LABEL.node] === node && other.name === names.container(lab, node));
  });
  return { nodes, leftovers, partition };
}

async function nodeContainers(runtime: Runtime, lab: string): Promise<ContainerSummary[]> {
  return (await labContainers(runtime, lab)).nodes;
}

/** The lab's PostgreSQL node containers (not its one-off helpers nor etcd members), in node order; empty when there is no such lab. */
export async function listNodes(runtime: Runtime, lab: string): Promise<LabNode[]> {
  return (await nodeContainers(runtime, lab))
    .filter((container) => !isAside(container))
    .map((container) => labNode(lab, container))
    .sort((a, b) => compareNodeNames(a.name, b.name));
}

function noSuchLab(lab: string): LabError {
  return new LabError(`there is no lab named "${lab}" on this engine`, {
    hint: `start one with \`repl-lab up --lab ${lab}\`, or list labs with \`repl-lab ls\``,
  });
}

/**
 * Reads a lab that must exist. `secrets` may be handed in by a caller that already read them
 * (they never change for a lab), which saves the one inspect per read.
 */
export async function readLab(runtime: Runtime, lab: string, known?: { secrets: LabSecrets }): Promise<LabContext> {
  checkLabName(lab);
  // Every node's environment holds the secrets: the leader's is asked for by name beside the list,
  // not after it, which saved a round trip to the engine (a sixth of a `repl-lab status`).
  const leaderSecrets = known
    ? undefined
    : runtime.engine.inspectContainer(names.container(lab, LEADER)).then((leader) => (leader.spec.labels?.[LABEL.lab] === lab ? secretsOf(leader) : undefined), () => undefined);
  const { nodes: containers, leftovers, partition } = await labContainers(runtime, lab);
  const postgres = containers.filter((container) => !isAside(container));
  const first = postgres[0];
  if (!first) throw noSuchLab(lab);
  const secrets = known?.secrets ?? (await leaderSecrets) ?? secretsOf(await runtime.engine.inspectContainer(first.id));
  const managerLabel = first.labels[LABEL.ha];
  const manager: HaManager | undefined = managerLabel === "patroni" || managerLabel === "pg_auto_failover" ? managerLabel : undefined;
  const monitor = containers.find(hasRole(MONITOR_ROLE));
  const proxy = containers.find(hasRole(PROXY_ROLE));
  const sorted = (list: ContainerSummary[]) => list.map((container) => labNode(lab, container)).sort((a, b) => compareNodeNames(a.name, b.name));
  return {
    runtime,
    name: lab,
    nodes: sorted(postgres),
    secrets,
    slots: first.labels[LABEL.slots] !== "false",
    ha: manager !== undefined,
    manager,
    etcd: sorted(containers.filter(isEtcd)),
    monitor: monitor ? labNode(lab, monitor) : undefined,
    proxy: proxy ? { ...labNode(lab, proxy), writerPort: publishedPort(proxy, PROXY_WRITER_PORT), readerPort: publishedPort(proxy, PROXY_READER_PORT), statsPort: publishedPort(proxy, PROXY_STATS_PORT) } : undefined,
    leftovers,
    partition,
    // Read by the listing above: no further request.
    hosts: await hostsEngine(runtime)?.labHosts(lab, false),
  };
}

/**
 * Reads a lab that a command is about to change (rejoin, promote, switchover): what an interrupted
 * command left in it is cleaned up first, so the change does not trip over it.
 */
export async function readLabForChange(runtime: Runtime, lab: string, progress?: Progress): Promise<LabContext> {
  const context = await readLab(runtime, lab);
  if (context.leftovers.length === 0) return context;
  await cleanLeftovers(runtime, lab, progress);
  return readLab(runtime, lab, { secrets: context.secrets });
}

function secretsOf({ spec }: ContainerDetails): LabSecrets {
  return {
    superuserPassword: spec.env?.[ENV.superuserPassword] ?? "",
    replicationPassword: spec.env?.[ENV.replicationPassword] ?? "",
    patroniPassword: spec.env?.[ENV.patroniPassword] ?? "",
    etcdPassword: spec.env?.[ENV.etcdPassword] ?? "",
    monitorPassword: spec.env?.[ENV.monitorPassword] ?? "",
  };
}

export function requireNode(lab: LabContext, node: string): LabNode {
  const found = lab.nodes.find((candidate) => candidate.name === node);
  if (!found) {
    throw new LabError(`lab "${lab.name}" has no node "${node}"`, {
      hint: `its nodes are ${lab.nodes.map((candidate) => candidate.name).join(", ")}`,
    });
  }
  return found;
}

/** A PostgreSQL node or, in HA mode, an etcd member: what the fault commands act on. */
export function requireMember(lab: LabContext, name: string): LabNode {
  const aside = [...lab.etcd, ...(lab.monitor ? [lab.monitor] : []), ...(lab.proxy ? [lab.proxy] : [])];
  const member = aside.find((candidate) => candidate.name === name);
  if (member) return member;
  if (lab.ha && !lab.nodes.some((candidate) => candidate.name === name)) {
    throw new LabError(`lab "${lab.name}" has no node or member "${name}"`, {
      hint: `its nodes are ${lab.nodes.map((candidate) => candidate.name).join(", ")}; its other members ${aside.map((candidate) => candidate.name).join(", ")}`,
    });
  }
  return requireNode(lab, name);
}

export function requireRunning(node: LabNode): void {
  if (node.state !== "running") {
    throw new LabError(`${node.name} is ${node.state}, not running`, {
      hint: node.state === "paused" ? `unpause it with \`repl-lab unpause ${node.name}\`` : `start it with \`repl-lab start ${node.name}\``,
    });
  }
}

/** The address a member's published ports are reached at: its host's in a lab across engines, else the engine's. */
export function reachedAt(lab: LabContext, member: LabNode): string {
  return member.host?.address ?? lab.runtime.host.host;
}

/** How to reach a node's server from this host as the lab's superuser; undefined when it has no port. */
export function endpointOf(lab: LabContext, node: LabNode): Endpoint | undefined {
  if (node.hostPort === undefined) return undefined;
  return {
    node: node.name,
    host: reachedAt(lab, node),
    port: node.hostPort,
    user: "postgres",
    password: lab.secrets.superuserPassword,
    database: "postgres",
  };
}

/** With --proxy: the HA proxy's writer or reader port, as an endpoint (as the lab's superuser). */
export function proxyEndpoint(lab: LabContext, which: "writer" | "reader"): Endpoint | undefined {
  const port = which === "writer" ? lab.proxy?.writerPort : lab.proxy?.readerPort;
  if (port === undefined) return undefined;
  return { node: which, host: reachedAt(lab, lab.proxy!), port, user: "postgres", password: lab.secrets.superuserPassword, database: "postgres" };
}

/** The proxy's endpoint, which must be there and running. */
export function requireProxyEndpoint(lab: LabContext, which: "writer" | "reader"): Endpoint {
  const endpoint = proxyEndpoint(lab, which);
  if (!lab.proxy) throw new LabError(`lab "${lab.name}" has no proxy, so no ${which} endpoint`, { hint: "make one with `repl-lab up --ha --proxy`" });
  if (!endpoint || lab.proxy.state !== "running") throw new LabError(`the proxy of lab "${lab.name}" is ${lab.proxy.state}`, { hint: "start it with `repl-lab start proxy`" });
  return endpoint;
}

/** The endpoint of a node that must be running. */
export function requireEndpoint(lab: LabContext, name: string): Endpoint {
  const node = requireNode(lab, name);
  requireRunning(node);
  const endpoint = endpointOf(lab, node);
  if (!endpoint) throw new LabError(`${name} publishes no port`, { hint: `see \`repl-lab logs ${name}\`` });
  return endpoint;
}

/** True when any container, volume or network carries the lab's label. */
export async function labExists(runtime: Runtime, lab: string): Promise<boolean> {
  checkLabName(lab);
  const labels = labLabels(lab);
  const [containers, volumes, networks] = await Promise.all([
    runtime.engine.listContainers(labels),
    runtime.engine.listVolumes(labels),
    runtime.engine.listNetworks(labels),
  ]);
  return containers.length + volumes.length + networks.length > 0;
}

export interface RemovedResources {
  lab: string;
  containers: string[];
  volumes: string[];
  networks: string[];
}

/**
 * Removes everything carrying the lab's label, on every host of a lab across engines: containers
 * first, then networks and (unless kept) volumes. When a host of the lab does not answer, what is on
 * the others is removed, the lab's record is kept (so that `down` can finish once the host is
 * back), and an EngineUnreachableError names the host.
 */
export async function removeLab(runtime: Runtime, lab: string, options: { keepVolumes?: boolean } = {}): Promise<RemovedResources> {
  checkLabName(lab);
  const hosts = hostsEngine(runtime);
  const reports = hosts ? await hosts.reach(lab) : [];
  const unreachable = reports.filter((report) => !report.reachable);
  if (unreachable.length === 0) return { lab, ...(await removeFrom(runtime.engine, lab, options)) };
  const cleaned: string[] = [];
  const failed: string[] = [];
  for (const report of reports.filter((entry) => entry.reachable)) {
    try {
      // The overlay network stays: containers on the silent host are still attached to it.
      await removeFrom(hosts!.hostEngine(report), lab, { ...options, networks: false });
      cleaned.push(report.name);
    } catch (error) {
      failed.push(`${report.name} (${(error as Error).message})`);
    }
  }
  const silent = unreachable.map((report) => `${report.name} (${report.url})`).join(", ");
  throw new EngineUnreachableError(
    `lab "${lab}": ${cleaned.length > 0 ? `removed from host${cleaned.length > 1 ? "s" : ""} ${cleaned.join(", ")}; ` : ""}not cleaned: host${unreachable.length > 1 ? "s" : ""} ${silent} did not answer${failed.length > 0 ? `, and removing from ${failed.join(", ")} failed` : ""}`,
    { hint: `run \`repl-lab down --lab ${lab}\` again once it answers (if it is gone for good, forget the lab with \`docker volume rm ${names.hostsRecord(lab)}\`)` },
  );
}

export interface LabSummary {
  lab: string;
  /** PostgreSQL nodes, and how many of them run. */
  nodes: number;
  running: number;
  volumes: number;
  /** HA labs only: their etcd members (not counted as nodes). */
  etcd?: number;
  /** HA labs only: their other members by role (pg_auto_failover's monitor, the proxy), not counted as nodes. */
  members?: Record<string, number>;
  /** Labs across engines only: their hosts, and those whose engine did not answer (what is there is not counted). */
  hosts?: string[];
  silent_hosts?: string[];
}

export async function listLabs(runtime: Runtime): Promise<LabSummary[]> {
  const managed = { [LABEL.managed]: "true" };
  const [containers, volumes] = await Promise.all([runtime.engine.listContainers(managed), runtime.engine.listVolumes(managed)]);
  const labs = new Map<string, LabSummary>();
  const entry = (lab: string) => {
    let summary = labs.get(lab);
    if (!summary) {
      summary = { lab, nodes: 0, running: 0, volumes: 0 };
      labs.set(lab, summary);
    }
    return summary;
  };
  for (const container of containers) {
    if (container.labels[LABEL.node] === CHECK_NODE || container.labels[LABEL.node] === PARTITION_NODE) continue;
    const summary = entry(container.labels[LABEL.lab] ?? "");
    if (isEtcd(container)) {
      summary.etcd = (summary.etcd ?? 0) + 1;
      continue;
    }
    if (isAside(container)) {
      const role = container.labels[LABEL.role]!;
      summary.members = { ...summary.members, [role]: (summary.members?.[role] ?? 0) + 1 };
      continue;
    }
    summary.nodes += 1;
    if (container.state === "running") summary.running += 1;
  }
  for (const volume of volumes) {
    const summary = entry(volume.labels[LABEL.lab] ?? "");
    // A lab across engines: its record names its hosts (and is not one of its data volumes).
    if (volume.labels[LABEL.role] === HOSTS_ROLE) {
      summary.hosts = decodeHosts(volume.labels[LABEL.hosts], volume.labels[LABEL.place])?.hosts.map((host) => host.name) ?? [];
      const silent = hostsEngine(runtime)?.silentHosts(summary.lab).map((host) => host.name) ?? [];
      if (silent.length > 0) summary.silent_hosts = silent;
    } else summary.volumes += 1;
  }
  return [...labs.values()].sort((a, b) => (a.lab < b.lab ? -1 : a.lab > b.lab ? 1 : 0));
}
