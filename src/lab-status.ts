// What a lab looks like right now: container states from Docker, roles, LSNs and timelines from each
// server, pg_stat_replication and pg_replication_slots from every primary. Each node is asked with its
// own timeout, so a stopped, paused or cut-off node never makes status hang.
import type { DockerEngine, LabContainer } from "./docker.js";
import { names } from "./labels.js";
import { labEndpoints, type Lab } from "./lab.js";
import { PGDATA } from "./node-plan.js";
import { openSession, type Endpoint, type Session } from "./postgres.js";

export interface NodeStatus {
  name: string;
  /**
   * From the server (pg_is_in_recovery) when it answers; for a stopped or frozen node, from its data
   * directory (standby.signal, what PostgreSQL itself will read when it starts); else the label.
   */
  role: string;
  role_source: "server" | "data" | "label";
  container: string;
  container_state: string;
  /** Running but cut off the lab network (`repl-lab partition`). */
  partitioned: boolean;
  host_port: number | null;
  timeline: number | null;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  /** now() - pg_last_xact_replay_timestamp(), seconds; grows on an idle lab. */
  replay_delay: number | null;
  /** Who this standby's walreceiver streams from, and its status (pg_stat_wal_receiver). */
  upstream: string | null;
  receiver_status: string | null;
  /** Why the server could not be asked, when it could not. */
  error: string | null;
}

/** A row of pg_stat_replication, keyed by PostgreSQL's own column names. */
export interface ReplicationStatus {
  primary: string;
  pid: number;
  usename: string;
  application_name: string;
  client_addr: string | null;
  state: string;
  sent_lsn: string | null;
  write_lsn: string | null;
  flush_lsn: string | null;
  replay_lsn: string | null;
  /** Seconds, as PostgreSQL's write_lag/flush_lag/replay_lag intervals; null when idle. */
  write_lag: number | null;
  flush_lag: number | null;
  replay_lag: number | null;
  sync_priority: number;
  sync_state: string;
  /** pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn): WAL written on the primary and not yet replayed here. */
  replay_lag_bytes: number | null;
}

export interface SlotStatus {
  primary: string;
  slot_name: string;
  slot_type: string;
  active: boolean;
  active_pid: number | null;
  restart_lsn: string | null;
  wal_status: string | null;
  /** pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn): WAL the slot keeps on the primary. */
  retained_bytes: number | null;
}

export interface LabStatus {
  lab: string;
  nodes: NodeStatus[];
  replication: ReplicationStatus[];
  slots: SlotStatus[];
  warnings: string[];
}

const NODE_QUERY = `
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text END AS receive_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_delay,
       -- A standby's timeline is known while its walreceiver runs; the checkpoint's could be an old one.
       CASE WHEN pg_is_in_recovery()
            THEN (SELECT received_tli FROM pg_stat_wal_receiver)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
       (SELECT sender_host FROM pg_stat_wal_receiver) AS upstream,
       (SELECT status FROM pg_stat_wal_receiver) AS receiver_status`;

const REPLICATION_QUERY = `
SELECT pid, usename, application_name, host(client_addr) AS client_addr, state,
       sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
       extract(epoch FROM write_lag)::float8 AS write_lag,
       extract(epoch FROM flush_lag)::float8 AS flush_lag,
       extract(epoch FROM replay_lag)::float8 AS replay_lag,
       sync_priority, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS replay_lag_bytes
FROM pg_stat_replication
ORDER BY sync_priority = 0, sync_priority, length(application_name), application_name`;

const SLOTS_QUERY = `
SELECT slot_name, slot_type, active, active_pid, restart_lsn::text, wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained_bytes
FROM pg_replication_slots
ORDER BY length(slot_name), slot_name`;

interface NodeRow {
  in_recovery: boolean;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_delay: number | null;
  timeline: number | null;
  upstream: string | null;
  receiver_status: string | null;
}

interface NodeProbe {
  status: NodeStatus;
  replication: ReplicationStatus[];
  slots: SlotStatus[];
}

