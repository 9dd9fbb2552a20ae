// What the shipped scenarios' test files share: a scenario file run as CI runs it, in a lab of its own.
import { expect } from "vitest";
import type { ScenarioRunResult } from "../src/scenario/run.js";
import { engine, runCli, TEST_LAB_PREFIX } from "./helpers.js";

/** The labs these scenarios make are named with this prefix (the suite's cleanup knows the run's prefix). */
const PREFIX = `${TEST_LAB_PREFIX}shipped-`;

export async function shippedLabs(): Promise<string[]> {
  const containers = await engine.listContainers({ "repl-lab.managed": "true" });
  return [...new Set(containers.map((container) => container.labels["repl-lab.lab"] ?? ""))].filter((lab) => lab.startsWith(PREFIX));
}

/** Runs one shipped scenario file; every step must pass, and its lab must be gone afterwards. */
export async function runShipped(file: string): Promise<void> {
  // --json prints the result whether or not every step passed: a failed step's message shows in the assertion.
  const run = await runCli(["scenario", "run", file, "--quiet", "--json"], { env: { REPL_LAB_NAME_PREFIX: PREFIX }, timeoutMs: 600_000 });
  const result = JSON.parse(run.stdout) as ScenarioRunResult;
  for (const scenario of result.scenarios) {
    console.log(`${scenario.file}: ${scenario.steps.length} steps in ${(scenario.duration_ms / 1000).toFixed(1)} s`);
    expect(scenario.steps.filter((step) => step.status !== "passed"), scenario.file).toEqual([]);
  }
  expect(run.code).toBe(0);
  expect(result.passed).toBe(true);
  expect(await shippedLabs()).toEqual([]);
}
