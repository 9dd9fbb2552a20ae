// What a lab looks like right now: container states from the engine, roles, LSNs and timelines from
// each server, pg_stat_replication and pg_replication_slots from every primary. Each node is asked
// with its own timeout and all at once, so a stopped, paused or cut-off node never makes status hang.
import { PGDATA } from "../core/constants.js";
import { hostAddress } from "../core/hosts.js";
import { hostsView, primariesOf, splitBrainWarning, unreachableBy, type LabStatus, type NodeStatus, type ReplicationStatus, type SlotStatus } from "../core/status.js";
import { endpointOf, type LabContext, type LabNode } from "./context.js";
import type { Leftover } from "./leftovers.js";
import { SessionPool } from "./sessions.js";

// Every node is asked about itself: its role, LSNs, timeline and walreceiver.
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
       -- Through the link delay the walreceiver's peer is 127.0.0.1: the upstream is in its options.
       coalesce(substring(current_setting('primary_conninfo') FROM 'repl_lab\.link=([^/ ]+)/'),
                (SELECT sender_host FROM pg_stat_wal_receiver)) AS upstream,
       CASE WHEN pg_is_in_recovery()
            THEN substring(current_setting('primary_conninfo') FROM 'repl_lab\.link=[^/ ]+/([0-9.]+)')::float8 END AS network_delay_ms,
       (SELECT status FROM pg_stat_wal_receiver) AS receiver_status`;

// A node that answers as a primary is then asked for its pg_stat_replication and
// pg_replication_slots rows, as JSON. (Asked of every node in one query, with a CASE, those two
// views cost each standby some 6 ms of a new backend's planning, on servers that share the
// machine's cores with this process.)
const PRIMARY_QUERY = `
SELECT (SELECT coalesce(json_agg(r ORDER BY r.sync_priority = 0, r.sync_priority, length(r.application_name), r.application_name), '[]')
        FROM (SELECT pid, usename, application_name, host(client_addr) AS client_addr, state,
                     sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
                     extract(epoch FROM write_lag)::float8 AS write_lag,
                     extract(epoch FROM flush_lag)::float8 AS flush_lag,
                     extract(epoch FROM replay_lag)::float8 AS replay_lag,
                     sync_priority, sync_state,
                     pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS replay_lag_bytes
              FROM pg_stat_replication) r) AS replication,
       (SELECT coalesce(json_agg(s ORDER BY length(s.slot_name), s.slot_name), '[]')
        FROM (SELECT slot_name, slot_type, active, active_pid, restart_lsn::text, wal_status, safe_wal_size::float8 AS safe_wal_size,
                     pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained_bytes
              FROM pg_replication_slots) s) AS slots`;

interface NodeRow {
  in_recovery: boolean;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_delay: number | null;
  timeline: number | null;
  upstream: string | null;
  network_delay_ms: number | null;
  receiver_status: string | null;
}

interface PrimaryRow {
  replication: Omit<ReplicationStatus, "primary">[];
  slots: Omit<SlotStatus, "primary">[];
}

interface NodeProbe {
  status: NodeStatus;
  replication: ReplicationStatus[];
  slots: SlotStatus[];
}

function emptyStatus(lab: LabContext, node: LabNode, error: string | null): NodeStatus {
  return {
    name: node.name,
    role: node.roleLabel,
    role_source: "label",
    container: node.container,
    container_state: node.state,
    isolated: node.isolated,
    cannot_reach: unreachableBy(lab.partition?.map)(node.name),
    host_port: node.hostPort ?? null,
    timeline: null,
    current_lsn: null,
    receive_lsn: null,
    replay_lsn: null,
    replay_delay: null,
    upstream: null,
    network_delay_ms: null,
    receiver_status: null,
    error,
  };
}

/** A node whose server cannot be asked: its role as its data directory says. */
async function roleFromDataDirectory(lab: LabContext, node: LabNode, error: string): Promise<NodeStatus> {
  const status = emptyStatus(lab, node, error);
  try {
    const standby = await lab.runtime.engine.fileExists(node.id, `${PGDATA}/standby.signal`);
    return { ...status, role: standby ? "standby" : "primary", role_source: "data" };
  } catch {
    return status;
  }
}

/** pg_is_in_recovery() through the server's own socket, by psql in the node's container; undefined when that fails. */
async function askInside(lab: LabContext, node: LabNode): Promise<boolean | undefined> {
  // HA nodes keep their socket in /tmp (Patroni's configuration); the others in the default directory.
  const script = 'for dir in /tmp /var/run/postgresql; do psql -XAtq -h "$dir" -U postgres -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null && exit 0; done; exit 1';
  try {
    const result = await lab.runtime.engine.exec(node.id, ["bash", "-c", script], { user: "postgres" });
    const answer = result.stdout.trim();
    return result.exitCode === 0 && (answer === "t" || answer === "f") ? answer === "t" : undefined;
  } catch {
    return undefined;
  }
}

async function probeNode(lab: LabContext, node: LabNode, pool: SessionPool): Promise<NodeProbe> {
  const endpoint = endpointOf(lab, node);
  if (node.state !== "running" || !endpoint || node.isolated) {
    pool.drop(node.name);
    const why = node.isolated ? "isolated from the lab network" : `container ${node.state}`;
    if (node.isolated && node.state === "running") {
      // Cut off, it cannot be reached from here, but it still runs and may still be a primary:
      // ask the server itself inside its container, so a split brain shows when there is one.
      const inRecovery = await askInside(lab, node);
      if (inRecovery !== undefined) {
        return {
          status: { ...emptyStatus(lab, node, `${why} (asked inside its container)`), role: inRecovery ? "standby" : "primary", role_source: "server" },
          replication: [],
          slots: [],
        };
      }
    }
    return { status: await roleFromDataDirectory(lab, node, why), replication: [], slots: [] };
  }
  try {
    return await pool.use(endpoint, async (session) => {
      const [row] = await session.query<NodeRow>(NODE_QUERY);
      if (!row) throw new Error("no answer");
      const [primary] = row.in_recovery ? [] : await session.query<PrimaryRow>(PRIMARY_QUERY);
      const status: NodeStatus = {
        ...emptyStatus(lab, node, null),
        role: row.in_recovery ? "standby" : "primary",
        role_source: "server",
        timeline: row.timeline,
        current_lsn: row.current_lsn,
        receive_lsn: row.receive_lsn,
        replay_lsn: row.replay_lsn,
        replay_delay: row.replay_delay,
        upstream: row.upstream,
        network_delay_ms: row.network_delay_ms,
        receiver_status: row.receiver_status,
      };
      return {
        status,
        replication: (primary?.replication ?? []).map((entry) => ({ primary: node.name, ...entry })),
        slots: (primary?.slots ?? []).map((entry) => ({ primary: node.name, ...entry })),
      };
    });
  } catch (error) {
    return { status: await roleFromDataDirectory(lab, node, (error as Error).message), replication: [], slots: [] };
  }
}

export interface StatusOptions {
  /** Bounds connecting to and querying each node (default 2 s). */
  timeoutMs?: number;
  /** Sessions kept between reads (watchLab); without one, each read opens and closes its own. */
  pool?: SessionPool;
}

/** What a standby's log says when it cannot catch up because its primary no longer has the WAL it needs. */
const WAL_GONE = /requested WAL segment \S+ has already been removed|replication slot "[^"]+" .*invalidated|exceeded the maximum reserved size/;

/**
 * A standby that answers but does not stream may be stuck for good: the WAL it needs was removed
 * (no slot, or its slot was invalidated by max_slot_wal_keep_size). Its log says so; only such
 * standbys' logs are read.
 */
async function stuckWarnings(lab: LabContext, nodes: NodeStatus[]): Promise<string[]> {
  const suspects = nodes.filter((node) => node.role_source === "server" && node.role === "standby" && node.receiver_status !== "streaming");
  const warnings = await Promise.all(
    suspects.map(async (status) => {
      const node = lab.nodes.find((candidate) => candidate.name === status.name);
      if (!node) return undefined;
      const line = (await lab.runtime.engine.logs(node.id, 40).catch(() => [])).reverse().find((entry) => WAL_GONE.test(entry));
      if (!line) return undefined;
      const said = line.replace(/^.*?(ERROR|FATAL):\s*/, "");
      return `${status.name} cannot catch up: its primary no longer has the WAL it needs ("${said}"); rebuild it with \`repl-lab rejoin ${status.name} --reclone\``;
    }),
  );
  return warnings.filter((warning): warning is string => warning !== undefined);
}

