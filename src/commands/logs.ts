// repl-lab logs <node> [--follow] [--tail n]
import type { DockerEngine } from "../docker.js";
import { requireLab, requireNode } from "../lab.js";

export async function logs(engine: DockerEngine, options: { lab: string; node: string; follow: boolean; tail: number | "all" }): Promise<void> {
  await engine.ping();
  const node = requireNode(await requireLab(engine, options.lab), options.node);
  await engine.streamLogs(node.id, { follow: options.follow, tail: options.tail }, process.stdout, process.stderr);
}
