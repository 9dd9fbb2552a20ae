// repl-lab as a library: the Lab handle, the errors it throws, and the shapes of what it returns.
// The CLI (bin/repl-lab.cjs) is a door onto the same commands.
export { Lab, runExperiment, type AttachOptions, type ExperimentRunOptions, type LabOptions, type WatchLabOptions } from "./api.js";
export type { ExperimentResult, Row as ExperimentRow } from "./experiments/types.js";
export {
  EngineUnreachableError,
  ExitCode,
  InterruptedError,
  LabError,
  NodeUnavailableError,
  ReplLabError,
  SqlError,
  UsageError,
} from "./core/errors.js";
export { FAULT_ACTIONS, SYNC_COMMIT_LEVELS, type FaultAction, type SyncCommit } from "./core/constants.js";
export type { LabEvent } from "./core/events.js";
export type { LabStatus, NodeStatus, ReplicationStatus, SlotStatus } from "./core/status.js";
export type { CheckItem, CheckResult } from "./commands/check.js";
export type { DelayResult } from "./commands/delay.js";
export type { ScenarioResult, ScenarioRunResult, StepResult } from "./commands/scenario.js";
export type { FaultResult } from "./commands/fault.js";
export type { PromoteResult } from "./commands/promote.js";
export type { RejoinResult } from "./commands/rejoin.js";
export type { SwitchoverResult } from "./commands/switchover.js";
export type { SyncResult } from "./commands/sync.js";
export type { UpResult } from "./commands/up.js";
export type { LabSummary, RemovedResources } from "./lab/context.js";
export type { Runtime } from "./lab/runtime.js";
export type { LabTick, TimedLabEvent } from "./lab/watch.js";
export type { QueryResult, Session } from "./postgres.js";
export type { ContainerEngine } from "./engine/engine.js";
