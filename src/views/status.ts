// The status screen: nodes, then each primary's pg_stat_replication and slots, then warnings.
import type { ChalkInstance } from "chalk";
import { describeMap } from "../core/partition.js";
import type { HostView, LabStatus, NodeStatus, ReplicationStatus, SlotStatus } from "../core/status.js";
import { colourState, dash, formatBytes, formatSeconds, table } from "./table.js";

/** Replay delay, now() - pg_last_xact_replay_timestamp() on the standby, marked when it has replayed all it received. */
function replayDelayCell(node: NodeStatus): string {
  if (node.role !== "standby" || node.replay_delay === null) return "-";
  const caughtUp = node.receive_lsn !== null && node.receive_lsn === node.replay_lsn;
  return `${formatSeconds(node.replay_delay)}${caughtUp ? " (caught up)" : ""}`;
}

/** "leader (streaming)", with the link's added latency when it has one. */
function upstreamCell(node: NodeStatus): string {
  if (!node.upstream) return "-";
  const link = node.network_delay_ms === null ? "" : ` +${node.network_delay_ms} ms link`;
  return `${node.upstream} (${node.receiver_status ?? "?"})${link}`;
}

/** The container's state, and whether it is off the network or cut from some members. */
function containerCell(node: { container_state: NodeStatus["container_state"]; isolated: boolean; cannot_reach: string[] }, colour: ChalkInstance): string {
  if (node.isolated) return colour.red(`${node.container_state}, isolated`);
  if (node.cannot_reach.length > 0) return colourState(node.container_state, colour) + colour.red(", cut");
  return colourState(node.container_state, colour);
}

/** The cut in force, and who cannot reach whom. */
function partitionLines(status: LabStatus, colour: ChalkInstance): string[] {
  const isolated = [...status.nodes, ...(status.etcd?.members ?? []), ...(status.monitor?.isolated ? [{ name: "monitor", isolated: true }] : [])].filter((member) => member.isolated).map((member) => member.name);
  const lines: string[] = [];
  if (status.partition) {
    lines.push(colour.bold(`partition (packet filter): ${describeMap(status.partition)}`));
    for (const member of [...status.nodes, ...(status.etcd?.members ?? [])]) {
      if (member.cannot_reach.length > 0) lines.push(`  ${member.name} cannot reach ${member.cannot_reach.join(", ")}`);
    }
  }
  if (isolated.length > 0) lines.push(colour.bold(`off the lab network (isolated): ${isolated.join(", ")}`));
  return lines;
}

function nodesTable(nodes: NodeStatus[], colour: ChalkInstance): string {
  // A lab across engines shows each node's host beside its container.
  const spread = nodes.some((node) => node.host !== undefined);
  const out = table(["node", "role", ...(spread ? ["host"] : []), "container", "port", "timeline", "current_lsn", "receive_lsn", "replay_lsn", "replay delay", "upstream"], colour);
  for (const node of nodes) {
    const role = node.role_source === "server" ? colourState(node.role, colour) : colour.dim(`${node.role}?`);
    out.push([
      node.name,
      role,
      ...(spread ? [dash(node.host)] : []),
      containerCell(node, colour),
      dash(node.host_port),
      dash(node.timeline),
      dash(node.current_lsn),
      dash(node.receive_lsn),
      dash(node.replay_lsn),
      replayDelayCell(node),
      upstreamCell(node),
    ]);
  }
  return out.toString();
}

export function replicationTable(rows: ReplicationStatus[], colour: ChalkInstance): string {
  const out = table(
    ["application_name", "client_addr", "state", "sync_priority", "sync_state", "sent_lsn", "write_lsn", "flush_lsn", "replay_lsn", "lag", "write_lag", "flush_lag", "replay_lag"],
    colour,
  );
  for (const row of rows) {
    out.push([
      row.application_name,
      dash(row.client_addr),
      colourState(row.state, colour),
      String(row.sync_priority),
      colourState(row.sync_state, colour),
      dash(row.sent_lsn),
      dash(row.write_lsn),
      dash(row.flush_lsn),
      dash(row.replay_lsn),
      formatBytes(row.replay_lag_bytes),
      formatSeconds(row.write_lag),
      formatSeconds(row.flush_lag),
      formatSeconds(row.replay_lag),
    ]);
  }
  return out.toString();
}

function slotsTable(rows: SlotStatus[], colour: ChalkInstance): string {
  const out = table(["slot_name", "slot_type", "active", "restart_lsn", "wal_status", "safe_wal_size", "retained"], colour);
  for (const row of rows) {
    out.push([
      row.slot_name,
      row.slot_type,
      row.active ? colour.green("yes") : colour.yellow("no"),
      dash(row.restart_lsn),
      dash(row.wal_status),
      formatBytes(row.safe_wal_size),
      formatBytes(row.retained_bytes),
    ]);
  }
  return out.toString();
}

