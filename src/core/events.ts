// What changed between two looks at a lab: one event per change in container state, role, timeline,
// walsender state or sync_state, so a person can read afterwards how long each step took.
import type { LabStatus } from "./status.js";

export interface LabEvent {
  node: string;
  field:
    | "container"
    | "isolated"
    | "cannot_reach"
    | "role"
    | "server"
    | "timeline"
    | "replication"
    | "state"
    | "sync_state"
    | "warning"
    // HA mode: the leader lock (etcd's /leader key, as Patroni reports it), each member's Patroni role, etcd's Raft leader.
    | "leader_lock"
    | "patroni_role"
    | "raft_leader"
    // pg_auto_failover: each state transition the monitor records (pgautofailover.event), its primary.
    | "monitor_state"
    | "monitor_primary"
    // --proxy: the servers HAProxy sends writers to.
    | "proxy_writer";
  from: string | null;
  to: string | null;
  /** The primary whose pg_stat_replication row changed. */
  primary?: string;
}

const show = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/**
 * Why the lock went: a holder whose container was already down, frozen or cut off a moment before
 * could not renew it, so it expired (after ttl); one still running released it (a clean stop or a
 * switchover: Patroni deletes the key as it steps down).
 */
function lockGone(previous: LabStatus, holder: string | null): string {
  const node = previous.nodes.find((candidate) => candidate.name === holder);
  if (!node) return "nobody";
  return node.container_state !== "running" || node.isolated || node.cannot_reach.length > 0 ? "nobody (expired)" : "nobody (released)";
}

export function diffStatus(previous: LabStatus | undefined, next: LabStatus): LabEvent[] {
  const events: LabEvent[] = [];
  for (const node of next.nodes) {
    const before = previous?.nodes.find((candidate) => candidate.name === node.name);
    const change = (field: LabEvent["field"], from: unknown, to: unknown) => {
      if (show(from) !== show(to)) events.push({ node: node.name, field, from: show(from), to: show(to) });
    };
    change("container", before?.container_state, node.container_state);
    if (before?.isolated !== node.isolated && (before || node.isolated)) change("isolated", before?.isolated ?? false, node.isolated);
    const reach = (list: string[] | undefined) => (list && list.length > 0 ? list.join(", ") : null);
    change("cannot_reach", reach(before?.cannot_reach), reach(node.cannot_reach));
    const answers = (status: typeof node | undefined) => (status === undefined ? null : status.role_source === "server" ? "answering" : "not answering");
    change("server", answers(before), answers(node));
    if (node.role_source === "server") change("role", before?.role_source === "server" ? before.role : null, node.role);
    if (node.timeline !== null) change("timeline", before?.timeline ?? null, node.timeline);
  }
  const key = (row: { primary: string; application_name: string }) => `${row.primary}/${row.application_name}`;
  const previousRows = new Map((previous?.replication ?? []).map((row) => [key(row), row]));
  const nextRows = new Map(next.replication.map((row) => [key(row), row]));
  for (const [rowKey, row] of nextRows) {
    const before = previousRows.get(rowKey);
    const base = { node: row.application_name, primary: row.primary };
    if (!before) {
      events.push({ ...base, field: "replication", from: null, to: `${row.state}, ${row.sync_state}` });
      continue;
    }
    if (before.state !== row.state) events.push({ ...base, field: "state", from: before.state, to: row.state });
    if (before.sync_state !== row.sync_state) events.push({ ...base, field: "sync_state", from: before.sync_state, to: row.sync_state });
  }
  for (const [rowKey, row] of previousRows) {
    if (!nextRows.has(rowKey)) {
      events.push({ node: row.application_name, primary: row.primary, field: "replication", from: `${row.state}, ${row.sync_state}`, to: null });
    }
  }
  if (next.patroni) {
    // Only between two answers from Patroni: a moment when none answers says nothing about the lock.
    const before = previous?.patroni ?? undefined;
    if (before && before.leader !== next.patroni.leader) {
      events.push({ node: "patroni", field: "leader_lock", from: before.leader ?? "nobody", to: next.patroni.leader ?? lockGone(previous!, before.leader) });
    }
    for (const member of next.patroni.members) {
      const was = before?.members.find((candidate) => candidate.name === member.name);
      if (before && show(was?.role) !== member.role) events.push({ node: member.name, field: "patroni_role", from: show(was?.role), to: member.role });
    }
  }
  if (next.etcd && previous?.etcd) {
    const [before, after] = [previous.etcd, next.etcd];
    if (before.leader !== after.leader || before.raft_term !== after.raft_term) {
      const describe = (view: typeof after) => `${view.leader ?? "none"} (term ${view.raft_term ?? "?"})`;
      events.push({ node: "etcd", field: "raft_leader", from: describe(before), to: describe(after) });
    }
  }
  if (next.monitor && previous?.monitor) {
    const [before, after] = [previous.monitor, next.monitor];
    if (before.container_state !== after.container_state) events.push({ node: "monitor", field: "container", from: before.container_state, to: after.container_state });
    if (before.answering && after.answering && before.primary !== after.primary) events.push({ node: "monitor", field: "monitor_primary", from: before.primary ?? "none", to: after.primary ?? "none" });
    // Every transition the monitor recorded since the last look (its own log, so none is missed between looks).
    const seen = Math.max(0, ...before.events.map((event) => event.id));
    for (const event of after.events) {
      if (before.answering && event.id > seen) events.push({ node: event.node, field: "monitor_state", from: event.reported_state, to: event.goal_state });
    }
  }
  if (next.proxy?.writer && previous?.proxy?.writer) {
    const list = (servers: string[]) => (servers.length > 0 ? servers.join(", ") : "none");
    if (list(previous.proxy.writer) !== list(next.proxy.writer)) events.push({ node: "proxy", field: "proxy_writer", from: list(previous.proxy.writer), to: list(next.proxy.writer) });
  }
  for (const warning of next.warnings) {
    if (!previous?.warnings.includes(warning)) events.push({ node: "lab", field: "warning", from: null, to: warning });
  }
  return events;
}
