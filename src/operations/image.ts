// repl-lab image build --pg 17|15 [--ha] | --netfilter | --engine
import { UsageError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { buildEngineImage, buildImage, buildNetfilterImage, DEBIAN_SUITE_FOR_MAJOR, ENGINE_IMAGE } from "../lab/image.js";
import { NETFILTER_IMAGE } from "../lab/partition.js";
import type { Runtime } from "../lab/runtime.js";

export function checkMajor(pg: string | number): number {
  const major = Number(pg);
  if (!DEBIAN_SUITE_FOR_MAJOR[major]) {
    throw new UsageError(`--pg ${pg} is not supported`, { hint: `choose one of ${Object.keys(DEBIAN_SUITE_FOR_MAJOR).join(", ")}` });
  }
  return major;
}

export async function imageBuild(
  runtime: Runtime,
  options: { pg: string | number; ha?: boolean; netfilter?: boolean; engine?: boolean },
  progress: Progress = silentProgress,
): Promise<{ image: string }> {
  if (options.engine) {
    if (options.ha || options.netfilter) throw new UsageError("--engine builds the Docker engine image alone, without --ha or --netfilter");
    await runtime.engine.ping();
    return { image: await buildEngineImage(runtime.engine, ENGINE_IMAGE, progress) };
  }
  if (options.netfilter) {
    if (options.ha) throw new UsageError("--netfilter builds the packet-filter helper alone, without --ha");
    await runtime.engine.ping();
    return { image: await buildNetfilterImage(runtime.engine, NETFILTER_IMAGE, progress) };
  }
  const major = checkMajor(options.pg);
  await runtime.engine.ping();
  return { image: await buildImage(runtime.engine, major, progress, options.ha ?? false) };
}
