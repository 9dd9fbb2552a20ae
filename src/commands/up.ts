// repl-lab up: network, volumes and containers for a topology, then wait until every follower streams
// with the sync_state the spec implies. A failed or interrupted `up` removes everything it created.
import { createServer } from "node:net";
import type { DockerEngine, LabContainer } from "../docker.js";
import { InterruptedError, LabError, ReplLabError, UsageError } from "../errors.js";
import { resolveImage } from "../image.js";
import { CHECK_NODE, LABEL, labLabels, names } from "../labels.js";
import { labEndpoints, labExists, readLab, removeLab } from "../lab.js";
import { generateSecrets, planLab } from "../node-plan.js";
import type { Progress } from "../output.js";
import { connectionUrl, isTransientConnectionError, openSession, type Endpoint, type Session } from "../postgres.js";
import { retryUntil, throwIfInterrupted } from "../retry.js";
import { describeExpected, expectedSyncStates, matchesExpected, renderSyncSpec } from "../sync-spec.js";
import { LEADER, type Topology } from "../topology.js";

export interface UpOptions {
  topology: Topology;
  waitTimeoutMs: number;
  signal?: AbortSignal;
}

export interface UpNode {
  name: string;
  role: string;
  container: string;
  host: string;
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

interface ReplicationProbeRow {
  application_name: string;
  state: string;
  sync_priority: number;
  sync_state: string;
}

export async function up(engine: DockerEngine, options: UpOptions, progress: Progress): Promise<UpResult> {
  const started = Date.now();
  const { topology } = options;
  await engine.ping();
  const image = await resolveImage(engine, topology.image, progress);
  if (await labExists(engine, topology.lab)) {
    throw new LabError(`lab "${topology.lab}" already exists; nothing was changed`, {
      hint: `see it with \`repl-lab status --lab ${topology.lab}\`, remove it with \`repl-lab down --lab ${topology.lab}\`, or choose another --lab`,
    });
  }
  await checkHostPortsFree(topology);
  const plans = planLab(topology, image, generateSecrets());

  // The network is created first and by name: a second `up` of the same lab fails here, before it
  // could remove what the first one is building.
  const network = names.network(topology.lab);
  try {
    await engine.createNetwork(network, labLabels(topology.lab));
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 409) {
      throw new LabError(`lab "${topology.lab}" already exists (its network ${network} is there); nothing was changed`, {
        hint: `remove it with \`repl-lab down --lab ${topology.lab}\``,
      });
    }
    throw error;
  }
  try {
    await checkSettingNames(engine, topology, image, options.signal);
    throwIfInterrupted(options.signal);
    progress.step(`creating ${plans.length} containers and volumes for lab "${topology.lab}" (${image})`);
    await settleAll(plans.map((plan) => engine.createVolume(plan.volumeName, labLabels(topology.lab))));
    const ids = await settleAll(plans.map((plan) => engine.createNodeContainer(plan, network)));
    throwIfInterrupted(options.signal);
    await settleAll(ids.map((id) => engine.startContainer(id)));
    progress.step(`leader initialising; ${topology.followers.length} follower(s) bootstrapping with pg_basebackup in parallel`);
    await waitUntilStreaming(engine, topology, options, progress);
  } catch (error) {
    const interrupted = options.signal?.aborted ?? false;
    progress.step(interrupted ? "interrupted: removing what was created" : "up failed: removing what was created");
    try {
      await removeLab(engine, topology.lab);
    } catch (cleanupError) {
      // Say both: what went wrong, and that something may be left (down removes it by label).
      if (error instanceof ReplLabError) {
        error.details.push(`and removing the lab failed: ${(cleanupError as Error).message}; run \`repl-lab down --lab ${topology.lab}\``);
      }
    }
    if (interrupted) throw new InterruptedError(`interrupted; lab "${topology.lab}" was removed`);
    throw error;
  }
  const lab = await readLab(engine, topology.lab);
  const endpoints = await labEndpoints(engine, lab);
  progress.step(`lab "${topology.lab}" is ready`);
  return {
    lab: topology.lab,
    image,
    synchronous_standby_names: renderSyncSpec(topology.sync),
    synchronous_commit: topology.syncCommit,
    nodes: lab.nodes.map((node) => upNode(node, endpoints.get(node.node))),
    elapsed_ms: Date.now() - started,
  };
}

function upNode(node: LabContainer, endpoint: Endpoint | undefined): UpNode {
  return {
    name: node.node,
    role: node.role,
    container: node.name,
    host: endpoint?.host ?? "127.0.0.1",
    port: endpoint?.port ?? null,
    url: endpoint ? connectionUrl(endpoint) : null,
  };
}

/** Like Promise.all, but waits for every call to finish, so cleanup never races a create still in flight. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

async function checkHostPortsFree(topology: Topology): Promise<void> {
  for (const node of topology.nodes) {
    if (node.hostPort === undefined) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(node.hostPort, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (!free) {
      throw new LabError(`port ${node.hostPort} on 127.0.0.1 (for ${node.name}) is taken; nothing was created`, {
        hint: "choose another --port, or leave --port out to let Docker pick free ports",
      });
    }
  }
}

/**
 * Names given with -c are checked against the server's own list (postgres --describe-config), so a
 * typo is a usage error before any node starts rather than a leader that will not boot.
 */
