// A lab as Docker knows it: everything is read from labels, nothing from a state file.
import { LabError } from "./errors.js";
import type { DockerEngine, LabContainer } from "./docker.js";
import { CHECK_NODE, LABEL, labLabels } from "./labels.js";
import { ENV } from "./node-plan.js";
import type { Endpoint } from "./postgres.js";

export interface Lab {
  name: string;
  /** Leader first, then standby1, standby2, … */
  nodes: LabContainer[];
}

/** Orders leader before standbys and standby2 before standby10. */
export function compareNodeNames(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "leader") return -1;
  if (b === "leader") return 1;
  return a.localeCompare(b, "en", { numeric: true });
}

export async function readLab(engine: DockerEngine, lab: string): Promise<Lab> {
  const containers = await engine.listContainers(labLabels(lab));
  const nodes = containers.filter((container) => container.node !== CHECK_NODE);
  nodes.sort((a, b) => compareNodeNames(a.node, b.node));
  return { name: lab, nodes };
}

/** Reads a lab that must exist. */
export async function requireLab(engine: DockerEngine, lab: string): Promise<Lab> {
  const found = await readLab(engine, lab);
  if (found.nodes.length === 0) {
    throw new LabError(`there is no lab named "${lab}" on this engine`, {
      hint: `start one with \`repl-lab up --lab ${lab}\`, or list labs with \`repl-lab ls\``,
    });
  }
  return found;
}

export function requireNode(lab: Lab, node: string): LabContainer {
  const found = lab.nodes.find((candidate) => candidate.node === node);
  if (!found) {
    throw new LabError(`lab "${lab.name}" has no node "${node}"`, {
      hint: `its nodes are ${lab.nodes.map((candidate) => candidate.node).join(", ")}`,
    });
  }
  return found;
}

export function requireRunning(node: LabContainer): void {
  if (node.state !== "running") {
    throw new LabError(`${node.node} is ${node.state}, not running`, {
      hint: node.state === "paused" ? `unpause it with \`repl-lab unpause ${node.node}\`` : `start it with \`repl-lab start ${node.node}\``,
    });
  }
}

/** True when any container, volume or network carries the lab's label. */
export async function labExists(engine: DockerEngine, lab: string): Promise<boolean> {
  const labels = labLabels(lab);
  const [containers, volumes, networks] = await Promise.all([
    engine.listContainers(labels),
    engine.listVolumes(labels),
    engine.listNetworks(labels),
  ]);
  return containers.length + volumes.length + networks.length > 0;
}

export interface RemovedResources {
  containers: string[];
  volumes: string[];
  networks: string[];
}

/** Removes everything carrying the lab's label: containers first, then networks and (unless kept) volumes. */
export async function removeLab(engine: DockerEngine, lab: string, options: { keepVolumes?: boolean } = {}): Promise<RemovedResources> {
  const labels = labLabels(lab);
  const containers = await engine.listContainers(labels);
  // Killed all at once, removed one by one: many concurrent force-removals on one bridge network
  // can leave the engine (20.10) with a phantom endpoint that blocks removing the network.
  await Promise.all(containers.filter((container) => container.state === "running").map((container) => engine.killContainer(container.id)));
  for (const container of containers) await engine.removeContainer(container.id);
  const networks = await engine.listNetworks(labels);
  await Promise.all(networks.map((network) => engine.removeNetwork(network.id)));
  const volumes = options.keepVolumes ? [] : await engine.listVolumes(labels);
  await Promise.all(volumes.map((volume) => engine.removeVolume(volume.name)));
  return {
    containers: containers.map((container) => container.name),
    volumes: volumes.map((volume) => volume.name),
    networks: networks.map((network) => network.name),
  };
}

export interface LabSummary {
  lab: string;
  nodes: number;
  running: number;
  volumes: number;
}

export async function listLabs(engine: DockerEngine): Promise<LabSummary[]> {
  const managed = { [LABEL.managed]: "true" };
  const [containers, volumes] = await Promise.all([engine.listContainers(managed), engine.listVolumes(managed)]);
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
    if (container.node === CHECK_NODE) continue;
    const summary = entry(container.lab);
    summary.nodes += 1;
    if (container.state === "running") summary.running += 1;
  }
  for (const volume of volumes) entry(volume.labels[LABEL.lab] ?? "").volumes += 1;
  return [...labs.values()].sort((a, b) => a.lab.localeCompare(b.lab));
}

/**
 * How to reach each node from this host: its published port on 127.0.0.1 and the lab's superuser,
 * whose password lives in the containers' environment. Stopped nodes publish no port.
 */
export async function labEndpoints(engine: DockerEngine, lab: Lab): Promise<Map<string, Endpoint>> {
  const endpoints = new Map<string, Endpoint>();
  const first = lab.nodes[0];
  if (!first) return endpoints;
  const { env } = await engine.inspectNode(first.id);
  for (const node of lab.nodes) {
    if (node.hostPort === undefined) continue;
    endpoints.set(node.node, {
      host: "127.0.0.1",
      port: node.hostPort,
      user: "postgres",
      password: env[ENV.superuserPassword] ?? "",
      database: "postgres",
    });
  }
  return endpoints;
}

/** The endpoint of one node that must be running. */
export async function nodeEndpoint(engine: DockerEngine, lab: Lab, node: LabContainer): Promise<Endpoint> {
  requireRunning(node);
  const endpoint = (await labEndpoints(engine, lab)).get(node.node);
  if (!endpoint) throw new LabError(`${node.node} has no published port`, { hint: `see \`repl-lab logs ${node.node}\`` });
  return endpoint;
}
