// The test run's engines inside containers, as a lab's hosts (src/bench/engines.ts), labelled with
// the run so that cleanup finds them whatever became of the run.
import { startEngines as start, type TestEngines } from "../src/bench/engines.js";
import { TEST_RUN } from "./helpers.js";

export { removeTestEngines, type TestEngines } from "../src/bench/engines.js";

/** Starts `count` engines named a, b, c… for this test run. */
export function startEngines(count: number): Promise<TestEngines> {
  return start(count, TEST_RUN);
}
