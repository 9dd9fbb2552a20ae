// repl-lab switchover <node>: a planned change of primary that loses no acknowledged write: a clean
// stop of the primary (its walsenders send every WAL record before it exits), a wait until the
// target has replayed it all, pg_promote, and the old primary rejoined as a follower.
import { LabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { retryUntil } from "../core/retry.js";
import { readLabForChange, requireNode } from "../lab/context.js";
import { followNewPrimary, nodeStatus, onNode, promoteServer, rejoinNode, theOtherPrimary, type RejoinOutcome } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { reread } from "../lab/server.js";
import { readLabStatus } from "../lab/status.js";

export interface SwitchoverResult {
  old_primary: string;
  new_primary: string;
  /** From the clean stop of the old primary until the new one accepts writes. */
  unavailable_ms: number;
  promote_ms: number;
  /** Other standbys now streaming from the new primary, and those that could not follow. */
  following: string[];
  not_following: string[];
  /** How the old primary came back as a follower. */
  rejoin: RejoinOutcome;
}

export async function switchover(runtime: Runtime, options: { lab: string; node: string; signal?: AbortSignal }, progress: Progress = silentProgress): Promise<SwitchoverResult> {
  const lab = await readLabForChange(runtime, options.lab, progress);
  if (lab.ha) {
    // HA mode: Patroni's own switchover (it stops the leader cleanly, promotes the candidate and
    // rewinds the old leader to follow it).
    const { managerOf, managerTitle } = await import("../lab/managers.js");
    const manager = await managerOf(lab);
    const oldPrimary = (await manager.leader(lab)) ?? "nobody";
    progress.step(`asking ${managerTitle(manager.name)} to switch over from ${oldPrimary} to ${options.node}`);
    const change = await manager.change(lab, "switchover", options.node, { progress, signal: options.signal });
    return {
      old_primary: oldPrimary,
      new_primary: options.node,
      unavailable_ms: change.promote_ms,
      promote_ms: change.promote_ms,
      following: change.following.filter((name) => name !== oldPrimary),
      not_following: change.not_following,
      rejoin: {
        method: manager.name,
        reason: change.following.includes(oldPrimary) ? `${managerTitle(manager.name)} made it a replica of the new leader` : `${managerTitle(manager.name)} had not rejoined it yet`,
      },
    };
  }
  const status = await readLabStatus(lab);
  const target = nodeStatus(lab, status, options.node);
  const primary = theOtherPrimary(status, target.name);
  if (target.role_source !== "server" || target.role !== "standby" || target.upstream !== primary.name || target.receiver_status !== "streaming") {
    throw new LabError(`${target.name} is not a standby streaming from ${primary.name}`, { hint: "see `repl-lab status`" });
  }
  const started = Date.now();
  progress.step(`stopping ${primary.name} cleanly: its walsenders send all WAL before it exits`);
  await runtime.engine.stopContainer(requireNode(lab, primary.name).id);
  // Everything the old primary acknowledged is now on the target; wait until it is replayed too.
  await retryUntil(
    () =>
      onNode(lab, target.name, async (session) => {
        const [row] = await session.query<{ caught_up: boolean }>("SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up");
        return row?.caught_up ? true : undefined;
      }),
    { timeoutMs: 30_000, intervalMs: 20, signal: options.signal, onTimeout: () => new LabError(`${target.name} did not replay all received WAL within 30 s`) },
  );
  progress.step(`promoting ${target.name} (pg_promote)`);
  const promoteMs = await promoteServer(lab, target.name);
  const unavailableMs = Date.now() - started;
  progress.step(`${target.name} accepts writes after ${promoteMs} ms`);
  const standbys = status.nodes.filter(
    (other) => other.name !== target.name && other.name !== primary.name && other.role_source === "server" && other.role === "standby",
  );
  const notFollowing = await followNewPrimary(lab, target.name, standbys, progress, options.signal);
  const rejoined = await rejoinNode(await reread(lab), primary.name, target.name, { reclone: false, progress, signal: options.signal });
  return {
    old_primary: primary.name,
    new_primary: target.name,
    unavailable_ms: unavailableMs,
    promote_ms: promoteMs,
    following: standbys.map((standby) => standby.name).filter((name) => !notFollowing.includes(name)),
    not_following: notFollowing,
    rejoin: rejoined,
  };
}
