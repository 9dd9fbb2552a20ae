// check and scenario run as a CI job uses them: reports a TAP consumer and a JUnit parser accept, a
// failure that stops the run, usage errors before any lab, and cleanup by label whatever happens.
// (The shipped scenarios run in scenarios-shipped*.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { strictJunitProblems } from "../junit.js";
import { Parser } from "tap-parser";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../../src/operations/check.js";
import type { ScenarioRunResult } from "../../src/scenario/run.js";
import { dropLab, engine, labsRemovedAfterAll, runCli, runJson, TEST_LAB_PREFIX } from "../helpers.js";

// The labs scenarios make are named with this prefix, so the suite's cleanup finds them if a run dies.
const env = { REPL_LAB_NAME_PREFIX: TEST_LAB_PREFIX };
const dir = mkdtempSync(join(tmpdir(), "repl-lab-scenarios-"));

async function scenarioLabs(): Promise<string[]> {
  const containers = await engine.listContainers({ "repl-lab.managed": "true" });
  return [...new Set(containers.map((container) => container.labels["repl-lab.lab"] ?? ""))].filter((lab) => lab.startsWith(`${TEST_LAB_PREFIX}scn-`));
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** What tap-parser, a TAP consumer, makes of a report. */
function parseTap(text: string): Promise<{ ok: boolean; count: number; pass: number; fail: number; skip: number }> {
  return new Promise((resolve) => {
    const parser = new Parser((results) => resolve(results as never));
    parser.end(text);
  });
}

/** A JUnit report, checked well-formed and read as testsuites/testsuite/testcase. */
function parseJunit(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(strictJunitProblems(xml)).toEqual([]);
  const document = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml) as {
    testsuites: { tests: string; failures: string; testsuite: { name: string; testcase: { name: string; failure?: { message: string }; skipped?: unknown }[] } | { name: string }[] };
  };
  return document.testsuites;
}

const FAILING = `name: a step that fails
lab: {followers: 1}
steps:
  - wait: {until: "standby1.sync_state == sync", timeout: 1s}
  - kill: standby1
`;

