// repl-lab psql <node>: an interactive psql inside the node's container (the image's own psql).
import type { DockerEngine } from "../docker.js";
import { requireLab, requireNode, requireRunning } from "../lab.js";

export async function psql(engine: DockerEngine, options: { lab: string; node: string; args: string[] }): Promise<number> {
  await engine.ping();
  const node = requireNode(await requireLab(engine, options.lab), options.node);
  requireRunning(node);
  return engine.execAttached(node.id, ["psql", "-U", "postgres", ...options.args], { user: "postgres" });
}
