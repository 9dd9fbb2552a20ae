// repl-lab up: network, volumes and containers for a topology, then wait until every follower streams
// with the sync_state the spec implies. A failed or interrupted `up` removes everything it created.
import { createServer } from "node:net";
import { InterruptedError, LabError, PortTakenError, ReplLabError, UsageError } from "../core/errors.js";
import { CHECK_NODE, helperLabels, labLabels, names } from "../core/labels.js";
import { dataMountTarget, generateSecrets, planEtcd, planLab, planProxy } from "../core/node-plan.js";
import { WRITABLE_STATES } from "../core/auto-failover.js";
import { PROXY } from "../core/proxy.js";
import type { MonitorNode } from "../core/status.js";
import { monitorStatus, setAutoFailoverSync } from "../lab/auto-failover.js";
import { readProxy } from "../lab/proxy.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { throwIfInterrupted } from "../core/retry.js";
import { describeExpected, expectedSyncStates, renderSyncSpec } from "../core/sync-spec.js";
import { LEADER, type Topology } from "../core/topology.js";
import { connectionUrl } from "../postgres.js";
import { endpointOf, labExists, readLab, removeLab, requireNode } from "../lab/context.js";
import { prepareHosts } from "../lab/hosts.js";
import { resolveImage } from "../lab/image.js";
import type { Runtime } from "../lab/runtime.js";
import { logTail, waitForStreaming } from "../lab/server.js";
import { SessionPool } from "../lab/sessions.js";
import { ifAnswered, readLeaderKey, readPatroni } from "../lab/ha.js";
import { NobodyAnsweredError } from "../core/ha-client.js";
import { expectedSynchronousStandbys } from "../core/ha.js";
import { pollUntil } from "../core/retry.js";
import type { LabContext } from "../lab/context.js";

/** A check of the image (its settings, its programs) runs in a second or two; past a minute something is wrong. */
const CHECK_TIMEOUT_MS = 60_000;

export interface UpOptions {
  topology: Topology;
  waitTimeoutMs: number;
  /** Ctrl-C: stop, remove what was created, throw InterruptedError. */
  signal?: AbortSignal;
}

export interface UpNode {
  name: string;
  role: string;
  container: string;
  host: string;
  /** A lab across engines: the name of the host the node runs on. */
  lab_host?: string;
  port: number | null;
  url: string | null;
}

export interface UpResult {
  lab: string;
  image: string;
  synchronous_standby_names: string;
  synchronous_commit: string;
  nodes: UpNode[];
  elapsed_ms: number;
}

/** How many times `up` starts over with other ports when one it chose was taken meanwhile. */
const PORT_RACE_ATTEMPTS = 3;

export async function up(runtime: Runtime, options: UpOptions, progress: Progress = silentProgress): Promise<UpResult> {
  // Ports repl-lab chooses are free when chosen, but another process (the engine publishing a port
  // it picked for another lab's container, say) can take one before the node starts: the failed
  // attempt removed what it made, so it starts over with ports chosen again. Ports the user gave
  // are refused at once instead.
  const chosen = runtime.host.bindIp === "127.0.0.1" && !options.topology.hosts && !options.topology.nodes.some((node) => node.hostPort !== undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await upOnce(runtime, options, progress);
    } catch (error) {
      if (!(error instanceof PortTakenError) || !chosen || attempt >= PORT_RACE_ATTEMPTS || options.signal?.aborted) throw error;
      progress.step(`${error.message}; starting over with other ports`);
    }
  }
}

