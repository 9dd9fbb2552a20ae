// repl-lab sql <node> "<query>": run a query on one node from this host and print its rows.
import type { DockerEngine } from "../docker.js";
import { LabError } from "../errors.js";
import { nodeEndpoint, requireLab, requireNode } from "../lab.js";
import { runUserQuery, type QueryResult } from "../postgres.js";

export async function sql(engine: DockerEngine, options: { lab: string; node: string; query: string }): Promise<QueryResult> {
  await engine.ping();
  const lab = await requireLab(engine, options.lab);
  const node = requireNode(lab, options.node);
  const endpoint = await nodeEndpoint(engine, lab, node);
  try {
    return await runUserQuery(endpoint, options.query, { timeoutMs: 5000 });
  } catch (error) {
    // The server's answer (a SQL error, a read-only standby, a refused connection) is the user's to read.
    const sqlstate = (error as { code?: string }).code;
    throw new LabError(`${options.node}: ${(error as Error).message}${sqlstate && /^[0-9A-Z]{5}$/.test(sqlstate) ? ` (SQLSTATE ${sqlstate})` : ""}`, { cause: error });
  }
}
