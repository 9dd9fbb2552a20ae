// Results of `check` and `scenario run` as people and CI read them: lines for a terminal, TAP 13
// for TAP consumers, JUnit XML (junit-report-builder) for GitHub's and GitLab's test reports.
import type { ChalkInstance } from "chalk";
import type { CheckResult } from "../operations/check.js";
import type { ScenarioRunResult } from "../scenario/run.js";

export const REPORTERS = ["text", "tap", "junit"] as const;
export type Reporter = (typeof REPORTERS)[number];

/** One test in a report: a check, or a step of a scenario. */
export interface TestCase {
  suite: string;
  name: string;
  status: "passed" | "failed" | "skipped";
  duration_ms: number;
  message: string | null;
  file?: string;
  line?: number | null;
}

export function checkCases(result: CheckResult): TestCase[] {
  return result.checks.map((item) => ({
    suite: `repl-lab check ${result.lab}`,
    name: item.name,
    status: item.passed ? "passed" : "failed",
    duration_ms: item.duration_ms,
    message: item.passed ? null : item.detail,
  }));
}

export function scenarioCases(result: ScenarioRunResult): TestCase[] {
  return result.scenarios.flatMap((scenario) =>
    scenario.steps.map((step) => ({
      suite: scenario.name,
      name: step.title,
      status: step.status,
      duration_ms: step.duration_ms,
      message: step.message,
      file: scenario.file,
      line: step.line,
    })),
  );
}

const took = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** TAP version 13: one line per case, its failure as a YAML block, skipped ones marked # SKIP. */
export function tapReport(cases: TestCase[]): string {
  const lines = ["TAP version 13", `1..${cases.length}`];
  let suite: string | undefined;
  cases.forEach((test, index) => {
    if (test.suite !== suite) {
      suite = test.suite;
      lines.push(`# ${suite}`);
    }
    const name = `${test.name.replace(/#/g, "\\#")} (${took(test.duration_ms)})`;
    if (test.status === "skipped") {
      lines.push(`ok ${index + 1} - ${name} # SKIP ${test.message ?? ""}`.trimEnd());
      return;
    }
    lines.push(`${test.status === "passed" ? "ok" : "not ok"} ${index + 1} - ${name}`);
    if (test.status === "failed") {
      lines.push("  ---", `  message: ${JSON.stringify(test.message ?? "failed")}`);
      if (test.file) lines.push(`  file: ${JSON.stringify(test.file)}`);
      if (test.line) lines.push(`  line: ${test.line}`);
      lines.push("  ...");
    }
  });
  return lines.join("\n");
}

/** JUnit XML: a testsuite per check run or scenario, a testcase per check or step. */
export async function junitReport(cases: TestCase[]): Promise<string> {
  // A CommonJS module whose types describe its ES default export: the instance is module.exports.
  const builder = (await import("junit-report-builder")).default as unknown as import("junit-report-builder").Builder;
  const report = builder.newBuilder();
  const suites = new Map<string, ReturnType<typeof report.testSuite>>();
  for (const test of cases) {
    let suite = suites.get(test.suite);
    if (!suite) {
      suite = report.testSuite().name(test.suite);
      suites.set(test.suite, suite);
    }
    const testCase = suite.testCase().className(test.file ?? test.suite).name(test.name).time(test.duration_ms / 1000);
    if (test.file && test.line) testCase.file(test.file).property("line", String(test.line));
    if (test.status === "failed") testCase.failure(test.message ?? "failed");
    if (test.status === "skipped") testCase.skipped();
  }
  return report.build();
}

export function checkView(result: CheckResult, colour: ChalkInstance): string {
  const lines = result.checks.map((item) =>
    item.passed ? `${colour.green("ok")}    ${item.name}` : `${colour.red("FAIL")}  ${item.name}: ${item.detail}`,
  );
  const failed = result.checks.filter((item) => !item.passed).length;
  lines.push(failed === 0 ? colour.green(`lab ${result.lab} is healthy: ${result.checks.length} checks passed`) : colour.red(`lab ${result.lab}: ${failed} of ${result.checks.length} checks failed`));
  return lines.join("\n");
}

export function scenarioView(result: ScenarioRunResult, colour: ChalkInstance): string {
  const lines: string[] = [];
  for (const scenario of result.scenarios) {
    lines.push(colour.bold(`${scenario.name}${scenario.name === scenario.file ? "" : ` (${scenario.file})`}`));
    for (const step of scenario.steps) {
      const mark = step.status === "passed" ? colour.green("✓") : step.status === "failed" ? colour.red("✗") : colour.dim("-");
      const where = step.line ? colour.dim(` line ${step.line}`) : "";
      lines.push(`  ${mark} ${step.title} ${colour.dim(`(${took(step.duration_ms)})`)}${step.status === "skipped" ? colour.dim(" skipped") : ""}`);
      if (step.status === "failed") lines.push(`      ${colour.red(step.message ?? "failed")}${where}`);
    }
  }
  const steps = result.scenarios.flatMap((scenario) => scenario.steps);
  const count = (status: string) => steps.filter((step) => step.status === status).length;
  lines.push(`${result.scenarios.length} scenario${result.scenarios.length === 1 ? "" : "s"}: ${count("passed")} steps passed, ${count("failed")} failed, ${count("skipped")} skipped`);
  return lines.join("\n");
}
