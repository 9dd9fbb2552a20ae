// Failover as PostgreSQL does it: pg_promote on a standby, followers re-pointed with a new
// primary_conninfo and a slot on the new primary (recovery_target_timeline = 'latest' makes them
// follow the new timeline), former primaries brought back with pg_rewind or a fresh base backup.
import type { DockerEngine, LabContainer } from "./docker.js";
import { LabError } from "./errors.js";
import { CHECK_NODE, LABEL, labLabels, names } from "./labels.js";
import { labEndpoints, readLab, requireLab, requireNode, type Lab } from "./lab.js";
import { primariesOf, readLabStatus, type LabStatus, type NodeStatus } from "./lab-status.js";
import { ENV, PGDATA, POSTGRES_PORT } from "./node-plan.js";
import type { Progress } from "./output.js";
import { alterSystem, withSession, type Endpoint, type Session } from "./postgres.js";
import { retryUntil } from "./retry.js";
import { waitForServer } from "./server-wait.js";

export interface LabContext {
  lab: Lab;
  status: LabStatus;
  endpoints: Map<string, Endpoint>;
  replicationPassword: string;
  superuserPassword: string;
  slots: boolean;
}

export async function readContext(engine: DockerEngine, labName: string): Promise<LabContext> {
  const lab = await requireLab(engine, labName);
  const [status, endpoints, envs] = await Promise.all([
    readLabStatus(engine, lab),
    labEndpoints(engine, lab),
    Promise.all(lab.nodes.map(async (node) => (await engine.inspectNode(node.id)).env)),
  ]);
  const env = envs[0] ?? {};
  return {
    lab,
    status,
    endpoints,
    replicationPassword: env[ENV.replicationPassword] ?? "",
    superuserPassword: env[ENV.superuserPassword] ?? "",
    slots: envs.some((nodeEnv) => (nodeEnv[ENV.slot] ?? "") !== ""),
  };
}

export function nodeStatus(context: LabContext, name: string): NodeStatus {
  const node = context.status.nodes.find((candidate) => candidate.name === name);
  if (node) return node;
  requireNode(context.lab, name);
  throw new LabError(`${name} has no status`);
}

