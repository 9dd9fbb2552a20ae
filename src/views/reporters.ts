// Results of `check` and `scenario run` as people and CI read them: lines for a terminal, TAP 13
// for TAP consumers, JUnit XML for Jenkins', GitHub's and GitLab's test reports.
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

/** Characters XML 1.0 cannot carry (escape sequences, NUL…): a report must parse wherever it goes. */
const notXml = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const xmlText = (text: string) => text.replace(notXml, "");
const seconds = (ms: number) => (ms / 1000).toFixed(3);

/**
 * JUnit XML: a testsuite per check run or scenario, a testcase per check or step, in the shape the
 * strictest consumers validate (Jenkins' xUnit plugin, pytest's xunit2 family): no `skipped` on
 * <testsuites>, no `file` or <properties> on a <testcase>. A scenario's file is its suite's `file`;
 * a step's file and line are its `classname` and its <system-out>.
 */
export async function junitReport(cases: TestCase[]): Promise<string> {
  const { XMLBuilder } = await import("fast-xml-parser");
  const suites = new Map<string, TestCase[]>();
  for (const test of cases) suites.set(test.suite, [...(suites.get(test.suite) ?? []), test]);
  const count = (list: TestCase[], status: TestCase["status"]) => String(list.filter((test) => test.status === status).length);
  const total = (list: TestCase[]) => seconds(list.reduce((sum, test) => sum + test.duration_ms, 0));
  const document = {
    "?xml": { "@version": "1.0", "@encoding": "UTF-8" },
    testsuites: {
      "@name": "repl-lab",
      "@tests": String(cases.length),
      "@failures": count(cases, "failed"),
      "@errors": "0",
      "@time": total(cases),
      testsuite: [...suites].map(([name, list]) => ({
        "@name": xmlText(name),
        "@tests": String(list.length),
        "@failures": count(list, "failed"),
        "@errors": "0",
        "@skipped": count(list, "skipped"),
        "@time": total(list),
        ...(list[0]?.file ? { "@file": xmlText(list[0].file) } : {}),
        testcase: list.map((test) => ({
          "@name": xmlText(test.name),
          "@classname": xmlText(test.file ?? test.suite),
          "@time": seconds(test.duration_ms),
          ...(test.status === "failed" ? { failure: { "@message": xmlText(test.message ?? "failed"), "#text": xmlText(test.message ?? "failed") } } : {}),
          ...(test.status === "skipped" ? { skipped: test.message ? { "@message": xmlText(test.message) } : "" } : {}),
          ...(test.file && test.line ? { "system-out": `${xmlText(test.file)}:${test.line}` } : {}),
        })),
      })),
    },
  };
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", format: true, suppressEmptyNode: true });
  return (builder.build(document) as string).trimEnd();
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
