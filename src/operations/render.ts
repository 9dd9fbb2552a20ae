// repl-lab render: the topology as a compose file. It asks the engine only which image is already
// here (never pulls, and works with no engine at all).
import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { composeSecrets, renderCompose } from "../core/compose.js";
import { dataMountTarget } from "../core/node-plan.js";
import type { Topology } from "../core/topology.js";
import { DEFAULT_MAJOR, LOCAL_HA_IMAGE, localImage, OFFICIAL_IMAGE, type ResolvedImage } from "../lab/image.js";
import type { Runtime } from "../lab/runtime.js";

export interface RenderOptions {
  topology: Topology;
  /** A file to write; the text is returned either way. */
  output?: string;
  /** Derives the passwords, so the same command renders the same file. */
  seed?: string;
  /** The command line, quoted into the file's header. */
  command: string;
}

export interface RenderResult {
  image: string;
  text: string;
  output: string | null;
}

export async function render(runtime: Runtime | undefined, options: RenderOptions): Promise<RenderResult> {
  const { topology } = options;
  let resolved: ResolvedImage | undefined;
  if (topology.ha && !topology.image) {
    // HA mode runs the HA image, whether or not it is built yet (`image build --ha`).
    const image = process.env.REPL_LAB_IMAGE ?? LOCAL_HA_IMAGE(DEFAULT_MAJOR);
    const details = runtime ? await runtime.engine.inspectImage(image).catch(() => undefined) : undefined;
    resolved = { image, details: details ?? { env: {}, volumes: [] } };
  } else if (runtime && !topology.image) {
    // The image `up` would use here, if the engine answers at once; else the official one.
    const noAnswer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref());
    resolved = await Promise.race([localImage(runtime.engine, undefined).catch(() => undefined), noAnswer]);
  }
  const image = topology.image ?? resolved?.image ?? process.env.REPL_LAB_IMAGE ?? OFFICIAL_IMAGE(DEFAULT_MAJOR);
  const text = renderCompose(topology, {
    image,
    secrets: composeSecrets(topology.lab, options.seed),
    command: options.command,
    file: options.output ? basename(options.output) : "docker-compose.yml",
    mountTarget: resolved ? dataMountTarget(resolved.details.volumes) : undefined,
  });
  if (options.output) await writeFile(options.output, text);
  return { image, text, output: options.output ?? null };
}
