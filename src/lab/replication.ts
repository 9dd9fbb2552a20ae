// Failover as PostgreSQL does it: pg_promote on a standby; followers re-pointed with a new
// primary_conninfo and a slot on the new primary (recovery_target_timeline = 'latest' makes them
// follow the new timeline); former primaries brought back with pg_rewind or a fresh base backup.
import { LabError } from "../core/errors.js";
import { LABEL } from "../core/labels.js";
import { ENV, POSTGRES_PORT } from "../core/constants.js";
import { primaryConninfo } from "../core/node-plan.js";
import type { Progress } from "../core/progress.js";
import { primariesOf, type LabStatus, type NodeStatus } from "../core/status.js";
import { withSession, type Session } from "../postgres.js";
import { replaceContainer, runOnNodeVolume } from "./containers.js";
import { requireEndpoint, requireNode, type LabContext } from "./context.js";
import { alterSystem, logTail, reread, waitForServer, waitForStreaming } from "./server.js";
import { reloadCut } from "./partition.js";

/** Runs `work` on a session with a running node's server. */
export function onNode<T>(lab: LabContext, node: string, work: (session: Session) => Promise<T>): Promise<T> {
  return withSession(lab.runtime.connect, requireEndpoint(lab, node), work, { timeoutMs: 5000 });
}

export function nodeStatus(lab: LabContext, status: LabStatus, name: string): NodeStatus {
  requireNode(lab, name);
  const node = status.nodes.find((candidate) => candidate.name === name);
  if (!node) throw new LabError(`${name} has no status`);
  return node;
}

/** The one running primary other than `except`; refuses none and a split brain. */
export function theOtherPrimary(status: LabStatus, except: string): NodeStatus {
  const primaries = primariesOf(status).filter((node) => node.name !== except);
  if (primaries.length === 0) {
    throw new LabError("no running primary to follow", { hint: "promote a standby first with `repl-lab promote <node>`" });
  }
  if (primaries.length > 1) {
    throw new LabError(`split brain: ${primaries.map((node) => node.name).join(" and ")} both answer as primaries`, {
      hint: "rejoin all but one of them as followers with `repl-lab rejoin <node>`",
    });
  }
  return primaries[0]!;
}

/** The one primary of a lab; refuses none and a split brain, naming what to do. */
export function theOnePrimary(status: LabStatus): NodeStatus {
  const primaries = primariesOf(status);
  if (primaries.length === 0) throw new LabError("no node answers as primary", { hint: "promote a standby with `repl-lab promote <node>`" });
  if (primaries.length > 1) {
    throw new LabError(`split brain: ${primaries.map((node) => node.name).join(" and ")} are both primaries`, {
      hint: "rejoin one of them with `repl-lab rejoin <node>`",
    });
  }
  return primaries[0]!;
}

async function ensureSlot(primary: Session, slot: string): Promise<void> {
  await primary.query(
    `SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)`,
    [slot],
  );
}

/**
 * Points a running standby at another primary without a restart (primary_conninfo is reloadable
 * since PostgreSQL 13). A standby keeps its link's network delay: it is as far away as before.
 */
async function repoint(lab: LabContext, standby: NodeStatus, primary: string): Promise<void> {
  if (lab.slots) await onNode(lab, primary, (session) => ensureSlot(session, standby.name));
  await onNode(lab, standby.name, (session) =>
    alterSystem(session, {
      primary_conninfo: primaryConninfo(primary, lab.secrets.replicationPassword, standby.network_delay_ms),
      primary_slot_name: lab.slots ? standby.name : "",
    }),
  );
}

/** pg_promote on a standby, waiting until it accepts writes; returns how long that took. */
export async function promoteServer(lab: LabContext, target: string): Promise<number> {
  const started = Date.now();
  await onNode(lab, target, async (session) => {
    const [row] = await session.query<{ promoted: boolean }>("SELECT pg_promote(true, 60) AS promoted");
    if (!row?.promoted) throw new LabError(`${target} did not finish promotion within 60 s`, { hint: `see \`repl-lab logs ${target}\`` });
  });
  return Date.now() - started;
}