async function upOnce(runtime: Runtime, options: UpOptions, progress: Progress): Promise<UpResult> {
  const started = Date.now();
  const { topology, signal } = options;
  const { engine } = runtime;
  // Independent questions, asked at once: which image, whether the lab exists, which host ports.
  const [resolved, exists, hostPorts] = await Promise.all([
    resolveImage(engine, topology.image, progress, signal, topology.manager !== undefined),
    labExists(runtime, topology.lab),
    chooseHostPorts(runtime, topology),
  ]);
  if (exists) {
    throw new LabError(`lab "${topology.lab}" already exists; nothing was changed`, {
      hint: `see it with \`repl-lab status --lab ${topology.lab}\`, remove it with \`repl-lab down --lab ${topology.lab}\`, or choose another --lab`,
    });
  }
  const image = resolved.image;
  const planOptions = {
    image,
    secrets: generateSecrets(),
    bindIp: runtime.host.bindIp,
    hostPorts,
    mountTarget: dataMountTarget(resolved.details.volumes),
  };
  const plans = planLab(topology, planOptions);
  const etcd = planEtcd(topology, planOptions);
  const proxy = topology.proxy ? [planProxy(topology, planOptions)] : [];

  // The network is created first and by name: a second `up` of the same lab fails here, before it
  // could remove what the first one is building. A lab across engines first gets its record (which
  // hosts, placed how) and its image on every host; a failure there removes the record.
  const network = names.network(topology.lab);
  try {
    if (topology.hosts) await prepareHosts(runtime, topology.lab, topology.hosts, image, progress);
    await engine.createNetwork(network, labLabels(topology.lab));
  } catch (error) {
    if (error instanceof LabError && /already exists/.test(error.message)) {
      throw new LabError(`lab "${topology.lab}" already exists (its network ${network} is there); nothing was changed`, {
        hint: `remove it with \`repl-lab down --lab ${topology.lab}\``,
      });
    }
    if (topology.hosts) await removeLab(runtime, topology.lab).catch(() => undefined);
    throw error;
  }
  try {
    throwIfInterrupted(signal);
    progress.step(`creating ${plans.length + etcd.length + proxy.length} containers and volumes for lab "${topology.lab}" (${image})`);
    const checked = [checkSettingNames(runtime, topology, image, signal), ...(topology.manager ? [checkHaPrograms(runtime, topology, image, signal)] : [])];
    const created = (async () => {
      await settleAll(plans.map((plan) => engine.createVolume(plan.volumeName, labLabels(topology.lab))));
      const ids = await settleAll([...plans.map((plan) => plan.container), ...etcd, ...proxy].map((spec) => engine.createContainer(spec)));
      throwIfInterrupted(signal);
      const [leaderId, ...followerIds] = ids.slice(0, plans.length);
      if (topology.manager === "pg_auto_failover") {
        // The monitor first; the leader registers with it and becomes "single"; only then the
        // followers, so that none of them registers first and becomes the primary itself.
        progress.step("monitor: pg_auto_failover's monitor initialising");
        await engine.startContainer(ids[plans.length]!);
        await waitForMonitorState(runtime, options, () => true, "the monitor answering");
        await engine.startContainer(leaderId!);
        progress.step("leader: pg_autoctl registering it with the monitor as the first node (single)");
        await waitForMonitorState(runtime, options, (nodes) => nodes.some((node) => node.name === LEADER && WRITABLE_STATES.has(node.reported_state)), "leader registered as single");
        progress.step(`${topology.followers.length} follower(s): pg_autoctl bootstrapping each with pg_basebackup from the primary the monitor names`);
        await settleAll(followerIds.map((id) => engine.startContainer(id)));
        return;
      }
      if (topology.ha) {
        progress.step("etcd1, etcd2, etcd3 starting: three members electing a Raft leader");
        await settleAll(ids.slice(plans.length).map((id) => engine.startContainer(id)));
      }
      // The leader starts alone: starts contend in the engine, and every follower waits for it anyway.
      await engine.startContainer(leaderId!);
      if (topology.ha) {
        // Patroni gives the cluster to whichever node takes etcd's initialize key first: the followers
        // start once the leader holds the leader lock, so the lab's leader is the node named leader.
        progress.step("leader: Patroni initialising the cluster and taking the leader lock in etcd");
        await waitForLeaderLock(runtime, options);
        progress.step(`${topology.followers.length} follower(s): Patroni bootstrapping each with pg_basebackup in parallel`);
      } else {
        progress.step(`leader initialising; ${topology.followers.length} follower(s) bootstrapping with pg_basebackup in parallel`);
      }
      await settleAll(followerIds.map((id) => engine.startContainer(id)));
    })();
    await settleAll([...checked, created]);
    throwIfInterrupted(signal);
    await waitUntilReady(runtime, options, progress);
    if (proxy.length > 0) {
      progress.step("proxy: HAProxy starting; waiting for its checks to send writers to leader");
      await engine.startContainer(names.container(topology.lab, PROXY));
      await waitForProxy(runtime, options);
    }
  } catch (error) {
    const interrupted = signal?.aborted ?? false;
    progress.step(interrupted ? "interrupted: removing what was created" : "up failed: removing what was created");
    let leftBehind: string | undefined;
    try {
      await removeLab(runtime, topology.lab);
    } catch (cleanupError) {
      // Say both: what went wrong, and that something may be left (down removes it by label).
      leftBehind = `removing the lab failed: ${(cleanupError as Error).message}; run \`repl-lab down --lab ${topology.lab}\``;
      if (error instanceof ReplLabError) error.details.push(`and ${leftBehind}`);
      else progress.step(leftBehind);
    }
    if (interrupted) {
      throw leftBehind
        ? new InterruptedError(`interrupted; lab "${topology.lab}" may be partly left: ${leftBehind}`)
        : new InterruptedError(`interrupted; lab "${topology.lab}" was removed`);
    }
    throw error;
  }
  const lab = await readLab(runtime, topology.lab);
  progress.step(`lab "${topology.lab}" is ready`);
  for (const note of topology.autoFailover?.sync.notes ?? []) progress.step(note);
  return {
    lab: topology.lab,
    image,
    synchronous_standby_names: renderSyncSpec(topology.sync),
    synchronous_commit: topology.syncCommit,
    nodes: lab.nodes.map((node) => {
      const endpoint = endpointOf(lab, node);
      return {
        name: node.name,
        role: node.roleLabel,
        container: node.container,
        host: endpoint?.host ?? runtime.host.host,
        ...(node.host ? { lab_host: node.host.name } : {}),
        port: node.hostPort ?? null,
        url: endpoint ? connectionUrl(endpoint) : null,
      };
    }),
    elapsed_ms: Date.now() - started,
  };
}

