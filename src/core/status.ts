// What a lab looks like at one moment, keyed by PostgreSQL's own names: the shape of `status --json`,
// of the library's lab.status() and of every snapshot watchLab() produces.
import type { ContainerState } from "./engine.js";
import { memberRules, type PartitionMap } from "./partition.js";

export interface NodeStatus {
  name: string;
  /**
   * From the server (pg_is_in_recovery) when it answers; for a stopped or frozen node, from its data
   * directory (standby.signal, what PostgreSQL itself will read when it starts); else the label.
   */
  role: string;
  role_source: "server" | "data" | "label";
  container: string;
  container_state: ContainerState;
  /** Running but off the lab network (`repl-lab partition --isolate`): not even clients reach it. */
  isolated: boolean;
  /** Members its packets cannot reach, by the cut in force (`repl-lab partition`); empty when none. */
  cannot_reach: string[];
  host_port: number | null;
  timeline: number | null;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  /** now() - pg_last_xact_replay_timestamp(), seconds; grows on an idle lab. */
  replay_delay: number | null;
  /** Who this standby's walreceiver streams from, and its status (pg_stat_wal_receiver). */
  upstream: string | null;
  /** One-way latency added to this standby's replication link (`delay --network`), in ms; null: none. */
  network_delay_ms: number | null;
  receiver_status: string | null;
  /** Why the server could not be asked, when it could not. */
  error: string | null;
  /** A lab across engines: the host it runs on. */
  host?: string;
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
  /** Bytes that can still be written before this slot is in danger of losing WAL (max_slot_wal_keep_size); null when unlimited. */
  safe_wal_size: number | null;
  /** pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn): WAL the slot keeps on the primary. */
  retained_bytes: number | null;
}

// HA mode: what Patroni and etcd report.

/** One member as Patroni's GET /cluster reports it (the columns `patronictl list` shows). */
export interface PatroniMember {
  name: string;
  /** leader, replica, sync_standby, quorum_standby, standby_leader */
  role: string;
  /** running, streaming, starting, stopped, crashed, … */
  state: string;
  timeline: number | null;
  /** Bytes behind the leader, as Patroni computes it; null for the leader or when unknown. */
  lag: number | null;
}

export interface PatroniView {
  /** Whose Patroni answered. */
  source: string;
  /** The holder of the leader lock (the /leader key in etcd), or null while nobody holds it. */
  leader: string | null;
  members: PatroniMember[];
}

export interface EtcdMember {
  name: string;
  container_state: ContainerState;
  isolated: boolean;
  cannot_reach: string[];
  /** The member's id, as etcd prints it (hex). */
  id: string;
  /** Whether it answered its status request. */
  answering: boolean;
  is_leader: boolean;
  raft_term: number | null;
  raft_index: number | null;
}

export interface EtcdView {
  /** The Raft leader as the answering members report it (null when none is known). */
  leader: string | null;
  raft_term: number | null;
  members: EtcdMember[];
}

// HA mode with pg_auto_failover: what its monitor reports (`pg_autoctl show state` and `show events`).

export interface MonitorNode {
  name: string;
  node_id: number;
  /** The state the node's keeper last reported, and the one the monitor assigned it (pg_auto_failover's FSM: single, primary, wait_primary, secondary, catchingup, demoted, …). */
  reported_state: string;
  assigned_state: string;
  /** The monitor's health check of the node. */
  health: "good" | "bad" | "unknown";
  reported_lsn: string;
  reported_tli: number;
  candidate_priority: number;
  replication_quorum: boolean;
}

/** One of the monitor's state transitions (pgautofailover.event). */
export interface MonitorEvent {
  id: number;
  time: string;
  node: string;
  reported_state: string;
  goal_state: string;
  description: string;
}

