// Waiting on servers and changing their settings: a node's server accepting connections, standbys
// streaming from a primary (one routine for up, promote and rejoin), ALTER SYSTEM with a reload.
import { LabError, NodeUnavailableError } from "../core/errors.js";
import type { Progress } from "../core/progress.js";
import { pollUntil, retryUntil } from "../core/retry.js";
import { matchesExpected, type ExpectedGroup } from "../core/sync-spec.js";
import { sqlLiteral, type Session } from "../postgres.js";
import { endpointOf, listNodes, readLab, requireNode, type LabContext, type LabNode } from "./context.js";

/** Tail of a node's log as error details. */
export async function logTail(lab: LabContext, node: LabNode, lines = 15): Promise<string[]> {
  return [`last log lines of ${node.container}:`, ...(await lab.runtime.engine.logs(node.id, lines))];
}

async function exitedError(lab: LabContext, node: LabNode, what: string): Promise<LabError> {
  const { exitCode } = await lab.runtime.engine.inspectContainer(node.id);
  return new LabError(`${node.name} stopped ${what} (exit code ${exitCode ?? "?"})`, {
    details: await logTail(lab, node, 20),
    hint: `fix what its log says; see \`repl-lab logs ${node.name}\``,
  });
}

/** Waits until a node's server answers a query (a standby answers once it is consistent). */
export async function waitForServer(lab: LabContext, name: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  let lastError = "no answer yet";
  await retryUntil(
    async () => {
      const node = requireNode({ ...lab, nodes: await listNodes(lab.runtime, lab.name) }, name);
      if (node.state === "exited" || node.state === "dead") throw await exitedError(lab, node, "again while starting");
      const endpoint = endpointOf(lab, node);
      if (!endpoint || node.state !== "running") return undefined;
      try {
        const session = await lab.runtime.connect(endpoint, { timeoutMs: 2000 });
        try {
          await session.query("SELECT 1");
        } finally {
          await session.close();
        }
        return true;
      } catch (error) {
        if (!(error instanceof NodeUnavailableError)) throw error;
        lastError = error.message;
        return undefined;
      }
    },
    {
      timeoutMs,
      intervalMs: 100,
      signal: options.signal,
      onTimeout: async () => {
        const node = requireNode({ ...lab, nodes: await listNodes(lab.runtime, lab.name) }, name);
        // The refusals of our own polling fill the log while it waits; what it waited on is above them.
        const lines = (await lab.runtime.engine.logs(node.id, 400)).filter((line) => !/the database system is (starting up|not yet accepting connections)/.test(line));
        return new LabError(`${name} did not accept connections within ${timeoutMs / 1000} s (last: ${lastError})`, {
          details: [`last log lines of ${node.container}:`, ...lines.slice(-12)],
          hint: `see \`repl-lab logs ${name}\``,
        });
      },
    },
  );
}

export interface ReplicationRow {
  application_name: string;
  state: string;
  sync_priority: number;
  sync_state: string;
}

