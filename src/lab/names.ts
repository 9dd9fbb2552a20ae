// Names of the labs repl-lab makes for itself (an experiment's, a scenario's): the purpose and a
// random suffix, after REPL_LAB_NAME_PREFIX when set (the test suite sets "test-", so that its
// cleanup finds them whatever happens).
import { randomBytes } from "node:crypto";

export function ownLabName(purpose: string): string {
  const name = `${process.env.REPL_LAB_NAME_PREFIX ?? ""}${purpose}`.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 33);
  return `${name}-${randomBytes(3).toString("hex")}`;
}
