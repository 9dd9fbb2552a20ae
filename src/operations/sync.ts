// repl-lab sync set "<spec>" | sync off | sync commit <level>: synchronous replication changed as
// PostgreSQL changes it, ALTER SYSTEM on the primary and a reload, no restart, clients untouched;
// sync off is the manual fallback when a synchronous standby fails (synchronous_standby_names = '').
// https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION
import { SYNC_COMMIT_LEVELS, type SyncCommit } from "../core/constants.js";
import { UsageError } from "../core/errors.js";
import { expectedSynchronousStandbys } from "../core/ha.js";
import { pollUntil } from "../core/retry.js";
import type { ReplicationStatus } from "../core/status.js";
import { expectedSyncStates, matchesExpected, parseSyncSpec, renderSyncSpec, SyncSpecError, type SyncSpec } from "../core/sync-spec.js";
import { readLab, type LabContext } from "../lab/context.js";
import { onNode, theOnePrimary } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { alterSystem } from "../lab/server.js";
import { readLabStatus } from "../lab/status.js";

export type SyncChange = { kind: "standbys"; spec: string | null } | { kind: "commit"; level: string };

export interface SyncResult {
  primary: string;
  synchronous_standby_names: string | null;
  synchronous_commit: string | null;
  replication: ReplicationStatus[];
  /** False when pg_stat_replication did not show the states the spec implies within 10 s. */
  settled: boolean;
}

/** The settings a change writes; checks the spec against the lab's standbys and the level against PostgreSQL's. */
function settingsFor(change: SyncChange, standbys: string[]): { settings: Record<string, string>; spec: SyncSpec | null } {
  if (change.kind === "commit") {
    if (!(SYNC_COMMIT_LEVELS as readonly string[]).includes(change.level)) {
      throw new UsageError(`synchronous_commit ${change.level}: must be one of ${SYNC_COMMIT_LEVELS.join(", ")}`);
    }
    return { settings: { synchronous_commit: change.level as SyncCommit }, spec: null };
  }
  let spec: SyncSpec | null = null;
  if (change.spec !== null) {
    try {
      spec = parseSyncSpec(change.spec, standbys);
    } catch (error) {
      if (error instanceof SyncSpecError) throw new UsageError(`sync: ${error.message}`);
      throw error;
    }
  }
  return { settings: { synchronous_standby_names: renderSyncSpec(spec) }, spec };
}

export async function sync(runtime: Runtime, options: { lab: string; change: SyncChange }): Promise<SyncResult> {
  const lab = await readLab(runtime, options.lab);
  const before = await readLabStatus(lab);
  const primary = theOnePrimary(before);
  const standbys = before.nodes.filter((node) => node.name !== primary.name).map((node) => node.name);
  const { settings, spec } = settingsFor(options.change, standbys);
  if (lab.manager === "pg_auto_failover") return autoFailoverSync(lab, primary.name, options.change, spec, standbys);
  if (lab.ha) return haSync(lab, primary.name, options.change, spec);
  const current = await onNode(lab, primary.name, async (session) => {
    await alterSystem(session, settings);
    const [row] = await session.query<{ names: string; commit: string }>(
      "SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit",
    );
    return row;
  });
  // The walsenders recompute sync_state on reload; wait (briefly) until the view shows it.
  let replication: ReplicationStatus[] = [];
  const look = async () => {
    replication = (await readLabStatus(lab)).replication.filter((row) => row.primary === primary.name);
    const streaming = replication.filter((row) => row.state === "streaming").map((row) => row.application_name);
    return matchesExpected(expectedSyncStates(spec, streaming), replication);
  };
  const settled = options.change.kind === "commit" ? (await look(), true) : await pollUntil(look, { timeoutMs: 10_000, intervalMs: 100 });
  return {
    primary: primary.name,
    synchronous_standby_names: current?.names ?? null,
    synchronous_commit: current?.commit ?? null,
    replication,
    settled,
  };
}

/**
 * HA mode: Patroni owns synchronous_standby_names (a value set around it would be overwritten), so
 * the change goes into its dynamic configuration: FIRST n is synchronous_mode on with
 * synchronous_node_count n, ANY n is quorum, off is off, and synchronous_commit a parameter. Patroni
 * chooses which standbys are synchronous among the members not tagged nosync. Settled when Patroni
 * reports as many synchronous standbys as that mode makes (every eligible one for ANY n), and
 * pg_stat_replication shows as many.
 */
