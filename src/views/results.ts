// Every line a person reads about a command's result: each function turns the result a command
// returned into text, and prints nothing itself.
import type { ChalkInstance } from "chalk";
import type { LabEvent } from "../core/events.js";
import type { DelayResult } from "../operations/delay.js";
import type { FaultResult } from "../operations/fault.js";
import type { HostFaultResult, HostInitResult } from "../operations/host.js";
import type { PartitionResult } from "../operations/partition.js";
import type { PromoteResult } from "../operations/promote.js";
import type { RejoinResult } from "../operations/rejoin.js";
import type { SwitchoverResult } from "../operations/switchover.js";
import type { SyncResult } from "../operations/sync.js";
import type { UpResult } from "../operations/up.js";
import type { LabSummary, RemovedResources } from "../lab/context.js";
import type { LabTick, TimedLabEvent } from "../lab/watch.js";
import type { QueryResult } from "../postgres.js";
import { renderStatus, replicationTable } from "./status.js";
import { table } from "./table.js";

/** ` --lab NAME` unless it is the default lab, for the next command a view suggests. */
function labFlag(lab: string, defaultLab: string): string {
  return lab === defaultLab ? "" : ` --lab ${lab}`;
}

export function upView(result: UpResult, colour: ChalkInstance, defaultLab: string): string {
  const out = table(["node", "role", "port", "url"], colour);
  for (const node of result.nodes) out.push([node.name, node.role, node.port ?? "-", node.url ?? "-"]);
  return [
    `lab ${colour.bold(result.lab)} is up in ${(result.elapsed_ms / 1000).toFixed(1)} s: ${result.image}, ` +
      `synchronous_standby_names = '${result.synchronous_standby_names}', synchronous_commit = ${result.synchronous_commit}`,
    out.toString(),
    colour.dim(`next: repl-lab status${labFlag(result.lab, defaultLab)}`),
  ].join("\n");
}

export function downView(removed: RemovedResources, keepVolumes: boolean): string {
  return (
    `removed lab ${removed.lab}: ${removed.containers.length} containers, ${removed.networks.length} network, ` +
    (keepVolumes ? "volumes kept" : `${removed.volumes.length} volumes`)
  );
}

export function lsView(labs: LabSummary[], colour: ChalkInstance): string {
  if (labs.length === 0) return "no labs on this engine (start one with `repl-lab up`)";
  const spread = labs.some((lab) => lab.hosts);
  const out = table(["lab", "nodes", "running", "volumes", ...(spread ? ["hosts"] : [])], colour);
  for (const lab of labs) {
    const hosts = lab.hosts ? [lab.hosts.map((host) => (lab.silent_hosts?.includes(host) ? colour.red(`${host} (does not answer)`) : host)).join(", ")] : spread ? ["-"] : [];
    out.push([lab.lab, [String(lab.nodes), ...(lab.etcd ? [`${lab.etcd} etcd`] : []), ...Object.keys(lab.members ?? {})].join(" + "), lab.running, lab.volumes, ...hosts]);
  }
  return out.toString();
}

const variable = (name: string) => `${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_URL`;

/** LEADER_URL, STANDBY1_URL, …, PRIMARY_URL, STANDBY_URL as shell export lines. */
export function exportLines(urls: Record<string, string>): string {
  return Object.entries(urls)
    .map(([name, url]) => `export ${variable(name)}='${url}'`)
    .join("\n");
}

