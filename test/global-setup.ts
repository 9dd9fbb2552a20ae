// Before and after the whole run: no lab named test-* is left on the engine, even when tests fail,
// and the CLI's code caches of the run (the checkout's, and those of the installs the package test
// makes) go to a folder of the run's own, removed at its end, not to the user's cache home.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineUnreachableError } from "../src/core/errors.js";
import { removeTestLabs } from "./helpers.js";

async function removeIfEngine(): Promise<void> {
  try {
    await removeTestLabs();
  } catch (error) {
    // Unit tests run without an engine; integration tests will say so themselves.
    if (!(error instanceof EngineUnreachableError)) throw error;
  }
}

export async function setup(): Promise<() => Promise<void>> {
  const cacheHome = mkdtempSync(join(tmpdir(), "repl-lab-test-cache-"));
  process.env.XDG_CACHE_HOME = cacheHome;
  await removeIfEngine();
  return async () => {
    try {
      await removeIfEngine();
    } finally {
      rmSync(cacheHome, { recursive: true, force: true });
    }
  };
}
