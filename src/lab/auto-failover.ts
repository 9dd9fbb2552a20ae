// What pg_auto_failover's monitor knows about a lab, read with SQL from the monitor's own database
// (the functions and tables `pg_autoctl show state` and `show events` read), and the changes asked
// of it: promotion, switchover, the write quorum. The monitor decides; repl-lab asks and watches.
// https://pg-auto-failover.readthedocs.io/en/main/ref/pg_autoctl_show_state.html
import { FORMATION, MONITOR_DATABASE, WRITABLE_STATES } from "../core/auto-failover.js";
import { LabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { pollUntil } from "../core/retry.js";
import type { ManagerChange, MonitorEvent, MonitorNode, MonitorView } from "../core/status.js";
import { NodeUnavailableError } from "../core/errors.js";
import type { Endpoint, Session } from "../postgres.js";
import { listNodes, reachedAt, type LabContext, type LabNode } from "./context.js";
import { logTail } from "./server.js";
import { SessionPool } from "./sessions.js";

/** How many of the monitor's latest events a status carries (the events timeline diffs them by id). */
const EVENTS_KEPT = 50;

function monitorEndpoint(lab: LabContext): Endpoint | undefined {
  const monitor = lab.monitor;
  if (!monitor || monitor.state !== "running" || monitor.isolated || monitor.apiPort === undefined) return undefined;
  return { node: monitor.name, host: reachedAt(lab, monitor), port: monitor.apiPort, user: "postgres", password: lab.secrets.superuserPassword, database: MONITOR_DATABASE };
}

/** Why the monitor cannot be asked, or undefined when it can. */
function monitorUnreachable(lab: LabContext): string | undefined {
  const monitor = lab.monitor;
  if (!monitor) return "the lab has no monitor";
  if (monitor.state !== "running") return `the monitor's container is ${monitor.state}`;
  if (monitor.isolated) return "the monitor is isolated from the lab network";
  if (monitor.apiPort === undefined) return "the monitor publishes no port";
  return undefined;
}

/** Runs `work` on a session to the monitor: the status pool's when given, else one opened for it. */
async function onMonitor<T>(lab: LabContext, work: (session: Session) => Promise<T>, pool?: SessionPool): Promise<T> {
  const endpoint = monitorEndpoint(lab);
  if (!endpoint) throw new LabError(`pg_auto_failover's monitor cannot be asked: ${monitorUnreachable(lab)}`, { hint: "start it with `repl-lab start monitor`" });
  if (pool) return pool.use(endpoint, work);
  const session = await lab.runtime.connect(endpoint, { timeoutMs: 3000 });
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

interface StateRow {
  nodename: string;
  node_id: number;
  current_group_state: string;
  assigned_group_state: string;
  health: number;
  reported_lsn: string;
  reported_tli: number;
  candidate_priority: number;
  replication_quorum: boolean;
}

const HEALTH: Record<number, MonitorNode["health"]> = { 1: "good", 0: "bad", [-1]: "unknown" };

interface EventRow {
  eventid: string;
  eventtime: Date;
  nodename: string;
  reportedstate: string;
  goalstate: string;
  description: string;
}

/** The formation's events (pgautofailover.event, what `pg_autoctl show events` reads), filtered and ordered by `tail` ($2 on). */
async function queryEvents(session: Session, tail: string, values: unknown[]): Promise<MonitorEvent[]> {
  const rows = await session.query<EventRow>(
    `select eventid::text, eventtime, nodename, reportedstate::text, goalstate::text, description from pgautofailover.event where formationid = $1 ${tail}`,
    [FORMATION, ...values],
  );
  return rows.map((row) => ({
    id: Number(row.eventid),
    time: new Date(row.eventtime).toISOString(),
    node: row.nodename,
    reported_state: row.reportedstate,
    goal_state: row.goalstate,
    description: row.description,
  }));
}

/** Every event the monitor logged at or after `since`, oldest first (no window: a busy failover logs dozens). */
export async function monitorEventsSince(lab: LabContext, since: Date): Promise<MonitorEvent[]> {
  return onMonitor(lab, (session) => queryEvents(session, "and eventtime >= $2 order by eventid", [since]));
}

/** The monitor's view: each node's reported and assigned state, health and LSN, and its latest events. Throws when the monitor does not answer. */
export async function readMonitor(lab: LabContext, pool?: SessionPool): Promise<Omit<MonitorView, "container_state" | "isolated" | "cannot_reach">> {
  return onMonitor(
    lab,
    async (session) => {
      const states = await session.query<StateRow>(
        "select nodename, node_id, current_group_state::text, assigned_group_state::text, health, reported_lsn::text, reported_tli, candidate_priority, replication_quorum from pgautofailover.current_state($1) order by node_id",
        [FORMATION],
      );
      const [formation] = await session.query<{ number_sync_standbys: number }>("select number_sync_standbys from pgautofailover.formation where formationid = $1", [FORMATION]);
      const events = await queryEvents(session, "order by eventid desc limit $2", [EVENTS_KEPT]);
      const nodes: MonitorNode[] = states.map((row) => ({
        name: row.nodename,
        node_id: Number(row.node_id),
        reported_state: row.current_group_state,
        assigned_state: row.assigned_group_state,
        health: HEALTH[Number(row.health)] ?? "unknown",
        reported_lsn: row.reported_lsn,
        reported_tli: Number(row.reported_tli),
        candidate_priority: Number(row.candidate_priority),
        replication_quorum: Boolean(row.replication_quorum),
      }));
      return {
        answering: true,
        // The node the monitor has assigned a writable state and that reports one.
        primary: nodes.find((node) => WRITABLE_STATES.has(node.assigned_state) && WRITABLE_STATES.has(node.reported_state))?.name ?? null,
        number_sync_standbys: formation ? Number(formation.number_sync_standbys) : null,
        nodes,
        events: events.reverse(),
      };
    },
    pool,
  );
}

/** The monitor's view for `status`: what it reports, or that it does not answer (and why). */
export async function monitorStatus(lab: LabContext, pool?: SessionPool): Promise<MonitorView> {
  const monitor = lab.monitor!;
  const base = { container_state: monitor.state, isolated: monitor.isolated, cannot_reach: [] as string[] };
  try {
    return { ...base, ...(await readMonitor(lab, pool)) };
  } catch (error) {
    if (!(error instanceof NodeUnavailableError) && !(error instanceof LabError)) throw error;
    return { ...base, answering: false, primary: null, number_sync_standbys: null, nodes: [], events: [] };
  }
}

/** The monitor's view, or undefined while it does not answer (for waits). */
async function readMonitorIfAnswering(lab: LabContext, pool: SessionPool): Promise<Awaited<ReturnType<typeof readMonitor>> | undefined> {
  try {
    return await readMonitor(lab, pool);
  } catch (error) {
    if (error instanceof NodeUnavailableError || error instanceof LabError) return undefined;
    throw error;
  }
}

/**
 * A switchover or a promotion of a chosen node, asked of the monitor
 * (pgautofailover.perform_promotion: the monitor runs its failover with the candidate first),
 * then watched until the candidate reports primary and the others secondary.
 */
export async function autoFailoverChange(
  lab: LabContext,
  kind: "switchover" | "failover",
  candidate: string,
  options: { timeoutMs?: number; progress?: Progress; signal?: AbortSignal } = {},
): Promise<ManagerChange> {
  const { clock } = lab.runtime;
  const progress = options.progress ?? silentProgress;
  const before = await readMonitor(lab);
  const node = before.nodes.find((entry) => entry.name === candidate);
  if (!node) throw new LabError(`${candidate} is not a node of pg_auto_failover's formation in lab "${lab.name}"`, { hint: `its nodes are ${before.nodes.map((entry) => entry.name).join(", ")}` });
  if (before.primary === candidate) throw new LabError(`${candidate} is already the primary`, { hint: "name one of the secondaries" });
  if (kind === "switchover" && !before.primary) throw new LabError("the monitor knows no primary, so there is nothing to switch over from", { hint: `use \`repl-lab promote ${candidate}\`` });
  if (node.candidate_priority === 0) throw new LabError(`${candidate} has candidate priority 0: pg_auto_failover never promotes it`, { hint: "name another node" });
  const started = clock.now();
  progress.step(`asking pg_auto_failover's monitor to promote ${candidate} (pgautofailover.perform_promotion)`);
  await onMonitor(lab, (session) => session.query("select pgautofailover.perform_promotion($1, $2)", [FORMATION, candidate]));
  const timeoutMs = options.timeoutMs ?? 60_000;
  let promoteMs: number | undefined;
  let last = before;
  // One kept session to the monitor for the looks, not a new connection every 100 ms.
  const pool = new SessionPool(lab.runtime.connect, 3000);
  const settled = await pollUntil(
    async () => {
      const view = await readMonitorIfAnswering(lab, pool);
      if (!view) return false;
      last = view;
      const me = view.nodes.find((entry) => entry.name === candidate);
      if (!me || me.reported_state !== "primary" && me.reported_state !== "wait_primary") return false;
      promoteMs ??= clock.now() - started;
      return view.nodes.every((entry) => entry.name === candidate || (entry.reported_state === "secondary" && entry.assigned_state === "secondary")) && me.reported_state === "primary";
    },
    { timeoutMs, intervalMs: 100, clock, signal: options.signal },
  ).finally(() => pool.close());
  if (promoteMs === undefined) {
    throw new LabError(`pg_auto_failover's monitor did not make ${candidate} the primary within ${timeoutMs / 1000} s`, { hint: `see \`repl-lab events\` and \`repl-lab logs ${candidate}\`` });
  }
  const following = last.nodes.filter((entry) => entry.name !== candidate && entry.reported_state === "secondary").map((entry) => entry.name);
  return {
    promote_ms: promoteMs,
    said: `monitor: ${candidate} promoted`,
    following,
    not_following: settled ? [] : last.nodes.filter((entry) => entry.name !== candidate && !following.includes(entry.name)).map((entry) => entry.name),
    timeline: last.nodes.find((entry) => entry.name === candidate)?.reported_tli ?? null,
  };
}

/**
 * Rejoins a node as pg_auto_failover does: a stopped node's container is started and its keeper
 * rewinds it (pg_rewind) or takes a new base backup to follow the primary the monitor names; a
 * running one is left to its keeper. Resolves once the monitor reports it secondary.
 */
export async function autoFailoverRejoin(lab: LabContext, node: LabNode, reclone: boolean, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ leader: string; reason: string }> {
  if (reclone) throw new LabError("--reclone is not available with pg_auto_failover: its keeper takes a new base backup by itself when pg_rewind cannot do", { hint: `run \`repl-lab rejoin ${node.name}\`` });
  const timeoutMs = options.timeoutMs ?? 120_000;
  const before = await readMonitor(lab);
  if (!before.primary) throw new LabError("the monitor knows no primary: there is nothing to rejoin", { hint: "see `repl-lab status` and `repl-lab events`" });
  if (before.primary === node.name) {
    throw new LabError(`the monitor still has ${node.name} as its primary`, {
      hint: node.state === "running" ? "rejoin one of the secondaries" : "it fails over once its health checks give up on it (see `repl-lab events`); rejoin it after that",
    });
  }
  const me = before.nodes.find((entry) => entry.name === node.name);
  if (node.state === "running" && me?.reported_state === "secondary" && me.assigned_state === "secondary") {
    throw new LabError(`${node.name} already follows ${before.primary}; nothing to do`);
  }
  let reason: string;
  if (node.state !== "running") {
    await lab.runtime.engine.startContainer(node.id);
    const { reloadCut } = await import("./partition.js");
    await reloadCut(lab);
    reason = "started; its keeper rewound it (or took a new base backup) to follow the primary the monitor names";
  } else {
    reason = "left to its keeper, which rejoins a running node by itself";
  }
  const pool = new SessionPool(lab.runtime.connect, 3000);
  const joined = await pollUntil(
    async () => {
      const now = (await listNodes(lab.runtime, lab.name)).find((candidate) => candidate.name === node.name);
      if (now && (now.state === "exited" || now.state === "dead")) {
        throw new LabError(`${node.name} stopped again while rejoining`, { details: await logTail(lab, now, 15), hint: `see \`repl-lab logs ${node.name}\`` });
      }
      const view = await readMonitorIfAnswering(lab, pool);
      const entry = view?.nodes.find((candidate) => candidate.name === node.name);
      return entry?.reported_state === "secondary" && entry.assigned_state === "secondary";
    },
    { timeoutMs, intervalMs: 200, clock: lab.runtime.clock, signal: options.signal },
  ).finally(() => pool.close());
  if (!joined) throw new LabError(`${node.name} was not a secondary within ${timeoutMs / 1000} s`, { hint: `see \`repl-lab logs ${node.name}\`` });
  return { leader: before.primary, reason };
}

/**
 * The write quorum changed through the monitor: which followers count in it (replication-quorum),
 * their candidate priorities, and the formation's number_sync_standbys. The monitor rewrites
 * synchronous_standby_names on the primary itself.
 */
export async function setAutoFailoverSync(
  lab: LabContext,
  change: { number_sync_standbys: number; followers: Record<string, { replication_quorum: boolean; candidate_priority: number }> },
): Promise<void> {
  await onMonitor(lab, async (session) => {
    // Each change puts the primary through apply_settings, and the monitor refuses the next one
    // (SQLSTATE 55000) until the nodes have reached the states assigned to them: each waits for that
    // (of the nodes the monitor finds healthy: a dead one never gets there).
    const steady = async (what: string) => {
      const reached = await pollUntil(
        async () => {
          const rows = await session.query<{ moving: number }>("select count(*)::int as moving from pgautofailover.node where formationid = $1 and health = 1 and reportedstate <> goalstate", [FORMATION]);
          return rows[0]?.moving === 0;
        },
        { timeoutMs: 20_000, intervalMs: 100, clock: lab.runtime.clock },
      );
      if (!reached) throw new LabError(`pg_auto_failover's monitor: a node did not reach its assigned state within 20 s, before ${what}`, { hint: "see `repl-lab status` (the monitor's view) and `repl-lab events`" });
    };
    const ask = async (what: string, sql: string, params: unknown[]) => {
      await steady(what);
      await session.query(sql, params);
    };
    const [{ current = 0 } = {}] = await session.query<{ current: number }>("select number_sync_standbys as current from pgautofailover.formation where formationid = $1", [FORMATION]);
    const setNumber = () => ask("number_sync_standbys", "select pgautofailover.set_formation_number_sync_standbys($1, $2)", [FORMATION, change.number_sync_standbys]);
    // Lower the number before taking standbys out of the quorum, raise it after putting them in: the
    // monitor refuses a number its quorum cannot meet.
    if (change.number_sync_standbys < Number(current)) await setNumber();
    for (const [name, setting] of Object.entries(change.followers)) {
      await ask(`${name}'s replication-quorum`, "select pgautofailover.set_node_replication_quorum($1, $2, $3)", [FORMATION, name, setting.replication_quorum]);
      await ask(`${name}'s candidate-priority`, "select pgautofailover.set_node_candidate_priority($1, $2, $3)", [FORMATION, name, setting.candidate_priority]);
    }
    if (change.number_sync_standbys > Number(current)) await setNumber();
    await steady("returning");
  });
}
