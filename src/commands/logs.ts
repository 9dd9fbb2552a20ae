// repl-lab logs <node> [--follow] [--tail n]: the node's output (our entrypoint's lines and the server log) on stdout.
import type { DockerEngine } from "../docker.js";
import { requireLab, requireNode } from "../lab.js";

export async function logs(engine: DockerEngine, options: { lab: string; node: string; follow: boolean; tail: number | "all" }): Promise<void> {
  await engine.ping();
  const node = requireNode(await requireLab(engine, options.lab), options.node);
  await engine.streamLogs(node.id, { follow: options.follow, tail: options.tail }, process.stdout);
}
