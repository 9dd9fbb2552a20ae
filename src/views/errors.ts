// An error as the user reads it: one line, the details under it, a hint, and a stack trace only
// with DEBUG. Only cli.ts calls this, once, where errors become exit codes.
import { ReplLabError } from "../core/errors.js";
import { debugEnabled } from "../core/log.js";
import { errorLine, hintLine } from "./terminal.js";

export function errorText(error: unknown): string {
  const lines: string[] = [];
  if (error instanceof ReplLabError) {
    lines.push(errorLine(error.message));
    for (const line of error.details) lines.push(`  ${line}`);
    if (error.hint) lines.push(hintLine(error.hint));
    if (debugEnabled() && error.stack) lines.push(error.stack);
    return lines.join("\n") + "\n";
  }
  const message = error instanceof Error ? error.message : String(error);
  lines.push(errorLine(`unexpected: ${message}`));
  if (debugEnabled() && error instanceof Error && error.stack) lines.push(error.stack);
  else lines.push(hintLine("run again with DEBUG=1 for details, and report it if it persists"));
  return lines.join("\n") + "\n";
}
