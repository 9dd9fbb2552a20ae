// repl-lab ls: the labs on this engine, found by label.
import type { DockerEngine } from "../docker.js";
import { listLabs, type LabSummary } from "../lab.js";

export async function ls(engine: DockerEngine): Promise<LabSummary[]> {
  await engine.ping();
  return listLabs(engine);
}
