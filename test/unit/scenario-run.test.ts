// Running scenarios on the in-memory engine and scripted servers: what a run reports about its own
// cleanup. (Real scenarios on real labs run in test/integration/scenarios.test.ts.)
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LabError } from "../../src/core/errors.js";
import { runScenarios } from "../../src/scenario/run.js";
import { FakeEngine, fakeRuntime, healthy } from "../fakes.js";

function scenarioFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "repl-lab-scenario-run-")), "cleanup.yaml");
  writeFileSync(file, text);
  return file;
}

describe("a scenario run", () => {
  it("whose lab cannot be removed at the end fails, with a step that says so and how to remove it", async () => {
    const engine = new FakeEngine();
    engine.failOn = (operation, name) => (operation === "remove" && name.endsWith("-standby1") ? new LabError("the engine refused") : undefined);
    const file = scenarioFile("lab: {followers: 1}\nsteps:\n  - sleep: 0s\n");
    const result = await runScenarios(fakeRuntime(engine, healthy(["standby1"])), { files: [file] });
    expect(result.passed).toBe(false);
    const [scenario] = result.scenarios;
    const last = scenario!.steps.at(-1)!;
    expect(last).toMatchObject({ status: "failed", message: expect.stringContaining("the engine refused") });
    expect(last.title).toBe(`remove lab ${scenario!.lab} (run \`repl-lab down --lab ${scenario!.lab}\`)`);
  });

  it("that cleans up passes with no extra step", async () => {
    const engine = new FakeEngine();
    const file = scenarioFile("lab: {followers: 1}\nsteps:\n  - sleep: 0s\n");
    const result = await runScenarios(fakeRuntime(engine, healthy(["standby1"])), { files: [file] });
    expect(result.passed).toBe(true);
    expect(result.scenarios[0]!.steps.map((step) => step.status)).toEqual(["passed", "passed"]);
    expect(engine.containers.size).toBe(0);
  });
});
