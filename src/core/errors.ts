// The small set of errors repl-lab raises. The CLI turns them into an exit code and a message in
// one place (cli.ts `report`); the library hands them to the caller as they are.

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

export interface ErrorOptions {
  /** One line telling the user what to do next. */
  hint?: string;
  /** Extra lines shown after the message (e.g. a container's last log lines). */
  details?: string[];
  cause?: unknown;
}

export abstract class ReplLabError extends Error {
  abstract readonly exitCode: number;
  readonly hint: string | undefined;
  readonly details: string[];

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

/** The command line, lab file or library options are wrong; nothing was touched. */
export class UsageError extends ReplLabError {
  readonly exitCode = ExitCode.usage;
}

/** The lab or its servers did not do what was asked. */
export class LabError extends ReplLabError {
  readonly exitCode = ExitCode.labError;
}

/** A node's server could not be reached: refused, reset, timed out, starting up or shutting down. */
export class NodeUnavailableError extends LabError {
  constructor(
    readonly node: string,
    message: string,
    /** The driver's code: ECONNREFUSED, ETIMEDOUT, 57P03 (starting up)… */
    readonly code: string | undefined,
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** The engine could not publish a container's port on the host: another process holds it. */
export class PortTakenError extends LabError {}

/** The server answered a statement with an error. */
export class SqlError extends LabError {
  constructor(
    readonly node: string,
    message: string,
    /** SQLSTATE, e.g. 25006 for a write on a read-only standby. */
    readonly sqlstate: string | undefined,
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
}

export class EngineUnreachableError extends ReplLabError {
  readonly exitCode = ExitCode.engineUnreachable;
}

export class InterruptedError extends ReplLabError {
  readonly exitCode = ExitCode.interrupted;
}

export function exitCodeOf(error: unknown): number {
  return error instanceof ReplLabError ? error.exitCode : ExitCode.internal;
}