/** Like Promise.all, but waits for every call to finish, so cleanup never races a create still in flight. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** Whether a port on this host's loopback can be listened on; with port 0, which one the system gave. */
function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const given = (server.address() as { port: number }).port;
      server.close(() => resolve(given));
    });
  });
}

/**
 * The host port of each node. Given with --port, each must be free. Otherwise, for a local engine,
 * free ports are chosen here and fixed in the container, so a node keeps its URL across a stop and
 * start (the engine gives a port it chose itself a new one at every start). A remote engine's ports
 * cannot be checked from here: it chooses them, and reports a taken one when the node starts.
 */
async function chooseHostPorts(runtime: Runtime, topology: Topology): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  // A lab across engines publishes on its hosts, which choose (as a remote engine does).
  if (runtime.host.bindIp !== "127.0.0.1" || topology.hosts) return ports;
  if (topology.nodes.some((node) => node.hostPort !== undefined)) {
    for (const node of topology.nodes) {
      if (node.hostPort === undefined) continue;
      if ((await listenable(node.hostPort)) === undefined) {
        throw new LabError(`port ${node.hostPort} on 127.0.0.1 (for ${node.name}) is taken; nothing was created`, {
          hint: "choose another --port, or leave --port out to let repl-lab pick free ports",
        });
      }
    }
    return ports;
  }
  for (const node of topology.nodes) {
    const port = await listenable(0);
    if (port === undefined) throw new LabError("no free port on 127.0.0.1");
    ports[node.name] = port;
  }
  return ports;
}

