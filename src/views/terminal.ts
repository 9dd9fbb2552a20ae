// The CLI's two channels: what the user asked for goes to stdout; progress and diagnostics go to
// stderr. Colour only for a terminal, never with NO_COLOR, always with FORCE_COLOR.
import { Chalk, type ChalkInstance } from "chalk";
import type { Progress } from "../core/progress.js";

function colourWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}

/** Colours for stdout; off when stdout is not a terminal or NO_COLOR is set. */
export const colour: ChalkInstance = new Chalk({ level: colourWanted(process.stdout) ? 1 : 0 });
const stderrColour: ChalkInstance = new Chalk({ level: colourWanted(process.stderr) ? 1 : 0 });

/** Progress lines on stderr for long steps, with the seconds since the command began; silent with --quiet. */
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

export function printLine(text = ""): void {
  process.stdout.write(text + "\n");
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** One JSON object per line, for streams (status --watch --json, events --json). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

export function printNote(text: string): void {
  process.stderr.write(text + "\n");
}

export function errorLine(message: string): string {
  return `${stderrColour.red("error:")} ${message}`;
}

export function hintLine(hint: string): string {
  return `${stderrColour.cyan("hint:")} ${hint}`;
}
