// What the experiment test files share: an experiment run as a user runs it, and the labs it left.
// Each file names its experiments' labs with a prefix of its own, so that files running side by side
// each see only their own labs.
import { expect } from "vitest";
import type { ExperimentResult, Row } from "../src/experiments/types.js";
import { engine, runJson, TEST_LAB_PREFIX } from "./helpers.js";

export interface ExperimentRuns {
  /** The environment the CLI runs with: the labs' prefix, which the suite's cleanup knows. */
  env: Record<string, string>;
  run(args: string[]): Promise<ExperimentResult>;
  /** The labs of this file's experiments still on the engine: none once an experiment has returned. */
  labs(): Promise<string[]>;
}

export function experimentRuns(purpose: string): ExperimentRuns {
  const prefix = `${TEST_LAB_PREFIX}${purpose}-`;
  const env = { REPL_LAB_NAME_PREFIX: prefix };
  return {
    env,
    async run(args) {
      const result = await runJson<ExperimentResult>(["experiment", ...args, "--quiet"], { env, timeoutMs: 600_000 });
      console.log(`${result.experiment}: ${result.conclusion}`);
      return result;
    },
    async labs() {
      const containers = await engine.listContainers({ "repl-lab.managed": "true" });
      return [...new Set(containers.map((container) => container.labels["repl-lab.lab"] ?? ""))].filter((lab) => lab.startsWith(prefix));
    },
  };
}

/**
 * A test file's experiment runner whose labs are checked, once the file is done, to be all gone:
 * an experiment removes the labs it made, also when it fails.
 */
export function experimentsRemovingTheirLabs(purpose: string, afterAll: (work: () => Promise<void>) => void): ExperimentRuns["run"] {
  const runs = experimentRuns(purpose);
  afterAll(async () => {
    expect(await runs.labs()).toEqual([]);
  });
  return runs.run;
}

export const by = (rows: Row[], key: string, value: string) => rows.find((row) => row[key] === value)!;
export const num = (row: Row, key: string) => Number(row[key]);