/** The one running primary other than `except`; refuses none and a split brain. */
export function theOtherPrimary(context: LabContext, except: string): NodeStatus {
  const primaries = primariesOf(context.status).filter((node) => node.name !== except);
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

export function session(context: LabContext, node: string, work: (session: Session) => Promise<void>): Promise<void> {
  const endpoint = context.endpoints.get(node);
  if (!endpoint) throw new LabError(`${node} publishes no port; is it running?`);
  return withSession(endpoint, work, { timeoutMs: 5000 });
}

export async function ensureSlot(primarySession: Session, slot: string): Promise<void> {
  await primarySession.query(
    `SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)`,
    [slot],
  );
}

export function primaryConninfo(host: string, password: string): string {
  return `host=${host} port=${POSTGRES_PORT} user=replicator password=${password}`;
}

/** Points a running standby at a new primary without a restart (primary_conninfo is reloadable since PostgreSQL 13). */
export async function repoint(context: LabContext, standby: string, primary: string): Promise<void> {
  if (context.slots) await session(context, primary, (primarySession) => ensureSlot(primarySession, standby));
  await session(context, standby, (standbySession) =>
    alterSystem(standbySession, {
      primary_conninfo: primaryConninfo(primary, context.replicationPassword),
      primary_slot_name: context.slots ? standby : "",
    }),
  );
}

/** Waits until each standby streams from `primary`; returns those that did not within the time. */
export async function waitStreaming(engine: DockerEngine, labName: string, primary: string, standbys: string[], timeoutMs: number): Promise<string[]> {
  let missing = standbys;
  await retryUntil(
    async () => {
      const status = await readLabStatus(engine, await readLab(engine, labName));
      missing = standbys.filter(
        (name) => !status.replication.some((row) => row.primary === primary && row.application_name === name && row.state === "streaming"),
      );
      return missing.length === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200, onTimeout: () => new Error("timeout") },
  ).catch(() => undefined);
  return missing;
}

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

/** pg_promote on a standby, then every other running standby follows it. */
export async function promote(engine: DockerEngine, labName: string, target: string, progress: Progress): Promise<PromoteResult> {
  const context = await readContext(engine, labName);
  const node = nodeStatus(context, target);
  if (node.role_source !== "server") {
    throw new LabError(`cannot promote ${target}: its server does not answer (${node.error ?? node.container_state})`, {
      hint: node.container_state === "running" ? undefined : `start it with \`repl-lab start ${target}\``,
    });
  }
  if (node.role === "primary") throw new LabError(`${target} is already a primary`, { hint: "promote one of its standbys instead" });
  const stillPrimary = primariesOf(context.status).map((primary) => primary.name);
  if (stillPrimary.length > 0) {
    progress.step(`WARNING: ${stillPrimary.join(", ")} still run${stillPrimary.length === 1 ? "s" : ""} as primary: promoting ${target} makes a split brain`);
  }
  progress.step(`promoting ${target} (pg_promote)`);
  const started = Date.now();
  await session(context, target, async (targetSession) => {
    const [row] = await targetSession.query<{ promoted: boolean }>("SELECT pg_promote(true, 60) AS promoted");
    if (!row?.promoted) throw new LabError(`${target} did not finish promotion within 60 s`, { hint: `see \`repl-lab logs ${target}\`` });
  });
  const promoteMs = Date.now() - started;
  progress.step(`${target} accepts writes after ${promoteMs} ms`);
  const standbys = context.status.nodes
    .filter((other) => other.name !== target && other.role_source === "server" && other.role === "standby")
    .map((other) => other.name);
  for (const standby of standbys) {
    progress.step(`re-pointing ${standby} to ${target}`);
    await repoint(context, standby, target);
  }
  const notFollowing = await waitStreaming(engine, labName, target, standbys, 30_000);
  const after = await readLabStatus(engine, await readLab(engine, labName));
  return {
    new_primary: target,
    promote_ms: promoteMs,
    following: standbys.filter((name) => !notFollowing.includes(name)),
    not_following: notFollowing,
    split_brain: primariesOf(after).map((primary) => primary.name).filter((name) => name !== target),
    timeline: after.nodes.find((candidate) => candidate.name === target)?.timeline ?? null,
  };
}

export interface RejoinResult {
  node: string;
  primary: string;
  method: "pg_rewind" | "base backup";
  reason: string;
  elapsed_ms: number;
}

/** Throwaway container on the node's volume and the lab network, as the postgres user. */
async function onNodeVolume(engine: DockerEngine, context: LabContext, node: LabContainer, purpose: string, script: string, env: Record<string, string>) {
  const { image } = await engine.inspectNode(node.id);
  return engine.runToCompletion({
    name: `${names.container(context.lab.name, CHECK_NODE)}-${purpose}-${node.node}`,
    image,
    cmd: ["bash", "-c", script],
    labels: { ...labLabels(context.lab.name), [LABEL.node]: CHECK_NODE },
    env: { PGDATA, ...env },
    binds: [`${names.volume(context.lab.name, node.node)}:${PGDATA}`],
    network: names.network(context.lab.name),
  });
}

const REWIND_SCRIPT = `set -euo pipefail
# The node's container is stopped, so no postmaster uses this directory; a lock file left by a
# killed server names PID 1, which in this container is bash, and would stop pg_rewind's crash recovery.
rm -f "$PGDATA/postmaster.pid"
pg_rewind --target-pgdata="$PGDATA" --source-server="$SOURCE" 2>&1
touch "$PGDATA/standby.signal"
# pg_rewind copies the source's postgresql.auto.conf; the last line for a setting wins.
printf "primary_conninfo = '%s'\\nprimary_slot_name = '%s'\\n" "$CONNINFO" "$SLOT" >> "$PGDATA/postgresql.auto.conf"`;

const WIPE_SCRIPT = `set -euo pipefail
find "$PGDATA" -mindepth 1 -delete`;

/**
 * Brings a node back as a follower of the running primary: pg_rewind (enough for a former primary
 * that diverged, and a no-op for one that did not), or a fresh base backup when asked or when
 * pg_rewind cannot. The container is rebuilt so its role label and environment say standby.
 */
export async function rejoin(engine: DockerEngine, labName: string, target: string, options: { reclone: boolean }, progress: Progress): Promise<RejoinResult> {
  const started = Date.now();
  const context = await readContext(engine, labName);
  const node = requireNode(context.lab, target);
  const primary = theOtherPrimary(context, target);
  const status = nodeStatus(context, target);
  if (!options.reclone && status.role_source === "server" && status.role === "standby" && status.upstream === primary.name && status.receiver_status === "streaming") {
    throw new LabError(`${target} already streams from ${primary.name}; nothing to do`, { hint: `--reclone rebuilds it from a fresh base backup anyway` });
  }
  if (node.state === "paused") await engine.unpauseContainer(node.id);
  if (node.state === "running" || node.state === "paused") {
    progress.step(`stopping ${target}`);
    await engine.stopContainer(node.id);
  }
  if (!node.networks.includes(names.network(labName)) && node.state !== "exited" && node.state !== "created") {
    await engine.connectNetwork(names.network(labName), node.id, [target]);
  }
  if (context.slots) await session(context, primary.name, (primarySession) => ensureSlot(primarySession, target));
  let method: RejoinResult["method"] = "base backup";
  let reason = "asked for with --reclone";
  if (!options.reclone) {
    progress.step(`pg_rewind ${target} against ${primary.name}`);
    const rewind = await onNodeVolume(engine, context, node, "rewind", REWIND_SCRIPT, {
      SOURCE: `host=${primary.name} port=${POSTGRES_PORT} user=postgres password=${context.superuserPassword} dbname=postgres`,
      CONNINFO: primaryConninfo(primary.name, context.replicationPassword),
      SLOT: context.slots ? target : "",
    });
    const output = `${rewind.stdout}${rewind.stderr}`.trim().split("\n");
    if (rewind.exitCode === 0) {
      method = "pg_rewind";
      reason = output.find((line) => /no rewind required|Done!/.test(line)) ?? "pg_rewind succeeded";
    } else {
      reason = `pg_rewind failed (${output.filter((line) => /error|fatal/i.test(line)).pop() ?? output.pop() ?? `exit ${rewind.exitCode}`})`;
      progress.step(`${reason}; falling back to a fresh base backup`);
    }
  }
  if (method === "base backup") {
    progress.step(`emptying ${target}'s data directory for a fresh base backup from ${primary.name}`);
    const wipe = await onNodeVolume(engine, context, node, "wipe", WIPE_SCRIPT, {});
    if (wipe.exitCode !== 0) throw new LabError(`could not empty ${target}'s data directory`, { details: wipe.stderr.split("\n") });
  }
  const id = await engine.recreateContainer(node.id, {
    labels: { [LABEL.role]: "standby" },
    env: { [ENV.role]: "standby", [ENV.primaryHost]: primary.name, [ENV.slot]: context.slots ? target : "" },
    // Like every follower, it starts with synchronous_standby_names = '', so promoting it later
    // gives an asynchronous primary, as promote says, rather than the spec it had as the leader.
    settings: { synchronous_standby_names: "" },
  });
  progress.step(`starting ${target} as a standby of ${primary.name}`);
  await engine.startContainer(id);
  await waitForServer(engine, labName, target, 120_000);
  const missing = await waitStreaming(engine, labName, primary.name, [target], 60_000);
  if (missing.length > 0) {
    const lab = await readLab(engine, labName);
    throw new LabError(`${target} started but does not stream from ${primary.name}`, {
      details: [`last log lines of ${target}:`, ...(await engine.logs(requireNode(lab, target).id, 15))],
      hint: method === "pg_rewind" ? `try \`repl-lab rejoin ${target} --reclone\`` : undefined,
    });
  }
  return { node: target, primary: primary.name, method, reason, elapsed_ms: Date.now() - started };
}

export interface SwitchoverResult {
  old_primary: string;
  new_primary: string;
  /** From the clean stop of the old primary until the new one accepts writes. */
  unavailable_ms: number;
  promote: PromoteResult;
  rejoin: RejoinResult;
}

/** Planned change of primary: clean stop (the standbys receive all WAL first), promote, old primary follows. */
export async function switchover(engine: DockerEngine, labName: string, target: string, progress: Progress): Promise<SwitchoverResult> {
  const context = await readContext(engine, labName);
  const node = nodeStatus(context, target);
  const primary = theOtherPrimary(context, target);
  if (node.role_source !== "server" || node.role !== "standby" || node.upstream !== primary.name || node.receiver_status !== "streaming") {
    throw new LabError(`${target} is not a standby streaming from ${primary.name}`, { hint: "see `repl-lab status`" });
  }
  const started = Date.now();
  progress.step(`stopping ${primary.name} cleanly: its walsenders send all WAL before it exits`);
  await engine.stopContainer(requireNode(context.lab, primary.name).id);
  // Everything the old primary acknowledged is now on the target; wait until it is replayed too.
  await retryUntil(
    async () => {
      let caughtUp = false;
      await session(context, target, async (targetSession) => {
        const [row] = await targetSession.query<{ caught_up: boolean }>(
          "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up",
        );
        caughtUp = row?.caught_up ?? false;
      });
      return caughtUp ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, onTimeout: () => new LabError(`${target} did not replay all received WAL within 30 s`) },
  );
  const beforePromote = Date.now();
  const promoted = await promote(engine, labName, target, progress);
  const unavailableMs = beforePromote - started + promoted.promote_ms;
  const rejoined = await rejoin(engine, labName, primary.name, { reclone: false }, progress);
  return { old_primary: primary.name, new_primary: target, unavailable_ms: unavailableMs, promote: promoted, rejoin: rejoined };
}
