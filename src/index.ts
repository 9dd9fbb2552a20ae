// repl-lab as a library: the Lab handle, the errors it throws, and the shapes of what it returns.
// The CLI (bin/repl-lab.cjs) is a door onto the same commands.
export { Lab, type AttachOptions, type LabOptions, type WatchLabOptions } from "./api.js";
export { runExperiment, type ExperimentRunOptions } from "./experiments/run.js";
export { ACTION_VERBS, parseAction, type ActionVerb, type LabAction } from "./core/action.js";
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
export type { CheckItem, CheckResult } from "./operations/check.js";
export type { DelayResult } from "./operations/delay.js";
export type { ScenarioResult, ScenarioRunResult, StepResult } from "./scenario/run.js";
export type { FaultResult } from "./operations/fault.js";
export type { PartitionOptions, PartitionResult } from "./operations/partition.js";
export type { PartitionMap } from "./core/partition.js";
export type { PromoteResult } from "./operations/promote.js";
export type { RejoinResult } from "./operations/rejoin.js";
export type { SwitchoverResult } from "./operations/switchover.js";
export type { SyncResult } from "./operations/sync.js";
export type { UpResult } from "./operations/up.js";
export type { LabSummary, RemovedResources } from "./lab/context.js";
export type { Runtime } from "./lab/runtime.js";
export type { LabTick, TimedLabEvent } from "./lab/watch.js";
export type { QueryResult, Session } from "./postgres.js";
export type { ContainerEngine } from "./core/engine.js";
