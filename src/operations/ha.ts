// HA mode's own questions and changes, for the library and the experiments: who leads by the
// manager's word, who holds the leader lock in etcd, and a change to Patroni's dynamic configuration
// (PATCH /config).
import { LabError } from "../core/errors.js";
import type { MonitorEvent } from "../core/status.js";
import { readLab, type LabContext } from "../lab/context.js";
import { patchPatroniConfig, readLeaderKey } from "../lab/ha.js";
import type { Runtime } from "../lab/runtime.js";

async function readHaLab(runtime: Runtime, name: string): Promise<LabContext> {
  const lab = await readLab(runtime, name);
  if (!lab.ha) throw new LabError(`lab "${name}" is not in HA mode`, { hint: "make one with `repl-lab up --ha`" });
  return lab;
}

/** Who the lab's HA manager says leads now: Patroni's lock holder, or the monitor's primary; null while nobody does. */
export async function haLeader(runtime: Runtime, options: { lab: string }): Promise<string | null> {
  const lab = await readHaLab(runtime, options.lab);
  const { managerOf } = await import("../lab/managers.js");
  return (await managerOf(lab)).leader(lab);
}

/** pg_auto_failover: every event its monitor logged at or after `since`, oldest first. */
export async function monitorEvents(runtime: Runtime, options: { lab: string; since: Date }): Promise<MonitorEvent[]> {
  const lab = await readHaLab(runtime, options.lab);
  if (!lab.monitor) throw new LabError(`lab "${options.lab}" runs ${lab.manager}, which has no monitor`, { hint: "make one with `repl-lab up --ha --manager pg_auto_failover`" });
  const { monitorEventsSince } = await import("../lab/auto-failover.js");
  return monitorEventsSince(lab, options.since);
}

/** The member holding the leader lock (etcd's /service/<lab>/leader key); null while nobody does. */
export async function leaderLock(runtime: Runtime, options: { lab: string }): Promise<string | null> {
  return (await readLeaderKey(await readHaLab(runtime, options.lab))).holder;
}

/** Patroni's dynamic configuration changed for the whole cluster (e.g. { ttl: 30, loop_wait: 10, retry_timeout: 10 }). */
export async function configurePatroni(runtime: Runtime, options: { lab: string; change: Record<string, unknown> }): Promise<void> {
  await patchPatroniConfig(await readHaLab(runtime, options.lab), options.change);
}