/** HA mode: Patroni's members as `patronictl list` shows them, and etcd's members with the Raft leader and term. */
function haTables(status: LabStatus, colour: ChalkInstance): string[] {
  const parts: string[] = [];
  if (status.patroni) {
    parts.push(colour.bold(`Patroni (cluster ${status.lab}, leader lock: ${status.patroni.leader ?? "nobody"}; asked ${status.patroni.source})`));
    const out = table(["Member", "Role", "State", "TL", "Lag in MB"], colour);
    for (const member of status.patroni.members) {
      out.push([
        member.name,
        member.role === "leader" ? colour.bold(member.role) : member.role,
        member.state === "running" || member.state === "streaming" ? member.state : colour.yellow(member.state),
        dash(member.timeline),
        member.lag === null ? "" : (member.lag / 1048576).toFixed(1),
      ]);
    }
    parts.push(out.toString());
  } else {
    parts.push(colour.bold("Patroni"), colour.yellow("(no node's Patroni answered)"));
  }
  if (status.etcd) {
    parts.push(colour.bold(`etcd (Raft leader: ${status.etcd.leader ?? "none"}, term ${dash(status.etcd.raft_term)})`));
    const out = table(["member", "id", "container", "answering", "raft leader", "raft_term", "raft_index"], colour);
    for (const member of status.etcd.members) {
      out.push([
        member.name,
        member.id || "-",
        containerCell(member, colour),
        member.answering ? "yes" : colour.yellow("no"),
        member.is_leader ? colour.bold("leader") : "",
        dash(member.raft_term),
        dash(member.raft_index),
      ]);
    }
    parts.push(out.toString());
  }
  return parts;
}

/** pg_auto_failover: the monitor's view as `pg_autoctl show state` prints it. */
function monitorTable(status: LabStatus, colour: ChalkInstance): string[] {
  const monitor = status.monitor!;
  if (!monitor.answering) return [colour.bold(`pg_auto_failover monitor (container ${monitor.container_state})`), colour.yellow("(the monitor does not answer: nobody fails over until it does)")];
  const parts = [colour.bold(`pg_auto_failover monitor (primary: ${monitor.primary ?? "none"}, number_sync_standbys ${dash(monitor.number_sync_standbys)})`)];
  const out = table(["Name", "Node", "TLI: LSN", "Health", "Reported State", "Assigned State", "Priority", "Quorum"], colour);
  for (const node of monitor.nodes) {
    const settled = node.reported_state === node.assigned_state;
    out.push([
      node.name,
      String(node.node_id),
      `${node.reported_tli}: ${node.reported_lsn}`,
      node.health === "good" ? node.health : colour.yellow(node.health),
      settled ? node.reported_state : colour.yellow(node.reported_state),
      settled ? node.assigned_state : colour.yellow(node.assigned_state),
      String(node.candidate_priority),
      node.replication_quorum ? "yes" : "no",
    ]);
  }
  parts.push(out.toString());
  return parts;
}

/** HA mode with --proxy: where HAProxy sends writers and readers now. */
function proxyLines(status: LabStatus, colour: ChalkInstance): string[] {
  const proxy = status.proxy!;
  const servers = (list: string[] | null) => (list === null ? colour.yellow("(HAProxy did not answer)") : list.length === 0 ? colour.yellow("none") : list.join(", "));
  return [
    colour.bold(`proxy (HAProxy, container ${proxy.container_state})`),
    `  writer 127.0.0.1:${dash(proxy.writer_port)} -> ${servers(proxy.writer)}`,
    `  reader 127.0.0.1:${dash(proxy.reader_port)} -> ${servers(proxy.reader)}`,
  ];
}

/** A lab across engines: each host, its engine, and which of the lab's members run there. */
function hostsTable(hosts: HostView[], colour: ChalkInstance): string {
  const out = table(["host", "engine", "state", "members", "running"], colour);
  for (const host of hosts) {
    const state = host.state === "up" ? colour.green(host.state) : host.state === "down" ? colour.red(host.state) : colour.yellow(host.state);
    out.push([host.name, host.url, state, host.members.join(", ") || "-", `${host.running}/${host.members.length}`]);
  }
  return out.toString();
}

/** The whole status screen: nodes (and hosts), then each primary's pg_stat_replication and slots, then warnings. */
export function renderStatus(status: LabStatus, colour: ChalkInstance): string {
  const parts: string[] = [colour.bold(`lab ${status.lab}`), nodesTable(status.nodes, colour), ...(status.hosts ? [hostsTable(status.hosts, colour)] : []), ...partitionLines(status, colour)];
  const primaries = [...new Set([...status.replication.map((row) => row.primary), ...status.slots.map((row) => row.primary)])];
  for (const node of status.nodes) {
    if (node.role === "primary" && node.role_source === "server" && !primaries.includes(node.name)) primaries.push(node.name);
  }
  for (const primary of primaries) {
    const replication = status.replication.filter((row) => row.primary === primary);
    parts.push(colour.bold(`pg_stat_replication on ${primary}`));
    parts.push(replication.length > 0 ? replicationTable(replication, colour) : colour.dim("(no standby connected)"));
    const slots = status.slots.filter((row) => row.primary === primary);
    parts.push(colour.bold(`pg_replication_slots on ${primary}`));
    parts.push(slots.length > 0 ? slotsTable(slots, colour) : colour.dim("(no replication slots)"));
  }
  if (status.patroni !== undefined) parts.push(...haTables(status, colour));
  if (status.monitor) parts.push(...monitorTable(status, colour));
  if (status.proxy) parts.push(...proxyLines(status, colour));
  for (const node of status.nodes) {
    if (node.error && node.container_state === "running") parts.push(colour.yellow(`${node.name}: could not ask the server: ${node.error}`));
  }
  for (const warning of status.warnings) parts.push(colour.red.bold(`WARNING: ${warning}`));
  return parts.join("\n");
}
