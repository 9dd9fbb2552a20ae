// repl-lab promote <node>: pg_promote on a standby, then every other running standby follows it.
import { LabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { primariesOf, type NodeStatus } from "../core/status.js";
import { readLabForChange } from "../lab/context.js";
import { followNewPrimary, nodeStatus, promoteServer } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { readLabStatus } from "../lab/status.js";

export interface PromoteResult {
  new_primary: string;
  promote_ms: number;
  /** Standbys now streaming from the new primary, and those that could not follow (they need rejoin). */
  following: string[];
  not_following: string[];
  /** Other nodes that still answer as primaries: a split brain. */
  split_brain: string[];
  timeline: number | null;
}

/** Why a node cannot be promoted, or undefined when it can. */
export function promoteRefusal(node: NodeStatus): LabError | undefined {
  if (node.role_source !== "server") {
    return new LabError(`cannot promote ${node.name}: its server does not answer (${node.error ?? node.container_state})`, {
      hint: node.container_state === "running" ? undefined : `start it with \`repl-lab start ${node.name}\``,
    });
  }
  if (node.role === "primary") return new LabError(`${node.name} is already a primary`, { hint: "promote one of its standbys instead" });
  return undefined;
}

export async function promote(runtime: Runtime, options: { lab: string; node: string; signal?: AbortSignal }, progress: Progress = silentProgress): Promise<PromoteResult> {
  const lab = await readLabForChange(runtime, options.lab, progress);
  if (lab.ha) {
    // HA mode: the manager promotes (a manual failover to the candidate) and re-points the others.
    const { managerOf, managerTitle } = await import("../lab/managers.js");
    const manager = await managerOf(lab);
    progress.step(`asking ${managerTitle(manager.name)} to fail over to ${options.node}`);
    const change = await manager.change(lab, "failover", options.node, { progress, signal: options.signal });
    const after = await readLabStatus(lab);
    return {
      new_primary: options.node,
      promote_ms: change.promote_ms,
      following: change.following,
      not_following: change.not_following,
      split_brain: primariesOf(after).map((primary) => primary.name).filter((name) => name !== options.node),
      timeline: change.timeline,
    };
  }
  const before = await readLabStatus(lab);
  const target = nodeStatus(lab, before, options.node);
  const refused = promoteRefusal(target);
  if (refused) throw refused;
  const stillPrimary = primariesOf(before).map((primary) => primary.name);
  if (stillPrimary.length > 0) {
    progress.step(`WARNING: ${stillPrimary.join(", ")} still run${stillPrimary.length === 1 ? "s" : ""} as primary: promoting ${target.name} makes a split brain`);
  }
  progress.step(`promoting ${target.name} (pg_promote)`);
  const promoteMs = await promoteServer(lab, target.name);
  progress.step(`${target.name} accepts writes after ${promoteMs} ms`);
  const standbys = before.nodes.filter((other) => other.name !== target.name && other.role_source === "server" && other.role === "standby");
  const notFollowing = await followNewPrimary(lab, target.name, standbys, progress, options.signal);
  const after = await readLabStatus(lab);
  return {
    new_primary: target.name,
    promote_ms: promoteMs,
    following: standbys.map((standby) => standby.name).filter((name) => !notFollowing.includes(name)),
    not_following: notFollowing,
    split_brain: primariesOf(after).map((primary) => primary.name).filter((name) => name !== target.name),
    timeline: after.nodes.find((candidate) => candidate.name === target.name)?.timeline ?? null,
  };
}
