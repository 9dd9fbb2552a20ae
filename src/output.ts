// Two channels: what the user asked for goes to stdout; progress and diagnostics go to stderr.
import { Chalk, type ChalkInstance } from "chalk";

function colourWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}

/** Colours for stdout; off when stdout is not a terminal or NO_COLOR is set. */
export const colour: ChalkInstance = new Chalk({ level: colourWanted(process.stdout) ? 1 : 0 });
const stderrColour: ChalkInstance = new Chalk({ level: colourWanted(process.stderr) ? 1 : 0 });

export function debugEnabled(): boolean {
  const flag = process.env.DEBUG;
  return flag !== undefined && flag !== "" && flag !== "0";
}

/** Diagnostics for whoever debugs repl-lab: every Docker call and query, only when DEBUG is set. */
export function debug(message: string): void {
  if (debugEnabled()) process.stderr.write(stderrColour.gray(`[debug] ${message}\n`));
}

export interface Progress {
  step(message: string): void;
}

/** Progress lines on stderr for long steps; silent with --quiet. */
export function stderrProgress(quiet = false): Progress {
  const started = Date.now();
  return {
    step(message) {
      if (quiet) return;
      const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      process.stderr.write(`${stderrColour.gray(seconds + "s")} ${message}\n`);
    },
  };
}

export const silentProgress: Progress = { step() {} };

export function printLine(text = ""): void {
  process.stdout.write(text + "\n");
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function warn(message: string): void {
  process.stderr.write(`${stderrColour.yellow("warning:")} ${message}\n`);
}

export function errorLine(message: string): string {
  return `${stderrColour.red("error:")} ${message}`;
}

export function hintLine(hint: string): string {
  return `${stderrColour.cyan("hint:")} ${hint}`;
}
