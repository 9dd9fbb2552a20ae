// repl-lab env: a connection URL per node, and two URLs naming them all: `primary` (libpq's
// target_session_attrs=read-write: whichever node is the primary, across a failover) and `standby`
// (prefer-standby); with --proxy, `writer` and `reader` through HAProxy.
import { connectionUrl, multiHostUrl, type Endpoint } from "../postgres.js";
import { endpointOf, proxyEndpoint, readLab } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";

/**
 * Node name → postgresql:// URL, then `primary` and `standby`. A node's port is fixed when the lab
 * is made, so its URL holds while it is stopped and after it starts again; a node whose port the
 * engine chose (a lab started from a rendered compose file) has one only while it runs.
 */
export async function env(runtime: Runtime, options: { lab: string }): Promise<Record<string, string>> {
  const lab = await readLab(runtime, options.lab);
  const endpoints = lab.nodes.map((node) => endpointOf(lab, node)).filter((endpoint): endpoint is Endpoint => endpoint !== undefined);
  const urls: Record<string, string> = Object.fromEntries(endpoints.map((endpoint) => [endpoint.node, connectionUrl(endpoint)]));
  const primary = multiHostUrl(endpoints, "read-write");
  const standby = multiHostUrl(endpoints, "prefer-standby");
  if (primary && standby) Object.assign(urls, { primary, standby });
  // --proxy: one address each that HAProxy points at the leader, or spreads over the replicas; any
  // client follows a failover through it, node-postgres included.
  const [writer, reader] = [proxyEndpoint(lab, "writer"), proxyEndpoint(lab, "reader")];
  if (writer && reader) Object.assign(urls, { writer: connectionUrl(writer), reader: connectionUrl(reader) });
  return urls;
}
