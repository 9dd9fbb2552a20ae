// The small set of errors repl-lab raises. Only src/cli.ts turns them into an exit code
// and a message; everything else throws.

export const ExitCode = {
  ok: 0,
  /** The lab or the servers did not do what was asked (timeout, container failed, lab exists, unknown node). */
  labError: 1,
  /** The command line or lab file is wrong; nothing was touched. */
  usage: 2,
  /** No Docker engine answered. */
  engineUnreachable: 3,
  /** A bug in repl-lab. */
  internal: 70,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

export abstract class ReplLabError extends Error {
  abstract readonly exitCode: number;
  /** One line telling the user what to do next. */
  readonly hint: string | undefined;
  /** Extra lines printed after the message (e.g. a container's last log lines). */
  readonly details: string[];

  constructor(message: string, options: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

export class UsageError extends ReplLabError {
  readonly exitCode = ExitCode.usage;
}

export class LabError extends ReplLabError {
  readonly exitCode = ExitCode.labError;
}

export class EngineUnreachableError extends ReplLabError {
  readonly exitCode = ExitCode.engineUnreachable;
}

export class InterruptedError extends ReplLabError {
  readonly exitCode = ExitCode.interrupted;
}

export class InternalError extends ReplLabError {
  readonly exitCode = ExitCode.internal;
}

export function exitCodeOf(error: unknown): number {
  return error instanceof ReplLabError ? error.exitCode : ExitCode.internal;
}
