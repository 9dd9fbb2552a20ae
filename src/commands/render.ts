// repl-lab render: the topology as a compose file, written to a file or stdout.
import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { composeSecrets, renderCompose } from "../compose.js";
import { DEFAULT_MAJOR, OFFICIAL_IMAGE } from "../image.js";
import type { Topology } from "../topology.js";

export interface RenderCommandOptions {
  topology: Topology;
  output: string | undefined;
  seed: string | undefined;
  /** The command line, quoted into the file's header. */
  command: string;
}

export async function render(options: RenderCommandOptions): Promise<string> {
  const { topology } = options;
  const text = renderCompose(topology, {
    image: topology.image ?? process.env.REPL_LAB_IMAGE ?? OFFICIAL_IMAGE(DEFAULT_MAJOR),
    secrets: composeSecrets(topology.lab, options.seed),
    command: options.command,
    file: options.output ? basename(options.output) : "docker-compose.yml",
  });
  if (options.output) await writeFile(options.output, text);
  return text;
}
