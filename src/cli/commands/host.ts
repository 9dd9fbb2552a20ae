// repl-lab host down|up <host> (a machine of a lab across engines fails, or comes back), and
// repl-lab host init (joins engines into one swarm, on request).
import type { Command } from "commander";
import { jsonOption, labOption, quietOption, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

export function registerHost(program: Command): void {
  const host = program.command("host").description("hosts of a lab across engines: a whole machine down or up, and joining engines into a swarm");
  for (const action of ["down", "up"] as const) {
    host
      .command(action)
      .description(action === "down" ? "kill every member of the lab on a host at once, as a machine losing power" : "start again every member of the lab on a host that was taken down")
      .argument("<host>", "a host of the lab (see `repl-lab status`)")
      .addOption(labOption())
      .addOption(jsonOption())
      .addHelpText("after", `\nExample:\n  $ repl-lab host ${action} a && repl-lab status`)
      .action(async (name: string, flags: LabFlags & JsonFlags) => {
        const [{ hostFault }, { hostFaultView }] = await Promise.all([import("../../operations/host.js"), import("../../views/results.js")]);
        await run(flags, (runtime, { progress }) => hostFault(runtime, { lab: flags.lab, host: name, action }, progress), { text: hostFaultView });
      });
  }
  host
    .command("init")
    .description("join engines into one swarm, for labs across them: the first is its manager (docker swarm init), the others join it")
    .requiredOption("--host <name=engine-url>", "an engine (repeatable), as DOCKER_HOST takes it", (value: string, all: string[] = []) => [...all, value])
    .option("--yes", "go ahead: this changes the engines (never done unasked)")
    .addOption(jsonOption())
    .addOption(quietOption())
    .addHelpText(
      "after",
      `
The machines must reach each other on 2377/tcp (swarm management), 7946/tcp and udp (gossip) and
4789/udp (the overlay network's VXLAN traffic).

Example:
  $ repl-lab host init --host a=ssh://me@db1 --host b=ssh://me@db2 --host c=ssh://me@db3 --yes
  $ repl-lab up --host a=ssh://me@db1 --host b=ssh://me@db2 --host c=ssh://me@db3`,
    )
    .action(async (flags: JsonFlags & { host: string[]; yes?: boolean; quiet?: boolean }) => {
      const [{ hostInit }, { parseHostFlag }, { hostInitView }] = await Promise.all([import("../../operations/host.js"), import("../../core/hosts.js"), import("../../views/results.js")]);
      const hosts = flags.host.map(parseHostFlag);
      await run(flags, (runtime, { progress }) => hostInit(runtime, { hosts, yes: flags.yes ?? false }, progress), { text: hostInitView });
    });
}
