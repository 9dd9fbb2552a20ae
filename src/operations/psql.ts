// repl-lab psql <node>: an interactive psql inside the node's container (the image's own psql), on
// the streams the caller hands in.
import type { Stdio } from "../core/engine.js";
import { readLab, requireNode, requireRunning } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";

export async function psql(runtime: Runtime, options: { lab: string; node: string; args: string[]; stdio: Stdio }): Promise<number> {
  const node = requireNode(await readLab(runtime, options.lab), options.node);
  requireRunning(node);
  return runtime.engine.execAttached(node.id, ["psql", "-U", "postgres", ...options.args], { user: "postgres", stdio: options.stdio });
}
