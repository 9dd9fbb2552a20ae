// repl-lab sync set "<spec>" | sync off | sync commit <level>: the seed's manual fallback, done as
// PostgreSQL does it: ALTER SYSTEM on the primary and a reload, no restart, clients untouched.
import type { DockerEngine } from "../docker.js";
import { LabError, UsageError } from "../errors.js";
import { labEndpoints, requireLab } from "../lab.js";
import { primariesOf, readLabStatus, type ReplicationStatus } from "../lab-status.js";
import { alterSystem, withSession } from "../postgres.js";
import { retryUntil } from "../retry.js";
import { expectedSyncStates, matchesExpected, parseSyncSpec, renderSyncSpec, SyncSpecError, type SyncSpec } from "../sync-spec.js";
import { SYNC_COMMIT_LEVELS, type SyncCommit } from "../topology.js";

export type SyncChange = { kind: "standbys"; spec: string | null } | { kind: "commit"; level: string };

export interface SyncResult {
  primary: string;
  synchronous_standby_names: string | null;
  synchronous_commit: string | null;
  replication: ReplicationStatus[];
  /** False when pg_stat_replication did not show the states the spec implies within a few seconds. */
  settled: boolean;
}

export async function sync(engine: DockerEngine, options: { lab: string; change: SyncChange }): Promise<SyncResult> {
  await engine.ping();
  const lab = await requireLab(engine, options.lab);
  const before = await readLabStatus(engine, lab);
  const primaries = primariesOf(before);
  if (primaries.length !== 1) {
    throw new LabError(
      primaries.length === 0 ? "no node answers as primary" : `split brain: ${primaries.map((node) => node.name).join(" and ")} are both primaries`,
      { hint: primaries.length === 0 ? "promote a standby with `repl-lab promote <node>`" : "rejoin one of them with `repl-lab rejoin <node>`" },
    );
  }
  const primary = primaries[0]!;
  const standbys = before.nodes.filter((node) => node.name !== primary.name).map((node) => node.name);
  let spec: SyncSpec | null = null;
  const settings: Record<string, string> = {};
  if (options.change.kind === "standbys") {
    if (options.change.spec !== null) {
      try {
        spec = parseSyncSpec(options.change.spec, standbys);
      } catch (error) {
        if (error instanceof SyncSpecError) throw new UsageError(`sync: ${error.message}`);
        throw error;
      }
    }
    settings.synchronous_standby_names = renderSyncSpec(spec);
  } else {
    if (!(SYNC_COMMIT_LEVELS as readonly string[]).includes(options.change.level)) {
      throw new UsageError(`synchronous_commit ${options.change.level}: must be one of ${SYNC_COMMIT_LEVELS.join(", ")}`);
    }
    settings.synchronous_commit = options.change.level as SyncCommit;
  }
  const endpoint = (await labEndpoints(engine, lab)).get(primary.name)!;
  const current = await withSession(endpoint, async (session) => {
    await alterSystem(session, settings);
    const [row] = await session.query<{ names: string; commit: string }>(
      "SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit",
    );
    return row;
  });
  // The walsenders recompute sync_state on reload; wait (briefly) until the view shows it.
  let replication: ReplicationStatus[] = [];
  let settled = true;
  if (options.change.kind === "standbys") {
    settled = await retryUntil(
      async () => {
        const status = await readLabStatus(engine, lab);
        replication = status.replication.filter((row) => row.primary === primary.name);
        const streaming = replication.filter((row) => row.state === "streaming").map((row) => row.application_name);
        return matchesExpected(expectedSyncStates(spec, streaming), replication) ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, onTimeout: () => new Error("not settled") },
    ).catch(() => false);
  } else {
    replication = (await readLabStatus(engine, lab)).replication.filter((row) => row.primary === primary.name);
  }
  return {
    primary: primary.name,
    synchronous_standby_names: current?.names ?? null,
    synchronous_commit: current?.commit ?? null,
    replication,
    settled,
  };
}
