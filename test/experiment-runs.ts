// What the experiment test files share: an experiment run as a user runs it, and the labs it left.
import type { ExperimentResult, Row } from "../src/experiments/types.js";
import { engine, runJson, TEST_LAB_PREFIX } from "./helpers.js";

/** The labs experiments make are named with the run's prefix, so the suite's cleanup finds them if a run dies. */
export const experimentEnv = { REPL_LAB_NAME_PREFIX: TEST_LAB_PREFIX };

export async function experiment(args: string[]): Promise<ExperimentResult> {
  const result = await runJson<ExperimentResult>(["experiment", ...args, "--quiet"], { env: experimentEnv, timeoutMs: 600_000 });
  console.log(`${result.experiment}: ${result.conclusion}`);
  return result;
}

/** The labs of this run's experiments still on the engine: none once an experiment has returned. */
export async function experimentLabs(): Promise<string[]> {
  const containers = await engine.listContainers({ "repl-lab.managed": "true" });
  return [...new Set(containers.map((container) => container.labels["repl-lab.lab"] ?? ""))].filter((lab) => lab.startsWith(`${TEST_LAB_PREFIX}exp-`));
}

export const by = (rows: Row[], key: string, value: string) => rows.find((row) => row[key] === value)!;
export const num = (row: Row, key: string) => Number(row[key]);