function leftoverWarning(leftover: Leftover): string {
  const what = leftover.kind === "helper" ? "a helper container" : `${leftover.node}'s old container, renamed aside,`;
  return `${leftover.container} is ${what} left by an interrupted command; the next rejoin, promote or switchover cleans it up (or \`repl-lab down\` removes the lab)`;
}

export async function readLabStatus(lab: LabContext, options: StatusOptions = {}): Promise<LabStatus> {
  const pool = options.pool ?? new SessionPool(lab.runtime.connect, options.timeoutMs ?? 2000);
  try {
    const ha = lab.manager === "patroni" ? import("./ha.js").then(async ({ ifAnswered, readPatroni, readEtcd }) => Promise.all([ifAnswered(readPatroni(lab)), readEtcd(lab)])) : undefined;
    const monitor = lab.monitor ? import("./auto-failover.js").then(({ monitorStatus }) => monitorStatus(lab, pool)) : undefined;
    const proxy = lab.proxy ? import("./proxy.js").then(({ readProxy }) => readProxy(lab)) : undefined;
    const probes = await Promise.all(lab.nodes.map((node) => probeNode(lab, node, pool)));
    const nodes = probes.map((probe, index) => (lab.nodes[index]!.host ? { ...probe.status, host: lab.nodes[index]!.host!.name } : probe.status));
    const splitBrain = splitBrainWarning(primariesOf({ nodes }));
    const status: LabStatus = {
      lab: lab.name,
      nodes,
      replication: probes.flatMap((probe) => probe.replication),
      slots: probes.flatMap((probe) => probe.slots),
      warnings: [...(splitBrain ? [splitBrain] : []), ...(await stuckWarnings(lab, nodes)), ...lab.leftovers.map(leftoverWarning)],
      partition: lab.partition?.map ?? null,
    };
    if (ha) {
      const [patroni, etcd] = await ha;
      status.patroni = patroni ?? null;
      status.etcd = etcd;
      if (!patroni) status.warnings.push("no node's Patroni answered: nothing can fail over until one does");
      if (!etcd.leader) status.warnings.push("etcd has no Raft leader (fewer than two of three members reachable): Patroni cannot hold or take the leader lock");
    }
    if (monitor) {
      const view = await monitor;
      view.cannot_reach = unreachableBy(lab.partition?.map)(lab.monitor!.name);
      status.monitor = view;
      if (!view.answering) status.warnings.push("pg_auto_failover's monitor does not answer: nobody fails over until it does (the keepers keep the roles they have)");
      const unhealthy = view.nodes.filter((node) => node.health === "bad").map((node) => node.name);
      if (unhealthy.length > 0) status.warnings.push(`the monitor's health checks fail for ${unhealthy.join(", ")}`);
    }
    if (lab.hosts) {
      const members = [...lab.nodes, ...lab.etcd, ...(lab.monitor ? [lab.monitor] : []), ...(lab.proxy ? [lab.proxy] : [])];
      status.hosts = hostsView(lab.hosts.hosts.map((host) => ({ ...host, address: hostAddress(host.url) })), members);
      for (const host of status.hosts.filter((entry) => entry.state === "down")) status.warnings.push(`host ${host.name} is down: none of ${host.members.join(", ")} runs (bring it back with \`repl-lab host up ${host.name}\`)`);
    }
    if (proxy) {
      const view = await proxy;
      if (view) {
        status.proxy = view;
        if (view.writer && view.writer.length === 0) status.warnings.push("the proxy has no writer up: its checks find no primary, so the writer port refuses connections");
        if (view.writer && view.writer.length > 1) status.warnings.push(`the proxy's writer port has ${view.writer.join(" and ")} up at once: clients may write to either`);
      }
    }
    return status;
  } finally {
    if (!options.pool) await pool.close();
  }
}