function emptyStatus(node: LabContainer, error: string | null): NodeStatus {
  return {
    name: node.node,
    role: node.role,
    role_source: "label",
    container: node.name,
    container_state: node.state,
    partitioned: node.state !== "exited" && node.state !== "created" && !node.networks.includes(names.network(node.lab)),
    host_port: node.hostPort ?? null,
    timeline: null,
    current_lsn: null,
    receive_lsn: null,
    replay_lsn: null,
    replay_delay: null,
    upstream: null,
    receiver_status: null,
    error,
  };
}

/** A node whose server cannot be asked: its role as its data directory says. */
async function roleFromDataDirectory(engine: DockerEngine, node: LabContainer, error: string): Promise<NodeStatus> {
  const status = emptyStatus(node, error);
  try {
    const standby = await engine.fileExists(node.id, `${PGDATA}/standby.signal`);
    return { ...status, role: standby ? "standby" : "primary", role_source: "data" };
  } catch {
    return status;
  }
}

async function probeNode(engine: DockerEngine, node: LabContainer, endpoint: Endpoint | undefined, timeoutMs: number): Promise<NodeProbe> {
  const unreachable = emptyStatus(node, null);
  if (node.state !== "running" || !endpoint || unreachable.partitioned) {
    const why = unreachable.partitioned ? "partitioned from the lab network" : `container ${node.state}`;
    return { status: await roleFromDataDirectory(engine, node, why), replication: [], slots: [] };
  }
  let session: Session | undefined;
  try {
    session = await openSession(endpoint, { timeoutMs });
    const [row] = await session.query<NodeRow>(NODE_QUERY);
    if (!row) throw new Error("no answer");
    const status: NodeStatus = {
      ...emptyStatus(node, null),
      role: row.in_recovery ? "standby" : "primary",
      role_source: "server",
      timeline: row.timeline,
      current_lsn: row.current_lsn,
      receive_lsn: row.receive_lsn,
      replay_lsn: row.replay_lsn,
      replay_delay: row.replay_delay,
      upstream: row.upstream,
      receiver_status: row.receiver_status,
    };
    if (row.in_recovery) return { status, replication: [], slots: [] };
    const replication = await session.query<Omit<ReplicationStatus, "primary">>(REPLICATION_QUERY);
    const slots = await session.query<Omit<SlotStatus, "primary">>(SLOTS_QUERY);
    return {
      status,
      replication: replication.map((entry) => ({ primary: node.node, ...entry })),
      slots: slots.map((entry) => ({ primary: node.node, ...entry })),
    };
  } catch (error) {
    return { status: await roleFromDataDirectory(engine, node, (error as Error).message), replication: [], slots: [] };
  } finally {
    await session?.close();
  }
}

export async function readLabStatus(engine: DockerEngine, lab: Lab, options: { timeoutMs?: number } = {}): Promise<LabStatus> {
  const endpoints = await labEndpoints(engine, lab);
  const probes = await Promise.all(lab.nodes.map((node) => probeNode(engine, node, endpoints.get(node.node), options.timeoutMs ?? 2000)));
  const nodes = probes.map((probe) => probe.status);
  const warnings: string[] = [];
  const primaries = primariesOf({ nodes });
  if (primaries.length > 1) {
    warnings.push(
      `split brain: ${primaries.map((node) => node.name).join(" and ")} are ${primaries.length === 2 ? "both" : "all"} primaries accepting writes; clients may write to any of them`,
    );
  }
  return {
    lab: lab.name,
    nodes,
    replication: probes.flatMap((probe) => probe.replication),
    slots: probes.flatMap((probe) => probe.slots),
    warnings,
  };
}

/** The node(s) that answer as primaries; more than one is a split brain. */
export function primariesOf(status: Pick<LabStatus, "nodes">): NodeStatus[] {
  return status.nodes.filter((node) => node.role_source === "server" && node.role === "primary");
}
