// Before and after the whole run: no lab named test-* is left on the engine, even when tests fail.
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
  await removeIfEngine();
  return removeIfEngine;
}
