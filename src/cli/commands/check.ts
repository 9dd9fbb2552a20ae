// repl-lab check: is the lab healthy? For CI.
import type { Command } from "commander";
import { addReportOptions, jsonOption, labOption, type LabFlags, type ReportFlags } from "../options.js";
import { execute, showReport } from "../run.js";

type CheckFlags = LabFlags & ReportFlags & { maxLag: string; timeout: string };

export function registerCheck(program: Command): void {
  const check = program
    .command("check")
    .description("assert the lab is healthy for CI: one primary, followers streaming, sync states, lag, slots, a marker row on every follower")
    .addOption(labOption())
    .option("--max-lag <size>", "most WAL a follower may have left to replay", "16MB")
    .option("--timeout <duration>", "how long the checks may take to hold", "30s")
    .addOption(jsonOption());
  addReportOptions(check)
    .addHelpText("after", `
Exit code 0 when every check holds, 1 with one line per failed check otherwise.
Examples:
  $ repl-lab check
  $ repl-lab check --lab ci --max-lag 1MB --timeout 60s --reporter junit --out check.xml`)
    .action(async (flags: CheckFlags) => {
      const [{ durationMs }, { parseSize }, { UsageError }] = await Promise.all([import("../../core/duration.js"), import("../../core/size.js"), import("../../core/errors.js")]);
      const maxLagBytes = parseSize(flags.maxLag);
      if (maxLagBytes === undefined) throw new UsageError(`--max-lag ${flags.maxLag}: expected a size such as 16MB`);
      const timeoutMs = durationMs(flags.timeout, "--timeout");
      const [{ check }, { checkView, checkCases }] = await Promise.all([import("../../operations/check.js"), import("../../views/reporters.js")]);
      const result = await execute((runtime, { signal }) => check(runtime, { lab: flags.lab, maxLagBytes, timeoutMs, signal }), { interrupt: "abort" });
      await showReport(result, flags, { text: checkView, cases: checkCases });
      if (!result.passed) process.exitCode = 1;
    });
}
