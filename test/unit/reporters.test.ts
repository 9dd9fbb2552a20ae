// The reports CI reads: JUnit XML that the strictest consumers validate (test/junit-strict.xsd, the
// element and attribute set of Jenkins' xUnit plugin), and TAP 13 as Perl's prove reads it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { checkCases, junitReport, scenarioCases, tapReport } from "../../src/views/reporters.js";
import { strictJunitProblems } from "../junit.js";

const scenarioRun = {
  passed: false,
  scenarios: [
    {
      file: "scenarios/failover.yaml",
      name: "failover & <rejoin>",
      lab: "scn-1",
      passed: false,
      duration_ms: 4321,
      steps: [
        { index: 1, title: "kill leader", line: 6, status: "passed" as const, duration_ms: 1200, message: null },
        { index: 2, title: 'wait until standby1.role == "primary"', line: 7, status: "failed" as const, duration_ms: 30_000, message: "not true within 30 s: \u001b[31mstandby1.role\u001b[0m = standby" },
        { index: 3, title: "rejoin leader", line: 9, status: "skipped" as const, duration_ms: 0, message: "an earlier step failed" },
      ],
    },
    { file: "scenarios/ok.yaml", name: "ok", lab: "scn-2", passed: true, duration_ms: 10, steps: [{ index: 1, title: "check", line: 3, status: "passed" as const, duration_ms: 10, message: null }] },
  ],
};
const checkRun = {
  lab: "ci",
  passed: false,
  checks: [
    { name: "one primary", passed: true, detail: "leader answers as the primary", duration_ms: 12 },
    { name: "standby1 streams from leader", passed: false, detail: "not connected (container exited)", duration_ms: 2000 },
  ],
};

describe("JUnit reports", () => {
  it("validate against the strict schema, failures, skipped steps and odd characters included", async () => {
    for (const cases of [scenarioCases(scenarioRun), checkCases(checkRun), []]) {
      expect(strictJunitProblems(await junitReport(cases))).toEqual([]);
    }
  });

  it("the schema check is not a rubber stamp: what strict consumers refuse is refused", () => {
    const loose = `<?xml version="1.0"?><testsuites skipped="1"><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" file="a.yaml"><properties><property name="line" value="3"/></properties></testcase></testsuite></testsuites>`;
    const problems = strictJunitProblems(loose).join("\n");
    expect(problems).toMatch(/attribute 'skipped' is not allowed/);
    expect(problems).toMatch(/attribute 'file' is not allowed/);
    expect(problems).toMatch(/Element 'properties': This element is not expected/);
  });

  it("count and keep each step's file and line where the schema allows them", async () => {
    const xml = await junitReport(scenarioCases(scenarioRun));
    const document = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    const suites = document.testsuites;
    expect(suites).toMatchObject({ tests: "4", failures: "1", errors: "0" });
    const [failover] = suites.testsuite;
    expect(failover).toMatchObject({ name: "failover & <rejoin>", file: "scenarios/failover.yaml", tests: "3", failures: "1", skipped: "1" });
    expect(failover.testcase[1]).toMatchObject({ classname: "scenarios/failover.yaml", "system-out": "scenarios/failover.yaml:7", time: "30.000" });
    expect(failover.testcase[1].failure.message).toBe("not true within 30 s: [31mstandby1.role[0m = standby");
    expect(failover.testcase[2].skipped).toMatchObject({ message: "an earlier step failed" });
  });
});

describe("TAP reports", () => {
  it("are read by Perl's prove as a harness would: the failure fails it, the skip is a skip", () => {
    const dir = mkdtempSync(join(tmpdir(), "repl-lab-tap-"));
    const file = join(dir, "report.tap");
    writeFileSync(file, tapReport(scenarioCases(scenarioRun)) + "\n");
    const result = spawnSync("prove", ["-v", "-e", "cat", file], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/Failed 1\/4 subtests/);
    expect(result.stdout).toMatch(/less 1 skipped subtest/);
    expect(result.stdout).toMatch(/Failed test:  2\n/);
  });
});
