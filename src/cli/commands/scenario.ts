// repl-lab scenario run: scenario files, each in a lab of its own; for CI.
import type { Command } from "commander";
import { addReportOptions, jsonOption, quietOption, type ReportFlags } from "../options.js";
import { execute, showReport } from "../run.js";

type ScenarioFlags = ReportFlags & { lab?: string; keepGoing?: boolean; keepLab?: boolean; image?: string; quiet?: boolean };

export function registerScenario(program: Command): void {
  const scenario = program.command("scenario").description("scenario files: a lab, steps that break it, and what must hold; for CI");
  const scenarioRun = scenario
    .command("run")
    .description("run scenario files, each in a lab of its own (removed at the end, also on failure and Ctrl-C)")
    .argument("<files...>", "scenario files (YAML)")
    .option("--lab <name>", "run in this existing lab instead (it is left in place)")
    .option("--keep-going", "run every step even after one fails")
    .option("--keep-lab", "leave each scenario's lab in place, to look at it")
    .option("--image <image>", "PostgreSQL image for the labs it makes")
    .addOption(jsonOption());
  addReportOptions(scenarioRun)
    .addOption(quietOption())
    .addHelpText("after", `
Exit code 0 when every step passed, 1 when one failed, 2 for a bad scenario file (nothing runs).
Examples:
  $ repl-lab scenario run scenarios/*.yaml
  $ repl-lab scenario run scenarios/failover.yaml --reporter tap
  $ repl-lab scenario run scenarios/*.yaml --reporter junit --out repl-lab-junit.xml`)
    .action(async (files: string[], flags: ScenarioFlags) => {
      const [{ runScenarios }, { scenarioView, scenarioCases }] = await Promise.all([import("../../scenario/run.js"), import("../../views/reporters.js")]);
      const options = { files, lab: flags.lab, keepGoing: flags.keepGoing, keepLab: flags.keepLab, image: flags.image };
      const result = await execute((runtime, { signal, progress }) => runScenarios(runtime, { ...options, signal }, progress), { interrupt: "abort", quiet: flags.quiet });
      await showReport(result, flags, { text: scenarioView, cases: scenarioCases });
      if (!result.passed) process.exitCode = 1;
    });
}