describe("scenario run", () => {
  afterAll(async () => {
    expect(await scenarioLabs()).toEqual([]);
  });

  it("stops at the first failure, exits 1, and reports it in TAP 13 that a TAP consumer reads", async () => {
    const path = file("failing.yaml", FAILING);
    const result = await runCli(["scenario", "run", path, "--reporter", "tap", "--quiet"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^TAP version 13\n1\.\.3\n/);
    expect(result.stdout).toMatch(/\nok 1 - up: leader \+ 1 follower \(\d/);
    expect(result.stdout).toMatch(/\nnot ok 2 - wait until standby1\.sync_state == sync \(\d/);
    expect(result.stdout).toContain('message: "not true within 1 s: standby1.sync_state is \\"async\\""');
    expect(result.stdout).toMatch(/\nok 3 - kill standby1 \(0 ms\) # SKIP an earlier step failed/);
    expect(await parseTap(result.stdout)).toMatchObject({ ok: false, count: 3, pass: 2, fail: 1, skip: 1 });
    expect(await scenarioLabs()).toEqual([]);
  });

  it("--reporter junit --out writes JUnit XML with the failure and the skipped step; --keep-going runs the rest", async () => {
    const path = file("failing-junit.yaml", FAILING);
    const out = join(dir, "report.xml");
    const result = await runCli(["scenario", "run", path, "--reporter", "junit", "--out", out, "--keep-going", "--quiet"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`wrote ${out}`);
    const suites = parseJunit(readFileSync(out, "utf8"));
    expect(suites).toMatchObject({ tests: "3", failures: "1" });
    const suite = suites.testsuite as { name: string; file: string; skipped: string; testcase: { name: string; failure?: { message: string } }[] };
    expect(suite).toMatchObject({ name: "a step that fails", file: path, skipped: "0" });
    expect(suite.testcase.map((test) => test.name)).toEqual(["up: leader + 1 follower", "wait until standby1.sync_state == sync", "kill standby1"]);
    expect(suite.testcase[1]!.failure!.message).toContain("standby1.sync_state is");
    expect(await scenarioLabs()).toEqual([]);
  });

  it("--keep-lab leaves the lab for a look", async () => {
    const path = file("kept.yaml", "lab: {followers: 1}\nsteps:\n  - check:\n");
    const result = await runJson<ScenarioRunResult>(["scenario", "run", path, "--keep-lab", "--quiet"], { env });
    const lab = result.scenarios[0]!.lab!;
    try {
      expect(result.passed).toBe(true);
      expect(await scenarioLabs()).toContain(lab);
    } finally {
      await dropLab(lab);
    }
  });

  it.each([
    ["steps:\n  - kill: standby7\n", "bad.yaml:2: kill: this lab has no node \"standby7\" (its nodes are leader, standby1, standby2)"],
    ["steps:\n  - wait: {until: \"standby1.sync_state === sync\"}\n", "bad.yaml:2: wait.until:"],
    ["steps:\n  - check:\n  - explode: leader\n", "bad.yaml:3: a step has exactly one of"],
    ["lab: {followers: 40}\nsteps:\n  - check:\n", "bad.yaml:1: lab: followers: must be a whole number from 1 to 16"],
    ["steps:\n  - sleep: soon\n", "bad.yaml:2: sleep: expected a duration"],
  ])("a bad scenario file is a usage error naming its line, before any lab exists (%#)", async (text, message) => {
    const path = file("bad.yaml", text);
    const result = await runCli(["scenario", "run", path, "scenarios/failover.yaml"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: ${join(dir, message)}`);
    expect(await scenarioLabs()).toEqual([]);
  });

  it("Ctrl-C removes the scenario's lab and exits 130", async () => {
    const path = file("long.yaml", "lab: {followers: 1}\nsteps:\n  - sleep: 60s\n");
    let sent = false;
    const result = await runCli(["scenario", "run", path], {
      env,
      timeoutMs: 120_000,
      onSpawn: (child) => {
        child.stderr?.on("data", (chunk: Buffer) => {
          if (!sent && chunk.toString().includes("ok: up:")) {
            sent = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`error: interrupted in ${path}; its lab was removed`);
    expect(await scenarioLabs()).toEqual([]);
  });
});

describe("check", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it("passes a healthy lab, and fails one line per broken check with exit 1; TAP and JUnit too", async () => {
    const name = lab("check");
    await runJson(["up", "--lab", name, "--followers", "2", "--sync", "FIRST 1 (standby1, standby2)"]);
    const healthy = await runJson<CheckResult>(["check", "--lab", name]);
    expect(healthy.passed).toBe(true);
    expect(healthy.checks.map((item) => item.name)).toEqual([
      "one primary",
      "standby1 streams from leader",
      "standby1 replay lag under 16.0 MB",
      "standby2 streams from leader",
      "standby2 replay lag under 16.0 MB",
      "sync_state as synchronous_standby_names = 'FIRST 1 (standby1, standby2)' implies",
      "slot standby1 active",
      "slot standby2 active",
      "marker row from leader readable on standby1",
      "marker row from leader readable on standby2",
    ]);
    expect((await runCli(["check", "--lab", name])).code).toBe(0);

    expect((await runCli(["kill", "--lab", name, "standby2"])).code).toBe(0);
    const broken = await runCli(["check", "--lab", name, "--timeout", "2s"]);
    expect(broken.code).toBe(1);
    expect(broken.stdout.split("\n").filter((line) => line.startsWith("FAIL"))).toEqual([
      "FAIL  standby2 streams from leader: not connected (container exited)",
      "FAIL  standby2 replay lag under 16.0 MB: no replay position reported",
      "FAIL  slot standby2 active: inactive (reserved)",
      "FAIL  marker row from leader readable on standby2: not read within the timeout (last: standby2 is exited, not running)",
    ]);
    const tap = await runCli(["check", "--lab", name, "--timeout", "2s", "--reporter", "tap"]);
    expect(await parseTap(tap.stdout)).toMatchObject({ ok: false, count: 10, fail: 4 });
    const junit = await runCli(["check", "--lab", name, "--timeout", "2s", "--reporter", "junit"]);
    expect(parseJunit(junit.stdout)).toMatchObject({ tests: "10", failures: "4" });
  });
});
