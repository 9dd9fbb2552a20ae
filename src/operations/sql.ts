// repl-lab sql <node> "<query>": run a query on one node from this host and return its rows.
import { readLab, requireEndpoint } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";
import { runUserQuery, type QueryResult } from "../postgres.js";

/** The server's answer (a SQL error, a read-only standby, a refused connection) is a LabError naming the node. */
export async function sql(runtime: Runtime, options: { lab: string; node: string; query: string }): Promise<QueryResult> {
  const lab = await readLab(runtime, options.lab);
  return runUserQuery(requireEndpoint(lab, options.node), options.query, { timeoutMs: 5000 });
}
