// Labs across engines, as the operations use them: preparing a lab's hosts at `up`, what `status`
// says of each host, and machine-level faults (every container of the lab on one host at once).
import type { ContainerEngine } from "../core/engine.js";
import { LabError } from "../core/errors.js";
import { encodeHosts, type LabHosts } from "../core/hosts.js";
import { HOSTS_ROLE, LABEL, labLabels, names } from "../core/labels.js";
import type { Progress } from "../core/progress.js";
import { HostsEngine, type HostReport } from "../engine/hosts.js";
import type { Runtime } from "./runtime.js";

export type { HostReport };

/** The runtime's engine when it can run labs across engines (the real one can; unit tests' fakes cannot). */
export function hostsEngine(runtime: Runtime): HostsEngine | undefined {
  return runtime.engine instanceof HostsEngine ? runtime.engine : undefined;
}

function requireHostsEngine(runtime: Runtime): HostsEngine {
  const engine = hostsEngine(runtime);
  if (!engine) throw new LabError("this engine cannot run a lab across hosts", { hint: "labs across engines need the Docker engine (leave --host out here)" });
  return engine;
}

/**
 * Before `up` creates anything on them: the hosts answer and are in one swarm, the lab's record is
 * written on the home engine (from then on every command finds the lab's parts on its hosts), and
 * each host has the image (copied from this engine where it lacks it).
 */
export async function prepareHosts(runtime: Runtime, lab: string, hosts: LabHosts, image: string, progress: Progress): Promise<void> {
  const engine = requireHostsEngine(runtime);
  const manager = await engine.checkSwarm(hosts);
  progress.step(`hosts ${hosts.hosts.map((host) => host.name).join(", ")}: one swarm, manager ${manager}; the lab's network is an overlay network across them`);
  const encoded = encodeHosts(hosts);
  await engine.createVolume(names.hostsRecord(lab), { ...labLabels(lab), [LABEL.role]: HOSTS_ROLE, [LABEL.hosts]: encoded.hosts, [LABEL.place]: encoded.place });
  await Promise.all(hosts.hosts.map((host) => engine.ensureImage(host, image, () => progress.step(`${host.name}: copying ${image} from this engine (docker save | docker load)`))));
}

/** Each host of a lab and whether its engine answers; empty for a lab on one engine. */
export async function labHostReports(runtime: Runtime, lab: string): Promise<HostReport[]> {
  return (await hostsEngine(runtime)?.reach(lab)) ?? [];
}

/**
 * Removes a lab's containers, networks and (unless kept) volumes from one engine: containers
 * killed all at once, removed one by one (many concurrent force-removals on one bridge network can
 * leave the engine, 20.10, with a phantom endpoint that blocks removing the network).
 */
export async function removeFrom(engine: ContainerEngine, lab: string, options: { keepVolumes?: boolean; networks?: boolean } = {}) {
  const labels = labLabels(lab);
  const containers = await engine.listContainers(labels);
  await Promise.all(containers.filter((container) => container.state === "running").map((container) => engine.killContainer(container.id)));
  for (const container of containers) await engine.removeContainer(container.id);
  const networks = options.networks === false ? [] : await engine.listNetworks(labels);
  await Promise.all(networks.map((network) => engine.removeNetwork(network.id)));
  const volumes = options.keepVolumes ? [] : await engine.listVolumes(labels);
  await Promise.all(volumes.map((volume) => engine.removeVolume(volume.name)));
  return { containers: containers.map((container) => container.name), volumes: volumes.map((volume) => volume.name), networks: networks.map((network) => network.name) };
}
