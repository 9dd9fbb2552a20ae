// repl-lab env: a connection URL per node, as shell exports or JSON.
import type { DockerEngine } from "../docker.js";
import { labEndpoints, requireLab } from "../lab.js";
import { connectionUrl } from "../postgres.js";

/** Node name → postgresql:// URL, for every node that publishes a port (running nodes). */
export async function env(engine: DockerEngine, options: { lab: string }): Promise<Record<string, string>> {
  await engine.ping();
  const lab = await requireLab(engine, options.lab);
  const endpoints = await labEndpoints(engine, lab);
  return Object.fromEntries(lab.nodes.flatMap((node) => {
    const endpoint = endpoints.get(node.node);
    return endpoint ? [[node.node, connectionUrl(endpoint)]] : [];
  }));
}

/** LEADER_URL, STANDBY1_URL, …: names a shell accepts. */
export function exportLines(urls: Record<string, string>): string[] {
  return Object.entries(urls).map(([node, url]) => `export ${node.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_URL='${url}'`);
}