export interface StreamingWait {
  primary: string;
  standbys: readonly string[];
  /** The sync states the spec implies; left out, streaming is enough. */
  expected?: readonly ExpectedGroup[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Told when the primary first answers and as each standby starts streaming. */
  progress?: Progress;
  /** Fail at once, with its log, when one of the lab's containers stops (nodes that are bootstrapping must not). */
  failOnExit?: boolean;
}

export interface StreamingOutcome {
  ready: boolean;
  /** Standbys not streaming from the primary when the wait ended. */
  missing: string[];
  /** The primary's pg_stat_replication as last seen. */
  rows: ReplicationRow[];
  /** What was last seen, in words, for a timeout's message. */
  lastSeen: string;
}

function describeRows(rows: readonly ReplicationRow[], standbys: readonly string[]): string {
  return standbys
    .map((name) => {
      const row = rows.find((candidate) => candidate.application_name === name);
      return row ? `${name} ${row.state}/${row.sync_state} (priority ${row.sync_priority})` : `${name} not connected`;
    })
    .join(", ");
}

/**
 * Waits until every standby streams from the primary (and the sync states are as expected), asking
 * the primary's pg_stat_replication on one kept session. The base backup's own WAL stream shows as
 * `streaming` too (application_name pg_basebackup), so rows are matched by name. Resolves either way;
 * the caller decides what a timeout means.
 */
export async function waitForStreaming(lab: LabContext, wait: StreamingWait): Promise<StreamingOutcome> {
  let session: Session | undefined;
  let rows: ReplicationRow[] = [];
  let lastSeen = `${wait.primary} was not accepting connections yet`;
  const announced = new Set<string>();
  const missing = () => wait.standbys.filter((name) => !rows.some((row) => row.application_name === name && row.state === "streaming"));
  const closeSession = async () => {
    await session?.close();
    session = undefined;
  };
  try {
    const ready = await pollUntil(
      async () => {
        const nodes = wait.failOnExit || !session ? await listNodes(lab.runtime, lab.name) : lab.nodes;
        if (wait.failOnExit) {
          const stopped = nodes.find((node) => node.state === "exited" || node.state === "dead");
          if (stopped) throw await exitedError(lab, stopped, "while the lab was starting");
        }
        if (!session) {
          const primary = nodes.find((node) => node.name === wait.primary);
          const endpoint = primary && primary.state === "running" ? endpointOf(lab, primary) : undefined;
          if (!endpoint) return false;
          try {
            session = await lab.runtime.connect(endpoint, { timeoutMs: 2000 });
          } catch (error) {
            if (error instanceof NodeUnavailableError) return false;
            throw error;
          }
          wait.progress?.step(`${wait.primary} accepting connections`);
        }
        try {
          rows = await session.query<ReplicationRow>(
            "SELECT application_name, state, sync_priority, sync_state FROM pg_stat_replication ORDER BY application_name",
          );
        } catch (error) {
          await closeSession();
          if (error instanceof NodeUnavailableError) return false;
          throw error;
        }
        for (const row of rows) {
          if (row.state === "streaming" && wait.standbys.includes(row.application_name) && !announced.has(row.application_name)) {
            announced.add(row.application_name);
            wait.progress?.step(`${row.application_name} streaming (${announced.size}/${wait.standbys.length})`);
          }
        }
        lastSeen = describeRows(rows, wait.standbys);
        return missing().length === 0 && (!wait.expected || matchesExpected(wait.expected, rows));
      },
      { timeoutMs: wait.timeoutMs, intervalMs: 50, signal: wait.signal },
    );
    return { ready, missing: missing(), rows, lastSeen };
  } finally {
    await closeSession();
  }
}

/**
 * ALTER SYSTEM SET (or RESET, for null) then a reload: PostgreSQL's own way to change a setting on a
 * running server without a restart; connected sessions stay connected and see the new value.
 */
export async function alterSystem(session: Session, settings: Record<string, string | null>): Promise<void> {
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
    await session.query(value === null ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${sqlLiteral(value)}`);
  }
  const [before] = await session.query<{ loaded: Date }>("SELECT pg_conf_load_time() AS loaded");
  await session.query("SELECT pg_reload_conf()");
  // The reload is asynchronous: wait until this backend has read the files again, so what the
  // caller reads next in this session is the new value.
  await retryUntil(
    async () => {
      const [after] = await session.query<{ loaded: Date }>("SELECT pg_conf_load_time() AS loaded");
      return !before || !after || after.loaded.getTime() > before.loaded.getTime() ? true : undefined;
    },
    { timeoutMs: 5000, intervalMs: 20, onTimeout: () => new LabError(`${session.node} did not reload its configuration within 5 s`) },
  );
}

/** Re-reads the lab (its containers change under promote, rejoin and faults). */
export function reread(lab: LabContext): Promise<LabContext> {
  return readLab(lab.runtime, lab.name, { secrets: lab.secrets });
}
