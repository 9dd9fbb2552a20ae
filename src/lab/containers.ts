// Container work the replication operations share: rebuilding a node's container safely, and
// one-off jobs (pg_rewind, wiping a data directory) run on a node's volume.
import type { ContainerSpec, ExecResult } from "../core/engine.js";
import { CHECK_NODE, helperLabels, names } from "../core/labels.js";
import { PGDATA } from "../core/constants.js";
import type { LabContext, LabNode } from "./context.js";

/**
 * Replaces a stopped node's container with one built from its own spec changed by `change`, and
 * returns the new container's id. Labels and environment cannot change on a container, so this is
 * how a node's role follows the server when repl-lab rebuilds it. The old container is renamed
 * aside first and removed only once the new one exists: if creating the new one fails, the old one
 * gets its name back and the node is exactly as it was.
 */
export async function replaceContainer(lab: LabContext, node: LabNode, change: (spec: ContainerSpec) => ContainerSpec): Promise<string> {
  const { engine } = lab.runtime;
  const { spec } = await engine.inspectContainer(node.id);
  const next = change({
    ...spec,
    // A node always rejoins its lab's network under its own name, even one that was partitioned.
    network: { name: names.network(lab.name), aliases: [node.name] },
  });
  const aside = `${spec.name}-replaced-${Date.now().toString(36)}`;
  await engine.renameContainer(node.id, aside);
  let id: string;
  try {
    id = await engine.createContainer(next);
  } catch (error) {
    await engine.renameContainer(node.id, spec.name);
    throw error;
  }
  await engine.removeContainer(node.id);
  return id;
}

/** Where the node's volume is mounted in its container (the image decides; see dataMountTarget). */
async function nodeVolumeMount(lab: LabContext, node: LabNode): Promise<{ image: string; volume: string; target: string }> {
  const { spec } = await lab.runtime.engine.inspectContainer(node.id);
  const mount = spec.mounts?.find((candidate) => candidate.volume === names.volume(lab.name, node.name));
  return { image: spec.image, volume: names.volume(lab.name, node.name), target: mount?.target ?? PGDATA };
}

/**
 * Runs a bash script in a throwaway container on the node's volume and the lab network, as the
 * postgres user; it is stopped past `timeoutMs` (a LabError) or when the signal aborts.
 */
export async function runOnNodeVolume(
  lab: LabContext,
  node: LabNode,
  job: { purpose: string; script: string; env: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<ExecResult> {
  const mount = await nodeVolumeMount(lab, node);
  return lab.runtime.engine.runToCompletion(
    {
      name: `${names.container(lab.name, CHECK_NODE)}-${job.purpose}-${node.name}`,
      image: mount.image,
      entrypoint: ["bash", "-c", job.script],
      labels: helperLabels(lab.name, job.timeoutMs),
      user: "postgres",
      env: { PGDATA, ...job.env },
      mounts: [{ volume: mount.volume, target: mount.target }],
      network: { name: names.network(lab.name), aliases: [] },
    },
    { timeoutMs: job.timeoutMs, signal: job.signal },
  );
}
