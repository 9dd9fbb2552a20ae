// repl-lab scenario run FILE…: each scenario brings up its lab (or uses --lab), runs its steps in
// order through the library (the same operations as the CLI), records pass or fail and the time of
// each, stops at the first failure unless keepGoing, and removes its lab at the end, also after a
// failure or Ctrl-C (unless keepLab). Every file is checked before any lab exists.
import { Lab } from "../api.js";
import { InterruptedError, SqlError, ReplLabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { primariesOf, type LabStatus } from "../core/status.js";
import { renderSyncSpec } from "../core/sync-spec.js";
import type { Topology } from "../core/topology.js";
import { holdFor, retryUntil, sleep } from "../core/retry.js";
import { ownLabName } from "../lab/names.js";
import type { Runtime } from "../lab/runtime.js";
import { describeValues, evaluate, type Scope } from "./expression.js";
import { parseScenario, type Scenario, type Step } from "./parse.js";
import { Workload, type WorkloadSummary } from "./workload.js";

export interface ScenarioOptions {
  files: string[];
  /** Run in this lab instead of one made from each scenario's `lab:` (it is left in place). */
  lab?: string;
  keepGoing?: boolean;
  keepLab?: boolean;
  image?: string;
  signal?: AbortSignal;
}

export interface StepResult {
  index: number;
  title: string;
  line: number | null;
  status: "passed" | "failed" | "skipped";
  duration_ms: number;
  /** Why it failed, or why it was skipped. */
  message: string | null;
}

export interface ScenarioResult {
  file: string;
  name: string;
  lab: string | null;
  passed: boolean;
  duration_ms: number;
  steps: StepResult[];
}

export interface ScenarioRunResult {
  passed: boolean;
  scenarios: ScenarioResult[];
}

interface Background {
  state: "pending" | "done" | "failed";
  rows: number | null;
  error: string | null;
}

class StepFailed extends Error {}

/** What an expression sees: each node's status fields with its pg_stat_replication row, lab, sql, workload. */
function scopeOf(status: LabStatus, sql: Map<string, Background>, workloads: Map<string, Workload | WorkloadSummary>): Scope {
  const scope: Scope = {};
  for (const node of status.nodes) scope[node.name] = { ...node };
  for (const row of status.replication) {
    const target = (scope[row.application_name] ??= {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(row)) if (!(key in target) && key !== "application_name") target[key] = value;
  }
  const primaries = primariesOf(status);
  scope.lab = { primaries: primaries.length, primary: primaries.length === 1 ? primaries[0]!.name : null, warnings: status.warnings.length, nodes: status.nodes.length };
  scope.sql = Object.fromEntries(sql);
  scope.workload = Object.fromEntries([...workloads].map(([name, workload]) => [name, workload instanceof Workload ? workload.summary() : workload]));
  return scope;
}

function sameRows(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): boolean {
  const normal = (rows: Record<string, unknown>[]) => JSON.stringify(rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === null ? null : String(value)]))));
  return normal(actual) === normal(expected);
}

async function runStep(lab: Lab, step: Step, state: { sql: Map<string, Background>; workloads: Map<string, Workload | WorkloadSummary> }, signal?: AbortSignal): Promise<void> {
  const scope = async () => scopeOf(await lab.status(), state.sql, state.workloads);
  switch (step.kind) {
    case "action":
      await lab.act(step.action);
      return;
    case "sql": {
      if (step.as !== undefined) {
        const background: Background = { state: "pending", rows: null, error: null };
        state.sql.set(step.as, background);
        lab.sql(step.node, step.query).then(
          (result) => Object.assign(background, { state: "done", rows: result.rows.length }),
          (error: unknown) => Object.assign(background, { state: "failed", error: error instanceof SqlError ? (error.sqlstate ?? error.message) : (error as Error).message }),
        );
        return;
      }
      const expect = step.expect;
      let result;
      try {
        result = await lab.sql(step.node, step.query);
      } catch (error) {
        if (expect?.error !== undefined && error instanceof SqlError && error.sqlstate === expect.error) return;
        throw new StepFailed(expect?.error !== undefined ? `expected SQLSTATE ${expect.error}, got: ${(error as Error).message}` : (error as Error).message);
      }
      if (expect?.error !== undefined) throw new StepFailed(`expected SQLSTATE ${expect.error}, but the query succeeded`);
      if (expect?.count !== undefined && result.rows.length !== expect.count) throw new StepFailed(`expected ${expect.count} rows, got ${result.rows.length}`);
      if (expect?.rows !== undefined && !sameRows(result.rows, expect.rows)) throw new StepFailed(`expected rows ${JSON.stringify(expect.rows)}, got ${JSON.stringify(result.rows)}`);
      return;
    }
    case "wait": {
      let current: Scope = {};
      await retryUntil(
        async () => {
          current = await scope();
          return evaluate(step.until, current) ? true : undefined;
        },
        { timeoutMs: step.timeoutMs, intervalMs: 200, signal, onTimeout: () => new StepFailed(`not true within ${step.timeoutMs / 1000} s: ${describeValues(step.until, current)}`) },
      );
      return;
    }
    case "hold": {
      let current: Scope = {};
      const brokeAfter = await holdFor(
        async () => {
          current = await scope();
          return evaluate(step.while, current);
        },
        { forMs: step.forMs, intervalMs: 200, signal },
      );
      if (brokeAfter !== undefined) throw new StepFailed(`stopped holding after ${Math.round(brokeAfter)} ms: ${describeValues(step.while, current)}`);
      return;
    }
    case "check": {
      const result = await lab.check({ maxLagBytes: step.maxLagBytes, timeoutMs: step.timeoutMs, signal });
      const failed = result.checks.filter((item) => !item.passed);
      if (failed.length) throw new StepFailed(failed.map((item) => `${item.name}: ${item.detail}`).join("; "));
      return;
    }
    case "sleep":
      await sleep(step.ms, signal);
      return;
    case "workload": {
      if (step.start !== undefined) {
        state.workloads.set(step.start, await Workload.start(lab, step.writers));
        return;
      }
      const running = state.workloads.get(step.stop!);
      if (!(running instanceof Workload)) throw new StepFailed(`no running workload named ${step.stop}`);
      state.workloads.set(step.stop!, await running.stop());
      return;
    }
  }
}