/** Re-points each standby to `primary` and waits until they stream from it; returns those that do not. */
export async function followNewPrimary(lab: LabContext, primary: string, standbys: NodeStatus[], progress: Progress, signal?: AbortSignal): Promise<string[]> {
  for (const standby of standbys) {
    progress.step(`re-pointing ${standby.name} to ${primary}`);
    await repoint(lab, standby, primary);
  }
  const outcome = await waitForStreaming(lab, { primary, standbys: standbys.map((standby) => standby.name), timeoutMs: 30_000, signal });
  return outcome.missing;
}

export interface RejoinOutcome {
  /** "patroni": in HA mode Patroni rejoins the node itself (pg_rewind or a new base backup, its choice). */
  method: "pg_rewind" | "base backup" | "patroni" | "pg_auto_failover";
  reason: string;
}

const REWIND_SCRIPT = `set -euo pipefail
# The node's container is stopped, so no postmaster uses this directory; a lock file left by a
# killed server names PID 1, which in this container is bash, and would stop pg_rewind's crash recovery.
rm -f "$PGDATA/postmaster.pid"
# pg_rewind removes the target's WAL segments that the source no longer has, also those from the last
# common checkpoint to the divergence, which the rewound node replays first; a source that was a
# standby may have recycled them, and then the node waits for WAL nobody has. Put back the ones older
# than anything the source sent (they predate the divergence, so they are the same on both).
kept=$(mktemp -d)
find "$PGDATA/pg_wal" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9A-F]{24}' -exec cp -p -t "$kept" {} +
pg_rewind --target-pgdata="$PGDATA" --source-server="$SOURCE" 2>&1
oldest=$(find "$PGDATA/pg_wal" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9A-F]{24}' -printf '%f\\n' | cut -c9-24 | sort | head -n 1)
for segment in "$kept"/*; do
  name=$(basename "$segment")
  if [ -f "$segment" ] && [ ! -e "$PGDATA/pg_wal/$name" ] && [ -n "$oldest" ] && [[ "\${name:8}" < "$oldest" ]]; then
    cp -p "$segment" "$PGDATA/pg_wal/" && echo "kept WAL segment $name, which the rewound node replays from"
  fi
done
rm -rf "$kept"
touch "$PGDATA/standby.signal"
# pg_rewind copies the source's postgresql.auto.conf; the last line for a setting wins.
printf "primary_conninfo = '%s'\\nprimary_slot_name = '%s'\\n" "$CONNINFO" "$SLOT" >> "$PGDATA/postgresql.auto.conf"`;

/** pg_rewind of a lab's data directory takes seconds; a helper still running after five minutes is stopped. */
const HELPER_TIMEOUT_MS = 300_000;

const WIPE_SCRIPT = `set -euo pipefail
find "$PGDATA" -mindepth 1 -delete`;

/**
 * Brings a node back as a follower of `primary`: pg_rewind (enough for a former primary that
 * diverged, and a no-op for one that did not), or a fresh base backup when asked or when pg_rewind
 * cannot. The node is stopped first; its container is rebuilt so its role label and environment
 * say standby, then started and awaited until it streams.
 */