/** The same as NAME=value lines, for a .env file or GitHub Actions' $GITHUB_ENV. */
export function dotenvLines(urls: Record<string, string>): string {
  return Object.entries(urls)
    .map(([name, url]) => `${variable(name)}=${url}`)
    .join("\n");
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function sqlView(result: QueryResult, colour: ChalkInstance): string {
  if (result.fields.length === 0) return `${result.command}${result.rowCount === null ? "" : ` ${result.rowCount}`}`;
  const out = table(result.fields, colour);
  for (const row of result.rows) out.push(result.fields.map((field) => formatCell(row[field])));
  return `${out.toString()}\n${colour.dim(`(${result.rows.length} row${result.rows.length === 1 ? "" : "s"})`)}`;
}

export function faultView(result: FaultResult): string {
  return `${result.message} (${result.before} → ${result.after}, ${result.elapsed_ms} ms)`;
}

export function hostFaultView(result: HostFaultResult): string {
  return `${result.message} (${result.elapsed_ms} ms)`;
}

export function hostInitView(result: HostInitResult): string {
  return [`swarm manager: ${result.manager}`, ...result.hosts.map((host) => `${host.name} (${host.url}): ${host.state}`)].join("\n");
}

export function partitionView(result: PartitionResult): string {
  const lines = [`${result.message} (${result.elapsed_ms} ms)`];
  if (result.action === "partition" && result.partition) lines.push("next: repl-lab status shows who cannot reach whom; repl-lab heal removes the cut");
  return lines.join("\n");
}

export function delayView(result: DelayResult): string {
  const link = result.network_delay_ms === null ? "" : `, link to ${result.upstream} +${result.network_delay_ms} ms each way`;
  return `${result.node}: recovery_min_apply_delay = ${result.recovery_min_apply_delay}${link}`;
}

export function syncView(result: SyncResult, colour: ChalkInstance): string {
  const lines = [`${result.primary}: synchronous_standby_names = '${result.synchronous_standby_names ?? ""}', synchronous_commit = ${result.synchronous_commit}`];
  if (result.replication.length > 0) lines.push(replicationTable(result.replication, colour));
  if (!result.settled) lines.push(colour.yellow("pg_stat_replication did not show the expected sync states within 10 s"));
  return lines.join("\n");
}

export function promoteView(result: PromoteResult, colour: ChalkInstance): string {
  const lines = [`${result.new_primary} is primary on timeline ${result.timeline ?? "?"} (pg_promote took ${result.promote_ms} ms)`];
  if (result.following.length > 0) lines.push(`following it: ${result.following.join(", ")}`);
  for (const name of result.not_following) lines.push(colour.yellow(`${name} could not follow (it may have WAL the new primary lacks): repl-lab rejoin ${name}`));
  if (result.split_brain.length > 0) {
    const who = result.split_brain.join(", ");
    const verb = result.split_brain.length === 1 ? "runs" : "run";
    lines.push(colour.red.bold(`SPLIT BRAIN: ${who} still ${verb} as primary and accept writes. Stop it, or rejoin it: repl-lab rejoin ${result.split_brain[0]}`));
  }
  return lines.join("\n");
}

export function rejoinView(result: RejoinResult): string {
  return `${result.node} follows ${result.primary} again, by ${result.method}: ${result.reason} (${(result.elapsed_ms / 1000).toFixed(1)} s)`;
}

export function switchoverView(result: SwitchoverResult, colour: ChalkInstance): string {
  const lines = [
    `${result.new_primary} is primary; ${result.old_primary} follows it (${result.rejoin.method}). ` +
      `Writes were refused for ${result.unavailable_ms} ms.`,
  ];
  for (const name of result.not_following) lines.push(colour.yellow(`${name} could not follow: repl-lab rejoin ${name}`));
  return lines.join("\n");
}

/** One line: "standby2  sync_state potential → sync (on leader)". */
export function describeEvent(event: LabEvent): string {
  const where = event.primary ? ` (on ${event.primary})` : "";
  if (event.field === "warning") return `WARNING ${event.to}`;
  if (event.field === "replication") {
    return event.to === null ? `${event.node}  walsender gone${where} (was ${event.from})` : `${event.node}  walsender connected${where}: ${event.to}`;
  }
  return `${event.node}  ${event.field} ${event.from ?? "-"} → ${event.to ?? "-"}${where}`;
}

/** "17:09:22.365  standby1  container running → exited" (UTC, as the JSON's time). */
export function eventLine(event: TimedLabEvent): string {
  return `${event.time.slice(11, 23)}  ${describeEvent(event)}`;
}

/** One redraw of `status --watch`. */
export function watchScreen(tick: LabTick, colour: ChalkInstance, intervalMs: number): string {
  return `${renderStatus(tick.status, colour)}\n${colour.dim(`${new Date(tick.time).toLocaleTimeString()} · every ${intervalMs / 1000} s · Ctrl-C to stop`)}`;
}
