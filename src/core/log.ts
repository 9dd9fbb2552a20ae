// Diagnostics for whoever debugs repl-lab: every Docker call and query with its duration, on stderr,
// only when DEBUG is set. Nothing else in repl-lab writes outside the CLI's views.

export function debugEnabled(): boolean {
  const flag = process.env.DEBUG;
  return flag !== undefined && flag !== "" && flag !== "0";
}

export function debug(message: string): void {
  if (debugEnabled()) process.stderr.write(`[debug] ${message}\n`);
}