function describeLab(topology: Topology): string {
  const sync = renderSyncSpec(topology.sync);
  return `up${topology.ha ? " --ha (Patroni, etcd)" : ""}: leader + ${topology.followers.length} follower${topology.followers.length === 1 ? "" : "s"}${sync ? `, synchronous_standby_names '${sync}'` : ""}`;
}

async function runScenario(runtime: Runtime, scenario: Scenario, options: ScenarioOptions, progress: Progress): Promise<ScenarioResult> {
  const started = performance.now();
  const steps: StepResult[] = [];
  const record = (title: string, line: number | null, status: StepResult["status"], durationMs: number, message: string | null) => {
    steps.push({ index: steps.length + 1, title, line, status, duration_ms: Math.round(durationMs), message });
    progress.step(`${status === "passed" ? "ok" : status === "failed" ? "FAILED" : "skipped"}: ${title}${message ? ` (${message})` : ""}`);
  };
  let lab: Lab | undefined;
  const made = options.lab === undefined;
  const state = { sql: new Map<string, Background>(), workloads: new Map<string, Workload | WorkloadSummary>() };
  try {
    if (made) {
      const topology = scenario.topology!;
      const upStarted = performance.now();
      try {
        lab = await Lab.up({
          name: ownLabName(`scn-${scenario.file.replace(/^.*\//, "").replace(/\.ya?ml$/, "")}`),
          followers: topology.followers.length,
          sync: topology.sync ? renderSyncSpec(topology.sync) : undefined,
          syncCommit: topology.syncCommit,
          slots: topology.slots,
          walSenderTimeout: topology.walSenderTimeout,
          networkDelay: topology.networkDelayMs,
          settings: topology.settings,
          image: topology.image ?? options.image,
          ...(topology.ha
            ? {
                ha: true,
                ttl: topology.ha.ttl,
                loopWait: topology.ha.loop_wait,
                retryTimeout: topology.ha.retry_timeout,
                maximumLagOnFailover: topology.ha.maximum_lag_on_failover,
                syncMode: topology.ha.synchronous_mode,
              }
            : {}),
          runtime,
          signal: options.signal,
        });
        record(describeLab(topology), null, "passed", performance.now() - upStarted, null);
      } catch (error) {
        if (error instanceof InterruptedError) throw error;
        record(describeLab(topology), null, "failed", performance.now() - upStarted, (error as Error).message);
      }
    } else {
      lab = await Lab.attach(options.lab!, { runtime });
    }
    let failed = steps.some((step) => step.status === "failed");
    for (const { step, title, line } of scenario.steps) {
      if (options.signal?.aborted) throw new InterruptedError("interrupted");
      if (!lab || (failed && !options.keepGoing)) {
        record(title, line, "skipped", 0, lab ? "an earlier step failed" : "the lab did not come up");
        continue;
      }
      const stepStarted = performance.now();
      try {
        await runStep(lab, step, state, options.signal);
        // A step cut short by Ctrl-C (a sleep, a wait) did not pass.
        if (options.signal?.aborted) throw new InterruptedError("interrupted");
        record(title, line, "passed", performance.now() - stepStarted, null);
      } catch (error) {
        if (options.signal?.aborted) throw new InterruptedError("interrupted");
        if (!(error instanceof StepFailed) && !(error instanceof ReplLabError)) throw error;
        failed = true;
        record(title, line, "failed", performance.now() - stepStarted, error.message);
      }
    }
  } finally {
    // Cleaning up is part of the run: what could not be cleaned up is a failed step that says so.
    const cleanup = async (title: string, work: () => Promise<unknown>) => {
      const cleanupStarted = performance.now();
      try {
        await work();
      } catch (error) {
        record(title, null, "failed", performance.now() - cleanupStarted, (error as Error).message);
      }
    };
    for (const [name, workload] of state.workloads) if (workload instanceof Workload) await cleanup(`stop workload ${name}`, () => workload.stop());
    const madeLab = lab;
    if (made && madeLab && !options.keepLab) await cleanup(`remove lab ${madeLab.name} (run \`repl-lab down --lab ${madeLab.name}\`)`, () => madeLab.down());
  }
  return {
    file: scenario.file,
    name: scenario.name,
    lab: lab?.name ?? null,
    passed: steps.every((step) => step.status !== "failed"),
    duration_ms: Math.round(performance.now() - started),
    steps,
  };
}

export async function runScenarios(runtime: Runtime, options: ScenarioOptions, progress: Progress = silentProgress): Promise<ScenarioRunResult> {
  // Every file is read and checked before any lab exists.
  const scenarios = options.files.map((file) => parseScenario(file, { givenLab: options.lab !== undefined }));
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    progress.step(`scenario ${scenario.file}`);
    try {
      results.push(await runScenario(runtime, scenario, options, progress));
    } catch (error) {
      if (options.signal?.aborted || error instanceof InterruptedError) {
        throw new InterruptedError(`interrupted in ${scenario.file}${options.keepLab ? "" : "; its lab was removed"}`);
      }
      throw error;
    }
  }
  return { passed: results.every((result) => result.passed), scenarios: results };
}
