// repl-lab delay <node> --apply 2s | --network 50ms | --clear: lag on demand on a follower.
//   --apply    recovery_min_apply_delay: the standby replays each commit no sooner than this after it.
//   --network  one-way latency on the standby's replication link, both directions, through the
//              link-delay ends every node runs (templates/link-delay.pl): bytes wait on the side that
//              sends them, as packets wait in the sending host's queue under netem.
import { parseAction } from "../core/action.js";
import { parseDuration } from "../core/duration.js";
import { LabError, UsageError } from "../core/errors.js";
import { primaryConninfo } from "../core/node-plan.js";
import type { NodeStatus } from "../core/status.js";
import { readLab, requireNode, type LabContext } from "../lab/context.js";
import { nodeStatus, onNode, theOnePrimary } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { alterSystem, logTail, waitForStreaming } from "../lab/server.js";
import { readLabStatus } from "../lab/status.js";

export interface DelayOptions {
  lab: string;
  node: string;
  /** recovery_min_apply_delay, e.g. "2s". */
  apply?: string;
  /** One-way latency on the standby's replication link, e.g. "50ms". */
  network?: string;
  /** Remove both. */
  clear?: boolean;
}

export interface DelayResult {
  node: string;
  recovery_min_apply_delay: string;
  /** One-way latency on the node's replication link in ms; null: none. */
  network_delay_ms: number | null;
  /** The primary the node's link goes to. */
  upstream: string | null;
}

/** The one schema every door shares (core/action.ts): exactly what to do, durations within bounds. */
function checkOptions(options: DelayOptions): void {
  if (options.apply === undefined && options.network === undefined && !options.clear) {
    throw new UsageError("say what to delay: --apply <duration>, --network <duration> or --clear");
  }
  try {
    parseAction("delay", { node: options.node, apply: options.apply, network: options.network, clear: options.clear || undefined });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^delay: (apply|network|clear)/, "--$1").replace(/^delay: /, ""));
  }
}

/** The link delay runs on Perl in both containers (every Debian-based image has it; alpine ones do not). */
async function requirePerl(lab: LabContext, nodes: string[]): Promise<void> {
  for (const name of nodes) {
    const { exitCode } = await lab.runtime.engine.exec(requireNode(lab, name).id, ["sh", "-c", "command -v perl"]);
    if (exitCode !== 0) {
      throw new LabError(`${name}'s image has no perl, which the userspace link delay runs on`, {
        hint: "use a Debian-based image (the official postgres:<version> or repl-lab/postgres), or --apply for a replay delay",
      });
    }
  }
}

/** Sets the standby's link (direct, or through the link delay) and waits until it streams again. */
async function relink(lab: LabContext, standby: NodeStatus, upstream: string, networkDelayMs: number | null): Promise<void> {
  await onNode(lab, standby.name, (session) =>
    alterSystem(session, { primary_conninfo: primaryConninfo(upstream, lab.secrets.replicationPassword, networkDelayMs) }),
  );
  const outcome = await waitForStreaming(lab, { primary: upstream, standbys: [standby.name], timeoutMs: 30_000 });
  if (!outcome.ready) {
    throw new LabError(`${standby.name} does not stream from ${upstream} through its new link`, {
      details: await logTail(lab, requireNode(lab, standby.name)),
      hint: "a lab made by an older repl-lab has no link-delay ends: rebuild it with `repl-lab down` and `repl-lab up`",
    });
  }
}

export async function delay(runtime: Runtime, options: DelayOptions): Promise<DelayResult> {
  checkOptions(options);
  const lab = await readLab(runtime, options.lab);
  const node = requireNode(lab, options.node);
  if (lab.ha && options.network !== undefined) {
    // Patroni writes primary_conninfo itself: the link delay of an HA lab is set once, at up.
    throw new LabError("in HA mode the network delay is set when the lab is made (`up --ha --network-delay 20ms`) and cannot change live", {
      hint: "--apply works in HA mode too",
    });
  }
  const status = await readLabStatus(lab);
  const standby = nodeStatus(lab, status, node.name);
  const applied = await onNode(lab, node.name, async (session) => {
    const [row] = await session.query<{ in_recovery: boolean }>("SELECT pg_is_in_recovery() AS in_recovery");
    if (!row?.in_recovery && (options.apply !== undefined || options.network !== undefined)) {
      throw new LabError(`${options.node} is a primary; a delay applies to a standby`, { hint: "delay one of its standbys instead" });
    }
    if (row?.in_recovery && (options.apply !== undefined || options.clear)) {
      // https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-RECOVERY-MIN-APPLY-DELAY
      await alterSystem(session, { recovery_min_apply_delay: options.clear ? null : `${parseDuration(options.apply!)}ms` });
    }
    const [setting] = await session.query<{ value: string }>("SELECT current_setting('recovery_min_apply_delay') AS value");
    return setting?.value ?? "0";
  });
  let networkDelayMs = standby.network_delay_ms;
  const upstream = standby.role === "standby" ? (standby.upstream ?? theOnePrimary(status).name) : null;
  if (upstream && options.network !== undefined) {
    networkDelayMs = parseDuration(options.network)!;
    await requirePerl(lab, [node.name, upstream]);
    await relink(lab, standby, upstream, networkDelayMs);
  } else if (upstream && options.clear && networkDelayMs !== null) {
    networkDelayMs = null;
    await relink(lab, standby, upstream, null);
  }
  return { node: node.name, recovery_min_apply_delay: applied, network_delay_ms: networkDelayMs, upstream };
}