/**
 * Names given with -c are checked against the server's own list (postgres --describe-config), so a
 * typo is a usage error rather than a leader that will not boot.
 */
async function checkSettingNames(runtime: Runtime, topology: Topology, image: string, signal: AbortSignal | undefined): Promise<void> {
  const wanted = Object.keys(topology.settings).filter((name) => !name.includes("."));
  if (wanted.length === 0) return;
  const result = await runtime.engine.runToCompletion(
    {
      name: `${names.container(topology.lab, CHECK_NODE)}-settings`,
      image,
      entrypoint: ["postgres", "--describe-config"],
      user: "postgres",
      labels: helperLabels(topology.lab, CHECK_TIMEOUT_MS),
    },
    { timeoutMs: CHECK_TIMEOUT_MS, signal },
  );
  if (result.exitCode !== 0) throw new LabError(`could not list PostgreSQL's settings in ${image}`, { details: result.stderr.split("\n") });
  const known = new Set(result.stdout.split("\n").map((line) => line.split("\t")[0]?.toLowerCase()));
  const unknown = wanted.filter((name) => !known.has(name.toLowerCase()));
  if (unknown.length > 0) {
    throw new UsageError(`-c ${unknown.join(", ")}: not a PostgreSQL setting in ${image}`, {
      hint: "check the name in https://www.postgresql.org/docs/current/runtime-config.html",
    });
  }
}

/** An image for HA mode must have Patroni, etcd and etcdctl (which turns etcd's authentication on): one line naming the build command when it has not. */
async function checkHaPrograms(runtime: Runtime, topology: Topology, image: string, signal: AbortSignal | undefined): Promise<void> {
  const result = await runtime.engine.runToCompletion(
    {
      name: `${names.container(topology.lab, CHECK_NODE)}-ha`,
      image,
      entrypoint: ["sh", "-c", `for p in ${haPrograms(topology).join(" ")}; do command -v $p >/dev/null || echo $p; done`],
      labels: helperLabels(topology.lab, CHECK_TIMEOUT_MS),
    },
    { timeoutMs: CHECK_TIMEOUT_MS, signal },
  );
  const missing = result.stdout.split("\n").filter(Boolean);
  if (result.exitCode !== 0 || missing.length > 0) {
    const named = missing.length > 1 ? `${missing.slice(0, -1).join(", ")} and ${missing.at(-1)}` : missing[0];
    throw new LabError(`${image} has no ${named ?? haPrograms(topology).join(" or ")}, which this HA lab runs`, {
      hint: "build an image that has them with `repl-lab image build --pg 17 --ha`, or leave --ha out",
    });
  }
}

/** The programs an HA lab runs: its manager's, and HAProxy with --proxy. */
function haPrograms(topology: Topology): string[] {
  return [...(topology.manager === "pg_auto_failover" ? ["pg_autoctl"] : ["patroni", "etcd", "etcdctl"]), ...(topology.proxy ? ["haproxy"] : [])];
}

/** Until the monitor's view satisfies `done` (fails at once, with its log, if a container exits). */
async function waitForMonitorState(runtime: Runtime, options: UpOptions, done: (nodes: MonitorNode[]) => boolean, what: string): Promise<MonitorNode[]> {
  const { topology } = options;
  let lab = await readLab(runtime, topology.lab);
  let nodes: MonitorNode[] = [];
  // One kept session to the monitor for the looks (a new one every 200 ms costs a backend and a SCRAM exchange).
  const pool = new SessionPool(runtime.connect, 3000);
  const reached = await pollUntil(
    async () => {
      lab = await readLab(runtime, topology.lab, { secrets: lab.secrets });
      const stopped = [...lab.nodes, ...(lab.monitor ? [lab.monitor] : [])].find((node) => node.state === "exited" || node.state === "dead");
      if (stopped) {
        throw new LabError(`${stopped.name} stopped while the lab was starting`, { details: await logTail(lab, stopped, 20), hint: `see \`repl-lab logs ${stopped.name}\`` });
      }
      const view = await monitorStatus(lab, pool);
      if (!view.answering) return false;
      nodes = view.nodes;
      return done(nodes);
    },
    { timeoutMs: options.waitTimeoutMs, intervalMs: 200, signal: options.signal },
  ).finally(() => pool.close());
  if (!reached) {
    throw new LabError(`lab "${topology.lab}" was not ready after ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout): awaited ${what}`, {
      details: [`last seen: ${nodes.map((node) => `${node.name} ${node.reported_state}/${node.assigned_state}`).join(", ") || "the monitor did not answer"}`, ...(await logTail(lab, lab.monitor ?? requireNode(lab, LEADER)))],
      hint: "see `repl-lab logs monitor` and `repl-lab logs leader`; a busy machine may need a longer --wait-timeout",
    });
  }
  return nodes;
}

