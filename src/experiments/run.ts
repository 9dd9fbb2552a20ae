// repl-lab experiment <name> | experiment list: an experiment runs real clients against real servers
// in labs of its own (removed when it ends, also on failure and Ctrl-C), or in the lab named with
// --lab (its sync settings and link delays changed for the run and put back after), and returns
// its rows and a one-sentence conclusion computed from them.
import { Lab, type LabOptions } from "../api.js";
import { InterruptedError, LabError, ReplLabError, UsageError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { throwIfInterrupted } from "../core/retry.js";
import { ownLabName } from "../lab/names.js";
import type { Runtime } from "../lab/runtime.js";
import { dockerRuntime } from "../lab/runtime.js";
import { progressTo } from "../core/progress.js";
import { EXPERIMENTS, findExperiment } from "./catalog.js";
import type { Column, Experiment, ExperimentContext, ExperimentResult, Figure, Row } from "./types.js";

/** Each experiment's code, loaded when it runs. */
const CODE: Record<string, () => Promise<Experiment<object>>> = {
  "commit-latency": async () => (await import("./commit-latency.js")).commitLatency,
  "failover-loss": async () => (await import("./failover-loss.js")).failoverLoss,
  "stale-reads": async () => (await import("./stale-reads.js")).staleReads,
  "slot-retention": async () => (await import("./slot-retention.js")).slotRetention,
  detection: async () => (await import("./detection.js")).detection,
  "ha-failover": async () => (await import("./ha-failover.js")).haFailover,
  "split-brain": async () => (await import("./split-brain.js")).splitBrain,
  lag: async () => (await import("./lag.js")).lag,
};

export interface ExperimentOptions {
  name: string;
  /** The experiment's own options, as flags give them (strings) or the library does. */
  options: Record<string, unknown>;
  /** Run in this existing lab instead of labs of its own, where the experiment allows it. */
  lab?: string;
  image?: string;
  /** Labs of its own across these engines (`--host NAME=URL`, as `up` takes them). */
  hosts?: string[];
  signal?: AbortSignal;
}

export interface ExperimentRun {
  result: ExperimentResult;
  columns: Column[];
  figures: Figure[];
}

export function listExperiments(): { name: string; summary: string; example: string }[] {
  return EXPERIMENTS.map(({ name, summary, example }) => ({ name, summary, example }));
}

/** What a given lab had before the experiment set it for itself. */
interface Restore {
  sync?: string;
  syncCommit?: string;
  networkDelays?: Record<string, number | null>;
}

/** Sets a given lab up as `wanted` asks, remembering what to put back. */
async function adapt(lab: Lab, wanted: LabOptions, needed: number): Promise<Restore> {
  const status = await lab.status();
  if (wanted.ha && status.patroni === undefined) {
    throw new LabError(`lab "${lab.name}" is not in HA mode; this experiment needs Patroni`, { hint: "give a lab made with `repl-lab up --ha`, or leave --lab out" });
  }
  const standbys = status.nodes.filter((node) => node.role === "standby");
  if (standbys.length < needed) {
    throw new LabError(`lab "${lab.name}" has ${standbys.length} standbys; this experiment needs ${needed}`, {
      hint: "leave --lab out and the experiment makes a lab of its own",
    });
  }
  const restore: Restore = {};
  const [settings] = (await lab.sql("leader", "SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS level")).rows;
  if (wanted.sync !== undefined) {
    restore.sync = String(settings?.names ?? "");
    await lab.sync.set(wanted.sync);
  }
  if (wanted.syncCommit !== undefined) {
    restore.syncCommit = String(settings?.level ?? "on");
    await lab.sync.commit(wanted.syncCommit);
  }
  if (wanted.networkDelay !== undefined) {
    restore.networkDelays = {};
    for (const standby of standbys) {
      restore.networkDelays[standby.name] = standby.network_delay_ms;
      await lab.delay(standby.name, { network: `${wanted.networkDelay}ms` });
    }
  }
  return restore;
}

async function putBack(lab: Lab, restore: Restore): Promise<void> {
  if (restore.sync !== undefined) await (restore.sync === "" ? lab.sync.off() : lab.sync.set(restore.sync));
  if (restore.syncCommit !== undefined) await lab.sync.commit(restore.syncCommit);
  for (const [standby, ms] of Object.entries(restore.networkDelays ?? {})) {
    await (ms === null ? lab.delay(standby, { clear: true }) : lab.delay(standby, { network: `${ms}ms` }));
  }
}

export async function experiment(runtime: Runtime, options: ExperimentOptions, progress: Progress = silentProgress): Promise<ExperimentRun> {
  const entry = findExperiment(options.name);
  if (!entry) {
    throw new UsageError(`there is no experiment named "${options.name}"`, { hint: `the experiments are ${EXPERIMENTS.map((each) => each.name).join(", ")}` });
  }
  const config = entry.parse(options.options);
  const definition = await CODE[entry.name]!();
  if (options.lab !== undefined && !definition.usesGivenLab) {
    throw new UsageError(`${entry.name} cannot use --lab: it needs labs of its own, which it breaks for good`, { hint: "leave --lab out" });
  }
  const made: Lab[] = [];
  const given: { lab: Lab; restore: Restore }[] = [];
  const context: ExperimentContext = {
    runtime,
    progress,
    signal: options.signal,
    async lab(wanted, purpose = {}) {
      throwIfInterrupted(options.signal);
      if (options.lab !== undefined && !purpose.fresh) {
        const lab = await Lab.attach(options.lab, { runtime, onProgress: (message) => progress.step(message) });
        given.push({ lab, restore: await adapt(lab, wanted, purpose.standbys ?? Number(wanted.followers ?? 1)) });
        return lab;
      }
      const name = ownLabName(`exp-${entry.name}`);
      progress.step(`bringing up lab ${name}`);
      const lab = await Lab.up({ image: options.image, ...(options.hosts?.length ? { hosts: options.hosts } : {}), ...wanted, name, runtime, signal: options.signal });
      made.push(lab);
      return lab;
    },
    async release(lab) {
      const index = made.indexOf(lab);
      if (index >= 0) {
        made.splice(index, 1);
        await lab.down();
      }
    },
  };
  let rows: Row[] | undefined;
  let failure: unknown;
  try {
    rows = await definition.run(context, config);
  } catch (error) {
    failure = error;
  }
  // Cleaning up is part of the run: what could not be put back or removed is said, not swallowed.
  const cleanupFailed: string[] = [];
  for (const { lab, restore } of given) {
    await putBack(lab, restore).catch((error: Error) => cleanupFailed.push(`lab "${lab.name}" was not put back as it was (${error.message}); see \`repl-lab status --lab ${lab.name}\``));
  }
  for (const lab of made) {
    await lab.down().catch((error: Error) => cleanupFailed.push(`lab "${lab.name}" was not removed (${error.message}); run \`repl-lab down --lab ${lab.name}\``));
  }
  if (options.signal?.aborted) {
    // Whatever broke off when Ctrl-C arrived (a client mid-query, say), the cause was Ctrl-C.
    throw new InterruptedError(cleanupFailed.length ? `interrupted; ${cleanupFailed.join("; ")}` : `interrupted; the labs ${entry.name} made were removed`);
  }
  if (failure !== undefined || rows === undefined) {
    if (failure instanceof ReplLabError) failure.details.push(...cleanupFailed.map((problem) => `and ${problem}`));
    else for (const problem of cleanupFailed) progress.step(problem);
    throw failure;
  }
  const result: ExperimentResult = {
    experiment: entry.name,
    config: config as Record<string, unknown>,
    results: rows,
    conclusion: definition.conclude(rows, config),
    ...(cleanupFailed.length ? { cleanup_failed: cleanupFailed } : {}),
  };
  return { result, columns: definition.columns, figures: definition.figures(rows, config) };
}

export interface ExperimentRunOptions {
  /** Run in this existing lab instead of labs of its own (where the experiment allows it). */
  lab?: string;
  image?: string;
  /** Labs of its own across these engines: ["a=tcp://…", "b=ssh://…"]. */
  hosts?: string[];
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  runtime?: Runtime;
}

/**
 * Runs an experiment from the library, as `repl-lab experiment <name>` does: `options` are its
 * flags' fields (`{ applyDelay: "200ms", levels: ["on", "remote_apply"] }`). Resolves to
 * `{ experiment, config, results, conclusion }`.
 */
export async function runExperiment(name: string, options: Record<string, unknown> = {}, run: ExperimentRunOptions = {}): Promise<ExperimentResult> {
  const runtime = run.runtime ?? (await dockerRuntime());
  const { result } = await experiment(runtime, { name, options, lab: run.lab, image: run.image, hosts: run.hosts, signal: run.signal }, progressTo(run.onProgress));
  return result;
}
