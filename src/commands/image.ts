// repl-lab image build --pg 17|15
import type { DockerEngine } from "../docker.js";
import { UsageError } from "../errors.js";
import { buildImage, DEBIAN_SUITE_FOR_MAJOR } from "../image.js";
import type { Progress } from "../output.js";

export async function imageBuild(engine: DockerEngine, options: { pg: string }, progress: Progress): Promise<string> {
  const major = Number(options.pg);
  if (!DEBIAN_SUITE_FOR_MAJOR[major]) {
    throw new UsageError(`--pg ${options.pg} is not supported`, {
      hint: `choose one of ${Object.keys(DEBIAN_SUITE_FOR_MAJOR).join(", ")}`,
    });
  }
  await engine.ping();
  return buildImage(engine, major, progress);
}