async function checkSettingNames(engine: DockerEngine, topology: Topology, image: string, signal: AbortSignal | undefined): Promise<void> {
  const wanted = Object.keys(topology.settings).filter((name) => !name.includes("."));
  if (wanted.length === 0) return;
  const result = await engine.runToCompletion({
    name: `${names.container(topology.lab, CHECK_NODE)}-settings`,
    image,
    cmd: ["postgres", "--describe-config"],
    labels: { ...labLabels(topology.lab), [LABEL.node]: CHECK_NODE },
  });
  throwIfInterrupted(signal);
  if (result.exitCode !== 0) throw new LabError(`could not list PostgreSQL's settings in ${image}`, { details: result.stderr.split("\n") });
  const known = new Set(result.stdout.split("\n").map((line) => line.split("\t")[0]?.toLowerCase()));
  const unknown = wanted.filter((name) => !known.has(name.toLowerCase()));
  if (unknown.length > 0) {
    throw new UsageError(`-c ${unknown.join(", ")}: not a PostgreSQL setting in ${image}`, {
      hint: "check the name in https://www.postgresql.org/docs/current/runtime-config.html",
    });
  }
}

function describeRows(rows: ReplicationProbeRow[], followers: readonly string[]): string {
  return followers
    .map((name) => {
      const row = rows.find((candidate) => candidate.application_name === name);
      return row ? `${name} ${row.state}/${row.sync_state} (priority ${row.sync_priority})` : `${name} not connected`;
    })
    .join(", ");
}

async function waitUntilStreaming(engine: DockerEngine, topology: Topology, options: UpOptions, progress: Progress): Promise<void> {
  const expected = expectedSyncStates(topology.sync, topology.followers);
  const announced = new Set<string>();
  let session: Session | undefined;
  let lastSeen = "the leader was not accepting connections yet";
  let lastRows: ReplicationProbeRow[] = [];
  const closeSession = async () => {
    await session?.close();
    session = undefined;
  };
  try {
    await retryUntil(
      async () => {
        const lab = await readLab(engine, topology.lab);
        const stopped = lab.nodes.find((node) => node.state !== "running");
        if (stopped) {
          const { exitCode } = await engine.inspectNode(stopped.id);
          throw new LabError(`${stopped.node} stopped while the lab was starting (exit code ${exitCode ?? "?"})`, {
            details: [`last log lines of ${stopped.name}:`, ...(await engine.logs(stopped.id, 20))],
            hint: "fix what its log says, then run `repl-lab up` again",
          });
        }
        if (!session) {
          const endpoint = (await labEndpoints(engine, lab)).get(LEADER);
          if (!endpoint) return undefined;
          try {
            session = await openSession(endpoint, { timeoutMs: 2000 });
            progress.step("leader accepting connections");
          } catch (error) {
            if (isTransientConnectionError(error)) return undefined;
            throw error;
          }
        }
        try {
          lastRows = await session.query<ReplicationProbeRow>(
            "SELECT application_name, state, sync_priority, sync_state FROM pg_stat_replication ORDER BY application_name",
          );
        } catch (error) {
          await closeSession();
          if (isTransientConnectionError(error)) return undefined;
          throw error;
        }
        for (const row of lastRows) {
          if (row.state === "streaming" && topology.followers.includes(row.application_name) && !announced.has(row.application_name)) {
            announced.add(row.application_name);
            progress.step(`${row.application_name} streaming (${announced.size}/${topology.followers.length})`);
          }
        }
        lastSeen = describeRows(lastRows, topology.followers);
        const allStreaming = topology.followers.every((name) =>
          lastRows.some((row) => row.application_name === name && row.state === "streaming"),
        );
        return allStreaming && matchesExpected(expected, lastRows) ? true : undefined;
      },
      {
        timeoutMs: options.waitTimeoutMs,
        intervalMs: 100,
        signal: options.signal,
        onTimeout: async () => {
          const lab = await readLab(engine, topology.lab);
          const lagging = topology.followers.find(
            (name) => !lastRows.some((row) => row.application_name === name && row.state === "streaming"),
          );
          const culprit = lab.nodes.find((node) => node.node === (lagging ?? LEADER));
          const logLines = culprit ? await engine.logs(culprit.id, 15) : [];
          return new LabError(`lab "${topology.lab}" was not ready after ${Math.round(options.waitTimeoutMs / 1000)} s (--wait-timeout)`, {
            details: [
              `awaited: every follower streaming, ${describeExpected(expected)}`,
              `last seen: ${lastSeen}`,
              ...(culprit ? [`last log lines of ${culprit.name}:`, ...logLines] : []),
            ],
            hint: "a busy machine may need a longer --wait-timeout",
          });
        },
      },
    );
  } finally {
    await closeSession();
  }
}