/**
 * pg_auto_failover: the leader primary and every follower secondary in the monitor's view (a
 * secondary streams and has caught up), then the formation's number_sync_standbys set as the sync
 * spec asks (the monitor rewrites synchronous_standby_names on the primary).
 */
async function waitUntilAutoFailoverReady(runtime: Runtime, options: UpOptions, progress: Progress): Promise<void> {
  const { topology } = options;
  const all = [LEADER, ...topology.followers];
  await waitForMonitorState(
    runtime,
    options,
    (nodes) =>
      all.every((name) => nodes.some((node) => node.name === name)) &&
      nodes.every((node) => (node.name === LEADER ? node.reported_state === "primary" && node.assigned_state === "primary" : node.reported_state === "secondary" && node.assigned_state === "secondary")),
    "leader primary and every follower secondary in the monitor's view",
  );
  const wanted = topology.autoFailover!.sync.number_sync_standbys;
  if (wanted > 0) {
    progress.step(`number_sync_standbys ${wanted}: the monitor rewriting synchronous_standby_names`);
    const lab = await readLab(runtime, topology.lab);
    await setAutoFailoverSync(lab, { number_sync_standbys: wanted, followers: {} });
  }
}

/** Until HAProxy's checks send the writer port to the leader alone and the reader port to every follower. */
async function waitForProxy(runtime: Runtime, options: UpOptions): Promise<void> {
  const { topology } = options;
  let seen = "HAProxy did not answer";
  const ready = await pollUntil(
    async () => {
      const lab = await readLab(runtime, topology.lab);
      const view = await readProxy(lab);
      if (view?.container_state === "exited") throw new LabError("the proxy stopped while the lab was starting", { details: await logTail(lab, lab.proxy!, 20), hint: "see `repl-lab logs proxy`" });
      if (!view?.writer || !view.reader) return false;
      seen = `writer: ${view.writer.join(", ") || "none"}; reader: ${view.reader.join(", ") || "none"}`;
      return view.writer.length === 1 && view.writer[0] === LEADER && view.reader.length === topology.followers.length;
    },
    { timeoutMs: options.waitTimeoutMs, intervalMs: 200, signal: options.signal },
  );
  if (!ready) {
    throw new LabError(`the proxy did not send writers to leader within ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout)`, { details: [`last seen: ${seen}`], hint: "see `repl-lab logs proxy`" });
  }
}

/** Until the leader's Patroni holds the leader lock (fails at once, with its log, if it exits). */
async function waitForLeaderLock(runtime: Runtime, options: UpOptions): Promise<void> {
  const { topology } = options;
  let lab = await readLab(runtime, topology.lab);
  const held = await pollUntil(
    async () => {
      lab = await readLab(runtime, topology.lab, { secrets: lab.secrets });
      const stopped = [...lab.nodes, ...lab.etcd].find((node) => node.state === "exited" || node.state === "dead");
      if (stopped) {
        throw new LabError(`${stopped.name} stopped while the lab was starting`, { details: await logTail(lab, stopped, 20), hint: `see \`repl-lab logs ${stopped.name}\`` });
      }
      return (await ifAnswered(readLeaderKey(lab)))?.holder === LEADER;
    },
    { timeoutMs: options.waitTimeoutMs, intervalMs: 100, signal: options.signal },
  );
  if (!held) {
    throw new LabError(`the leader's Patroni did not take the leader lock within ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout)`, {
      details: await logTail(lab, requireNode(lab, LEADER)),
      hint: "see `repl-lab logs leader` and `repl-lab logs etcd1`",
    });
  }
}

