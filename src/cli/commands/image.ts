// repl-lab image build: PostgreSQL images made from Debian's packages.
import type { Command } from "commander";
import { jsonOption, type JsonFlags } from "../options.js";
import { run } from "../run.js";

export function registerImage(program: Command): void {
  const image = program.command("image").description("PostgreSQL images for labs");
  image
    .command("build")
    .description("build repl-lab/postgres:<major> from Debian's packages (for machines with no registry)")
    .option("--pg <major>", "PostgreSQL major version: 17 (Debian trixie) or 15 (Debian bookworm)", "17")
    .option("--ha", "build repl-lab/postgres-ha:<major> instead: the same plus Patroni and etcd, for `up --ha`")
    .option("--netfilter", "build repl-lab/netfilter:1 instead: nftables alone, the helper `partition` loads packet filters with")
    .option("--engine", "build repl-lab/engine:1 instead: Debian's Docker engine, to run a lab's hosts as engines inside containers (tests, trials)")
    .addOption(jsonOption("print the image name as JSON"))
    .action(async (flags: JsonFlags & { pg: string; ha?: boolean; netfilter?: boolean; engine?: boolean }) => {
      const { imageBuild, checkMajor } = await import("../../operations/image.js");
      if (!flags.netfilter && !flags.engine) checkMajor(flags.pg);
      await run(flags, (runtime, { progress }) => imageBuild(runtime, { pg: flags.pg, ha: flags.ha, netfilter: flags.netfilter, engine: flags.engine }, progress), { text: (built) => built.image });
    });
}
