// repl-lab rejoin <node> [--reclone]: a former primary (or any diverged node) back as a follower.
import { LabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { readLabForChange, requireNode } from "../lab/context.js";
import { nodeStatus, rejoinNode, theOtherPrimary, type RejoinOutcome } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { readLabStatus } from "../lab/status.js";

export interface RejoinResult extends RejoinOutcome {
  node: string;
  primary: string;
  elapsed_ms: number;
}

export async function rejoin(runtime: Runtime, options: { lab: string; node: string; reclone?: boolean; signal?: AbortSignal }, progress: Progress = silentProgress): Promise<RejoinResult> {
  const started = Date.now();
  const lab = await readLabForChange(runtime, options.lab, progress);
  if (lab.ha) {
    const { managerOf, managerTitle } = await import("../lab/managers.js");
    const manager = await managerOf(lab);
    progress.step(`${options.node}: rejoining through ${managerTitle(manager.name)}`);
    const { leader, reason } = await manager.rejoin(lab, requireNode(lab, options.node), Boolean(options.reclone), { signal: options.signal });
    return { node: options.node, primary: leader, method: manager.name, reason, elapsed_ms: Date.now() - started };
  }
  const status = await readLabStatus(lab);
  const target = nodeStatus(lab, status, options.node);
  const primary = theOtherPrimary(status, target.name);
  const reclone = Boolean(options.reclone);
  if (!reclone && target.role_source === "server" && target.role === "standby" && target.upstream === primary.name && target.receiver_status === "streaming") {
    throw new LabError(`${target.name} already streams from ${primary.name}; nothing to do`, { hint: "--reclone rebuilds it from a fresh base backup anyway" });
  }
  const outcome = await rejoinNode(lab, target.name, primary.name, { reclone, progress, signal: options.signal });
  return { node: target.name, primary: primary.name, ...outcome, elapsed_ms: Date.now() - started };
}