async function haSync(lab: LabContext, primary: string, change: SyncChange, spec: SyncSpec | null): Promise<SyncResult> {
  const { ifAnswered, patchPatroniConfig, readSynchronousStandbys } = await import("../lab/ha.js");
  const patch =
    change.kind === "commit"
      ? { postgresql: { parameters: { synchronous_commit: change.level } } }
      : spec === null
        ? { synchronous_mode: false }
        : { synchronous_mode: spec.method === "ANY" ? "quorum" : true, synchronous_node_count: spec.num };
  await patchPatroniConfig(lab, patch);
  const mode = spec === null ? "off" : spec.method === "ANY" ? "quorum" : "on";
  const settled = await pollUntil(
    async () => {
      const standbys = await ifAnswered(readSynchronousStandbys(lab));
      if (!standbys) return false;
      const wanted = change.kind === "commit" ? undefined : expectedSynchronousStandbys(mode, spec?.num ?? 0, standbys.eligible);
      if (wanted !== undefined && standbys.synchronous !== wanted) return false;
      // And PostgreSQL agrees: as many sync or quorum rows in pg_stat_replication, the level in force.
      const [row] = await onNode(lab, primary, (session) =>
        session.query<{ commit: string; synchronous: number }>(
          "SELECT current_setting('synchronous_commit') AS commit, (SELECT count(*)::int FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')) AS synchronous",
        ),
      );
      if (wanted !== undefined && row?.synchronous !== wanted) return false;
      return change.kind !== "commit" || row?.commit === change.level;
    },
    { timeoutMs: 20_000, intervalMs: 200, clock: lab.runtime.clock },
  );
  const current = await onNode(lab, primary, async (session) => {
    const [row] = await session.query<{ names: string; commit: string }>(
      "SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit",
    );
    return row;
  });
  return {
    primary,
    synchronous_standby_names: current?.names ?? null,
    synchronous_commit: current?.commit ?? null,
    replication: (await readLabStatus(lab)).replication.filter((row) => row.primary === primary),
    settled,
  };
}

/**
 * pg_auto_failover: its monitor owns synchronous_standby_names and writes it as ANY n over the
 * standbys in the write quorum, so the spec becomes each standby's replication-quorum and candidate
 * priority and the formation's number_sync_standbys (core/auto-failover.ts says what FIRST loses).
 * Settled when pg_stat_replication shows every standby in the quorum as quorum (or sync), and no
 * other.
 */
async function autoFailoverSync(lab: LabContext, primary: string, change: SyncChange, spec: SyncSpec | null, standbys: string[]): Promise<SyncResult> {
  if (change.kind === "commit") {
    throw new UsageError("sync commit: not available with pg_auto_failover yet (it owns the primary's replication settings)", { hint: "use a Patroni lab, or set it per session: SET synchronous_commit = ..." });
  }
  const [{ autoFailoverSyncFromSpec }, { setAutoFailoverSync }] = await Promise.all([import("../core/auto-failover.js"), import("../lab/auto-failover.js")]);
  let mapped;
  try {
    mapped = autoFailoverSyncFromSpec(spec, standbys);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`sync: ${error.message}`);
    throw error;
  }
  await setAutoFailoverSync(lab, mapped);
  const quorum = Object.entries(mapped.followers).filter(([, setting]) => setting.replication_quorum).map(([name]) => name);
  let replication: ReplicationStatus[] = [];
  const settled = await pollUntil(
    async () => {
      replication = (await readLabStatus(lab)).replication.filter((row) => row.primary === primary);
      const synchronous = replication.filter((row) => row.sync_state === "sync" || row.sync_state === "quorum").length;
      const names = await onNode(lab, primary, async (session) => (await session.query<{ names: string }>("SELECT current_setting('synchronous_standby_names') AS names"))[0]?.names ?? "");
      return spec === null ? synchronous === 0 && names === "" : synchronous === quorum.length && names.startsWith(`ANY ${mapped.number_sync_standbys} `);
    },
    { timeoutMs: 20_000, intervalMs: 200, clock: lab.runtime.clock },
  );
  const current = await onNode(lab, primary, async (session) => {
    const [row] = await session.query<{ names: string; commit: string }>("SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit");
    return row;
  });
  return { primary, synchronous_standby_names: current?.names ?? null, synchronous_commit: current?.commit ?? null, replication, settled };
}
