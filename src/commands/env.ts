// repl-lab env: a connection URL per node.
import { connectionUrl } from "../postgres.js";
import { endpointOf, readLab } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";

/**
 * Node name → postgresql:// URL. A node's port is fixed when the lab is made, so its URL holds
 * while it is stopped and after it starts again; a node whose port the engine chose (a lab started
 * from a rendered compose file) has one only while it runs.
 */
export async function env(runtime: Runtime, options: { lab: string }): Promise<Record<string, string>> {
  const lab = await readLab(runtime, options.lab);
  return Object.fromEntries(
    lab.nodes.flatMap((node) => {
      const endpoint = endpointOf(lab, node);
      return endpoint ? [[node.name, connectionUrl(endpoint)]] : [];
    }),
  );
}
