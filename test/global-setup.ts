// Before and after the whole run: no lab of this run is left on the engine, even when tests fail,
// nor one of an earlier run that died; the labs of another run going on at the same time (a second
// terminal, another checkout) are left alone. Each run registers its process in a folder under the
// system's temporary directory; a run whose process is gone is over.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineUnreachableError } from "../src/core/errors.js";

const RUNS = join(tmpdir(), "repl-lab-test-runs");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a run is over: this one (at its end), or one whose process no longer runs. */
function over(run: string, self: string, ending: boolean): boolean {
  if (run === self) return ending;
  try {
    return !alive(Number(readFileSync(join(RUNS, run), "utf8")));
  } catch {
    return true;
  }
}

async function removeLabs(self: string, ending: boolean): Promise<void> {
  const { removeTestLabs } = await import("./helpers.js");
  try {
    await removeTestLabs((run) => over(run, self, ending));
  } catch (error) {
    // Unit tests run without an engine; integration tests will say so themselves.
    if (!(error instanceof EngineUnreachableError)) throw error;
  }
}

export async function setup(): Promise<() => Promise<void>> {
  const run = randomBytes(2).toString("hex");
  process.env.REPL_LAB_TEST_RUN = run;
  mkdirSync(RUNS, { recursive: true });
  writeFileSync(join(RUNS, run), String(process.pid));
  await removeLabs(run, false);
  return async () => {
    try {
      await removeLabs(run, true);
    } finally {
      rmSync(join(RUNS, run), { force: true });
    }
  };
}
