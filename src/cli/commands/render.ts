// repl-lab render: the topology as a compose file.
import type { Command } from "commander";
import { addTopologyOptions, type TopologyFlags } from "../options.js";
import { loadRuntime } from "../run.js";

export function registerRender(program: Command): void {
  addTopologyOptions(program.command("render"))
    .description("write the topology as a compose file that runs as-is with docker compose / docker-compose")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .option("--seed <text>", "derive the passwords from this text, so the same command renders the same file")
    .addHelpText("after", `
Examples:
  $ repl-lab render -n 2 --sync standby1 -o docker-compose.yml && docker compose up -d
  $ repl-lab render --file lab.yaml > lab-compose.yml`)
    .action(async (flags: TopologyFlags & { output?: string; seed?: string }) => {
      const [{ topologyFrom }, { render }, { printNote }] = await Promise.all([
        import("../topology.js"), import("../../operations/render.js"), import("../../views/terminal.js"),
      ]);
      const topology = topologyFrom(flags);
      // With an image given, rendering needs no engine.
      const runtime = topology.image ? undefined : await loadRuntime();
      const command = ["repl-lab", ...process.argv.slice(2)].join(" ");
      const result = await render(runtime, { topology, output: flags.output, seed: flags.seed, command });
      if (result.output) printNote(`wrote ${result.output}`);
      else process.stdout.write(result.text);
    });
}