export interface MonitorView {
  container_state: ContainerState;
  isolated: boolean;
  cannot_reach: string[];
  /** Whether the monitor answered; when it does not, nobody fails over. */
  answering: boolean;
  /** The node the monitor has made the primary (assigned and reported writable); null while none is. */
  primary: string | null;
  number_sync_standbys: number | null;
  nodes: MonitorNode[];
  /** Its latest state transitions, oldest first. */
  events: MonitorEvent[];
}

/** HA mode with --proxy: HAProxy's ports and where its checks send clients now. */
export interface ProxyView {
  container_state: ContainerState;
  writer_port: number | null;
  reader_port: number | null;
  /** The servers HAProxy has up behind each port (its checks' verdict); null when it did not answer. */
  writer: string[] | null;
  reader: string[] | null;
}

/** A switchover or failover done by an HA manager (Patroni or pg_auto_failover), as it was watched to the end. */
export interface ManagerChange {
  /** From the request until the candidate answers as the primary. */
  promote_ms: number;
  /** The manager's own answer. */
  said: string;
  /** Members following the new leader once the manager reports them so, and those that do not (yet). */
  following: string[];
  not_following: string[];
  timeline: number | null;
}

export interface LabStatus {
  lab: string;
  nodes: NodeStatus[];
  replication: ReplicationStatus[];
  slots: SlotStatus[];
  warnings: string[];
  /** The cut by packet filter in force (`repl-lab partition`): groups of members that cannot reach each other; null when none. */
  partition: PartitionMap | null;
  /** HA mode only: Patroni's view (null when no Patroni answers) and etcd's members. */
  patroni?: PatroniView | null;
  etcd?: EtcdView;
  /** HA mode with pg_auto_failover: the monitor's view. */
  monitor?: MonitorView;
  /** HA mode with --proxy. */
  proxy?: ProxyView;
  /** A lab across engines: each host, its members and whether they run. */
  hosts?: HostView[];
}

/** A host of a lab across engines, as status shows it. */
export interface HostView {
  name: string;
  url: string;
  /** Where its published ports are reached. */
  address: string;
  /** up: every member of the lab on it runs; down: none does (`host down`, or a crash); partly up otherwise. */
  state: "up" | "down" | "partly up";
  members: string[];
  running: number;
}

/** Each host's state from its members' containers (the engines answered: status read them). */
export function hostsView(hosts: { name: string; url: string; address: string }[], members: { name: string; state: ContainerState; host?: { name: string } | undefined }[]): HostView[] {
  return hosts.map((host) => {
    const on = members.filter((member) => member.host?.name === host.name);
    const running = on.filter((member) => member.state === "running").length;
    // A host with none of the lab's members is up: its engine answered.
    const state = running === on.length ? "up" : running === 0 ? "down" : "partly up";
    return { name: host.name, url: host.url, address: host.address, state, members: on.map((member) => member.name), running };
  });
}

/** The node(s) that answer as primaries; more than one is a split brain. */
export function primariesOf(status: Pick<LabStatus, "nodes">): NodeStatus[] {
  return status.nodes.filter((node) => node.role_source === "server" && node.role === "primary");
}

export function splitBrainWarning(primaries: readonly NodeStatus[]): string | undefined {
  if (primaries.length < 2) return undefined;
  return `split brain: ${primaries.map((node) => node.name).join(" and ")} are ${primaries.length === 2 ? "both" : "all"} primaries accepting writes; clients may write to any of them`;
}

/** Members each member cannot reach under a cut (its packets to them are dropped). */
export function unreachableBy(map: PartitionMap | null | undefined): (member: string) => string[] {
  if (!map) return () => [];
  const rules = memberRules(map);
  const blocked = new Map<string, Set<string>>();
  for (const [member, { dropTo }] of rules) for (const other of dropTo) (blocked.get(member) ?? blocked.set(member, new Set()).get(member)!).add(other);
  // Dropped at the receiver counts too: the packet never arrives.
  for (const [member, { dropFrom }] of rules) for (const other of dropFrom) (blocked.get(other) ?? blocked.set(other, new Set()).get(other)!).add(member);
  return (member) => [...(blocked.get(member) ?? [])];
}
