// repl-lab delay <node> --apply 2s | --network 50ms | --clear: lag on demand on a follower.
import { parseDuration } from "../core/duration.js";
import { LabError, UsageError } from "../core/errors.js";
import type { ContainerEngine } from "../engine/engine.js";
import { readLab, requireNode } from "../lab/context.js";
import { onNode } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { alterSystem } from "../lab/server.js";

export interface DelayOptions {
  lab: string;
  node: string;
  /** recovery_min_apply_delay, e.g. "2s". */
  apply?: string;
  /** netem latency on the node's interface, e.g. "50ms". */
  network?: string;
  clear?: boolean;
}

export interface DelayResult {
  node: string;
  recovery_min_apply_delay: string;
  network_delay: string | null;
}

const NETEM_HINT = "use --apply for a replay delay, which needs nothing from the kernel";

async function setNetworkDelay(engine: ContainerEngine, id: string, delay: string | null): Promise<void> {
  const command = delay === null
    ? ["tc", "qdisc", "del", "dev", "eth0", "root"]
    : ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", delay];
  // A missing tc comes back as exit 126 with the engine's message in the output, not as an error.
  const result = await engine.exec(id, command, { user: "root" });
  if (result.exitCode === 0) return;
  if (delay === null) return; // nothing to clear
  const output = `${result.stdout}${result.stderr}`;
  if (result.exitCode === 126 || result.exitCode === 127 || /executable file not found|not found/.test(output)) {
    throw new LabError("this node's image has no `tc` (iproute2), so it cannot add network latency", { hint: NETEM_HINT });
  }
  if (/qdisc kind is unknown/i.test(output)) {
    throw new LabError("this kernel has no netem queueing discipline (tc: Specified qdisc kind is unknown)", { hint: NETEM_HINT });
  }
  throw new LabError(`tc failed: ${output.trim()}`, { hint: NETEM_HINT });
}

function checkOptions(options: DelayOptions): void {
  const given = [options.apply !== undefined, options.network !== undefined, Boolean(options.clear)].filter(Boolean).length;
  if (given === 0) throw new UsageError("say what to delay: --apply <duration>, --network <duration> or --clear");
  if (options.clear && given > 1) throw new UsageError("--clear cannot be combined with --apply or --network");
  for (const [flag, value] of [["--apply", options.apply], ["--network", options.network]] as const) {
    if (value !== undefined && parseDuration(value) === undefined) throw new UsageError(`${flag} ${value}: expected a duration such as 2s or 50ms`);
  }
}

export async function delay(runtime: Runtime, options: DelayOptions): Promise<DelayResult> {
  checkOptions(options);
  const lab = await readLab(runtime, options.lab);
  const node = requireNode(lab, options.node);
  const applied = await onNode(lab, node.name, async (session) => {
    const [row] = await session.query<{ in_recovery: boolean }>("SELECT pg_is_in_recovery() AS in_recovery");
    if (options.apply !== undefined || options.clear) {
      if (!row?.in_recovery && options.apply !== undefined) {
        throw new LabError(`${options.node} is a primary; a replay delay applies to standbys`, { hint: "delay one of its standbys instead" });
      }
      if (row?.in_recovery) {
        // https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-RECOVERY-MIN-APPLY-DELAY
        await alterSystem(session, { recovery_min_apply_delay: options.clear ? null : `${parseDuration(options.apply!)}ms` });
      }
    }
    const [setting] = await session.query<{ value: string }>("SELECT current_setting('recovery_min_apply_delay') AS value");
    return setting?.value ?? "0";
  });
  if (options.network !== undefined) await setNetworkDelay(runtime.engine, node.id, `${parseDuration(options.network)}ms`);
  if (options.clear) await setNetworkDelay(runtime.engine, node.id, null);
  return { node: options.node, recovery_min_apply_delay: applied, network_delay: options.network ?? null };
}
