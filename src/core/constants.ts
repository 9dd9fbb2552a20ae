// Names and limits the command line needs before anything heavy is loaded: this module imports nothing.

export const LEADER = "leader";
export const MAX_FOLLOWERS = 16;
export const DEFAULT_FOLLOWERS = 2;

export const SYNC_COMMIT_LEVELS = ["off", "local", "remote_write", "on", "remote_apply"] as const;
export type SyncCommit = (typeof SYNC_COMMIT_LEVELS)[number];

export type Role = "primary" | "standby";

/** Faults and their repairs, each one Docker operation on one of the lab's containers. */
export const FAULT_ACTIONS = ["kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal"] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export const DEFAULT_LAB = "default";

/** The lab named by REPL_LAB_NAME, else "default". */
export function defaultLabName(): string {
  return process.env.REPL_LAB_NAME || DEFAULT_LAB;
}