async function waitUntilReady(runtime: Runtime, options: UpOptions, progress: Progress): Promise<void> {
  const { topology } = options;
  if (topology.manager === "pg_auto_failover") return waitUntilAutoFailoverReady(runtime, options, progress);
  const lab = await readLab(runtime, topology.lab);
  if (topology.ha) return waitUntilHaReady(lab, options, progress);
  const expected = expectedSyncStates(topology.sync, topology.followers);
  const outcome = await waitForStreaming(lab, {
    primary: LEADER,
    standbys: topology.followers,
    expected,
    timeoutMs: options.waitTimeoutMs,
    signal: options.signal,
    progress,
    failOnExit: true,
  });
  if (outcome.ready) return;
  const culprit = requireNode(lab, outcome.missing[0] ?? LEADER);
  throw new LabError(`lab "${topology.lab}" was not ready after ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout)`, {
    details: [`awaited: every follower streaming, ${describeExpected(expected)}`, `last seen: ${outcome.lastSeen}`, ...(await logTail(lab, culprit))],
    hint: "a busy machine may need a longer --wait-timeout",
  });
}

/**
 * HA mode: every follower streaming from the leader, and as many synchronous standbys as Patroni
 * was asked for, as Patroni itself reports them (it chooses which, and writes
 * synchronous_standby_names itself).
 */
async function waitUntilHaReady(lab: LabContext, options: UpOptions, progress: Progress): Promise<void> {
  const { topology } = options;
  const ha = topology.ha!;
  const started = Date.now();
  const outcome = await waitForStreaming(lab, {
    primary: LEADER,
    standbys: topology.followers,
    timeoutMs: options.waitTimeoutMs,
    signal: options.signal,
    progress,
    failOnExit: true,
  });
  const candidates = topology.followers.length - ha.nosync.length;
  const wanted = expectedSynchronousStandbys(ha.synchronous_mode, ha.synchronous_node_count, candidates);
  let seen = "Patroni did not answer";
  const ready =
    outcome.ready &&
    (await pollUntil(
      async () => {
        const patroni = await readPatroni(lab).catch((error: unknown) => {
          if (!(error instanceof NobodyAnsweredError)) throw error;
          seen = [error.message, ...error.details].join("; ");
          return undefined;
        });
        if (!patroni) return false;
        const synchronous = patroni.members.filter((member) => member.role === "sync_standby" || member.role === "quorum_standby");
        const streaming = patroni.members.filter((member) => member.role !== "leader" && (member.state === "streaming" || member.state === "running"));
        seen = patroni.members.map((member) => `${member.name} ${member.role}/${member.state}`).join(", ");
        return patroni.leader === LEADER && streaming.length === topology.followers.length && synchronous.length === wanted;
      },
      { timeoutMs: Math.max(1000, options.waitTimeoutMs - (Date.now() - started)), intervalMs: 100, signal: options.signal },
    ));
  if (ready) return;
  throw new LabError(`lab "${topology.lab}" was not ready after ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout)`, {
    details: [
      `awaited: every follower streaming from leader, ${wanted} synchronous standby(s) in Patroni's view`,
      `last seen: ${outcome.ready ? seen : outcome.lastSeen}`,
      ...(await logTail(lab, requireNode(lab, outcome.missing[0] ?? LEADER))),
    ],
    hint: "a busy machine may need a longer --wait-timeout",
  });
}
