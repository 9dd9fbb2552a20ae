// repl-lab sql <node> "<query>": run a query on one node from this host and print its rows.
import type { DockerEngine } from "../docker.js";
import { nodeEndpoint, requireLab, requireNode } from "../lab.js";
import { runUserQuery, type QueryResult } from "../postgres.js";

export async function sql(engine: DockerEngine, options: { lab: string; node: string; query: string }): Promise<QueryResult> {
  await engine.ping();
  const lab = await requireLab(engine, options.lab);
  const node = requireNode(lab, options.node);
  return runUserQuery(await nodeEndpoint(engine, lab, node), options.query, { timeoutMs: 5000 });
}