export async function rejoinNode(
  lab: LabContext,
  target: string,
  primary: string,
  options: { reclone: boolean; progress: Progress; networkDelayMs?: number | null; signal?: AbortSignal },
): Promise<RejoinOutcome> {
  const { engine } = lab.runtime;
  const { progress } = options;
  const node = requireNode(lab, target);
  if (node.state === "paused") await engine.unpauseContainer(node.id);
  if (node.state === "running" || node.state === "paused") {
    progress.step(`stopping ${target}`);
    await engine.stopContainer(node.id);
  }
  if (lab.slots) await onNode(lab, primary, (session) => ensureSlot(session, target));
  let outcome: RejoinOutcome = { method: "base backup", reason: "asked for with --reclone" };
  if (!options.reclone) {
    progress.step(`pg_rewind ${target} against ${primary}`);
    const rewind = await runOnNodeVolume(lab, node, {
      purpose: "rewind",
      script: REWIND_SCRIPT,
      env: {
        // connect_timeout: a source that cannot be reached is an error in seconds, not a hang.
        SOURCE: `host=${primary} port=${POSTGRES_PORT} user=postgres password=${lab.secrets.superuserPassword} dbname=postgres connect_timeout=10`,
        CONNINFO: primaryConninfo(primary, lab.secrets.replicationPassword, options.networkDelayMs),
        SLOT: lab.slots ? target : "",
      },
      timeoutMs: HELPER_TIMEOUT_MS,
      signal: options.signal,
    });
    const output = `${rewind.stdout}${rewind.stderr}`.trim().split("\n");
    if (rewind.exitCode === 0) {
      const kept = output.filter((line) => line.startsWith("kept WAL segment")).length;
      const done = output.find((line) => /no rewind required|Done!/.test(line)) ?? "pg_rewind succeeded";
      outcome = { method: "pg_rewind", reason: kept === 0 ? done : `${done}; kept ${kept} WAL segment${kept === 1 ? "" : "s"} of its own that ${primary} had recycled` };
    } else {
      outcome.reason = `pg_rewind failed (${output.filter((line) => /error|fatal/i.test(line)).pop() ?? output.pop() ?? `exit ${rewind.exitCode}`})`;
      progress.step(`${outcome.reason}; falling back to a fresh base backup`);
    }
  }
  if (outcome.method === "base backup") {
    progress.step(`emptying ${target}'s data directory for a fresh base backup from ${primary}`);
    const wipe = await runOnNodeVolume(lab, node, { purpose: "wipe", script: WIPE_SCRIPT, env: {}, timeoutMs: HELPER_TIMEOUT_MS, signal: options.signal });
    if (wipe.exitCode !== 0) throw new LabError(`could not empty ${target}'s data directory`, { details: wipe.stderr.split("\n") });
  }
  const id = await replaceContainer(lab, node, (spec) => ({
    ...spec,
    labels: { ...spec.labels, [LABEL.role]: "standby" },
    env: {
      ...spec.env,
      [ENV.role]: "standby",
      [ENV.primaryHost]: primary,
      [ENV.slot]: lab.slots ? target : "",
      [ENV.networkDelay]: options.networkDelayMs === undefined || options.networkDelayMs === null ? "" : String(options.networkDelayMs),
    },
    // Like every follower, it starts with synchronous_standby_names = '', so promoting it later
    // gives an asynchronous primary, as promote says, rather than the spec it had as the leader.
    cmd: (spec.cmd ?? []).map((setting) => (setting.startsWith("synchronous_standby_names=") ? "synchronous_standby_names=" : setting)),
  }));
  progress.step(`starting ${target} as a standby of ${primary}`);
  await engine.startContainer(id);
  // Its network namespace is new: a cut in force is loaded again (it may keep it from streaming).
  await reloadCut(lab);
  const rebuilt = await reread(lab);
  await waitForServer(rebuilt, target, { timeoutMs: 120_000, signal: options.signal });
  const streaming = await waitForStreaming(rebuilt, { primary, standbys: [target], timeoutMs: 60_000, signal: options.signal });
  if (!streaming.ready) {
    throw new LabError(`${target} started but does not stream from ${primary}`, {
      details: await logTail(rebuilt, requireNode(rebuilt, target)),
      hint: outcome.method === "pg_rewind" ? `try \`repl-lab rejoin ${target} --reclone\`` : undefined,
    });
  }
  return outcome;
}
