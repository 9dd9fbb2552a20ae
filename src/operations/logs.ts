// repl-lab logs <node> [--follow] [--tail n]: the node's output (our entrypoint's lines and the server log).
import { readLab, requireNode } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";

/** The node's output as it comes; with follow, until the container stops or the caller stops reading. */
export async function logs(runtime: Runtime, options: { lab: string; node: string; follow: boolean; tail: number | "all" }): Promise<AsyncIterable<Buffer>> {
  const node = requireNode(await readLab(runtime, options.lab), options.node);
  return runtime.engine.streamLogs(node.id, { follow: options.follow, tail: options.tail });
}
