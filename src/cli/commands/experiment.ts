// repl-lab experiment list | experiment <name>: each experiment's flags come from its declared options.
import type { Command } from "commander";
import { EXPERIMENTS, type ExperimentDeclaration } from "../../experiments/catalog.js";
import { jsonOption, quietOption, type JsonFlags } from "../options.js";
import { execute, show } from "../run.js";

type ExperimentFlags = Record<string, unknown> & JsonFlags & { lab?: string; image?: string; host?: string[]; out?: string; quiet?: boolean };

function registerOne(experiment: Command, entry: ExperimentDeclaration): void {
  const command = experiment.command(entry.name).description(entry.summary);
  for (const option of entry.options) command.option(option.flags, option.description);
  command
    .option("--lab <name>", "run in this lab instead of labs of its own (its settings are put back after)")
    .option("--image <image>", "PostgreSQL image for the labs it makes")
    .option("--host <name=engine-url>", "make its labs across engines of one swarm, as `up --host` (repeatable)", (value: string, all: string[] = []) => [...all, value])
    .addOption(jsonOption('print { "experiment", "config", "results", "conclusion" }'))
    .option("--out <dir>", "write result.json and one SVG plot per figure there")
    .addOption(quietOption())
    .addHelpText("after", `\nExample:\n  $ ${entry.example}`)
    .action(async (flags: ExperimentFlags) => {
      const [{ experiment }, views, { printNote, errorLine }] = await Promise.all([
        import("../../experiments/run.js"), import("../../views/experiment.js"), import("../../views/terminal.js"),
      ]);
      const options = Object.fromEntries(entry.options.map((option) => [option.key, flags[option.key]]));
      const request = { name: entry.name, options, lab: flags.lab, image: flags.image, hosts: flags.host };
      const ran = await execute((runtime, { signal, progress }) => experiment(runtime, { ...request, signal }, progress), { interrupt: "abort", quiet: flags.quiet });
      if (flags.out) for (const file of await views.writeExperimentFiles(flags.out, ran)) printNote(`wrote ${file}`);
      await show(ran.result, flags, { text: (_, colour) => views.experimentView(ran, colour) });
      // The results stand, but something is left behind: say what, and exit 1 so a CI job sees it.
      for (const problem of ran.result.cleanup_failed ?? []) printNote(errorLine(problem));
      if (ran.result.cleanup_failed) process.exitCode = 1;
    });
}

export function registerExperiment(program: Command): void {
  const experiment = program
    .command("experiment")
    .description("measure what replication costs and what it loses, on real servers: a table, a conclusion, plots with --out")
    .addHelpText("after", `
Examples:
  $ repl-lab experiment list
${EXPERIMENTS.map((entry) => `  $ ${entry.example}`).join("\n")}`);
  experiment
    .command("list")
    .description("the experiments, a line each")
    .addOption(jsonOption("print as JSON"))
    .action(async (flags: JsonFlags) => {
      const [{ listExperiments }, { experimentListView }] = await Promise.all([import("../../experiments/run.js"), import("../../views/experiment.js")]);
      await show(listExperiments(), flags, { text: experimentListView });
    });
  for (const entry of EXPERIMENTS) registerOne(experiment, entry);
}
