// The HA manager seam: what promote, switchover and rejoin ask of whichever manager runs a lab
// (Patroni through its REST API, pg_auto_failover through its monitor), in one shape, so the
// operations above do not tell the managers apart.
import type { Progress } from "../core/progress.js";
import type { ManagerChange } from "../core/status.js";
import type { HaManager } from "../core/topology.js";
import type { LabContext, LabNode } from "./context.js";

export interface Manager {
  readonly name: HaManager;
  /** Who the manager says leads now (Patroni's leader lock, the monitor's primary); null when nobody does. */
  leader(lab: LabContext): Promise<string | null>;
  /** A switchover from the leader, or a failover (promotion) to `candidate`, done by the manager and watched until done. */
  change(lab: LabContext, kind: "switchover" | "failover", candidate: string, options: { progress?: Progress; signal?: AbortSignal }): Promise<ManagerChange>;
  /** A stopped or lost node brought back as a follower by the manager. */
  rejoin(lab: LabContext, node: LabNode, reclone: boolean, options: { signal?: AbortSignal }): Promise<{ leader: string; reason: string }>;
}

/** The manager of an HA lab (loaded on first use: only HA commands pay for it). */
export async function managerOf(lab: LabContext): Promise<Manager> {
  if (lab.manager === "pg_auto_failover") {
    const { autoFailoverChange, autoFailoverRejoin, readMonitor } = await import("./auto-failover.js");
    return {
      name: "pg_auto_failover",
      leader: async (context) => (await readMonitor(context)).primary,
      change: autoFailoverChange,
      rejoin: autoFailoverRejoin,
    };
  }
  const { patroniChange, patroniRejoin, readPatroni } = await import("./ha.js");
  return {
    name: "patroni",
    leader: async (context) => (await readPatroni(context)).leader,
    change: patroniChange,
    rejoin: patroniRejoin,
  };
}

/** How the manager is named in progress lines and results. */
export function managerTitle(manager: HaManager): string {
  return manager === "patroni" ? "Patroni" : "pg_auto_failover's monitor";
}
