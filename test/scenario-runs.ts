// What the shipped scenarios' test files share: a scenario file run as CI runs it, in a lab of its own.
import { expect } from "vitest";
import type { ScenarioRunResult } from "../src/scenario/run.js";
import { engine, runCli, TEST_LAB_PREFIX } from "./helpers.js";

/**
 * The labs a scenario file makes are named with a prefix of that file's own (the suite's cleanup
 * knows the run's prefix), so that files run side by side each look only at their own labs.
 */
function prefixOf(file: string): string {
  return `${TEST_LAB_PREFIX}shipped-${file.replace(/^.*\//, "").replace(/\.yaml$/, "").slice(0, 8)}-`;
}

async function labsNamed(prefix: string): Promise<string[]> {
  const containers = await engine.listContainers({ "repl-lab.managed": "true" });
  return [...new Set(containers.map((container) => container.labels["repl-lab.lab"] ?? ""))].filter((lab) => lab.startsWith(prefix));
}

/** Runs one shipped scenario file; every step must pass, and its lab must be gone afterwards. */
export async function runShipped(file: string): Promise<void> {
  const PREFIX = prefixOf(file);
  // --json prints the result whether or not every step passed: a failed step's message shows in the assertion.
  const run = await runCli(["scenario", "run", file, "--quiet", "--json"], { env: { REPL_LAB_NAME_PREFIX: PREFIX }, timeoutMs: 600_000 });
  const result = JSON.parse(run.stdout) as ScenarioRunResult;
  for (const scenario of result.scenarios) {
    console.log(`${scenario.file}: ${scenario.steps.length} steps in ${(scenario.duration_ms / 1000).toFixed(1)} s`);
    expect(scenario.steps.filter((step) => step.status !== "passed"), scenario.file).toEqual([]);
  }
  expect(run.code).toBe(0);
  expect(result.passed).toBe(true);
  expect(await labsNamed(PREFIX)).toEqual([]);
}
