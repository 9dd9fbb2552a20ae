// repl-lab down [--keep-volumes]
import type { DockerEngine } from "../docker.js";
import { LabError } from "../errors.js";
import { labExists, removeLab, type RemovedResources } from "../lab.js";

export interface DownOptions {
  lab: string;
  keepVolumes: boolean;
}

export async function down(engine: DockerEngine, options: DownOptions): Promise<RemovedResources> {
  await engine.ping();
  if (!(await labExists(engine, options.lab))) {
    throw new LabError(`there is no lab named "${options.lab}" on this engine; nothing to remove`, {
      hint: "list labs with `repl-lab ls`",
    });
  }
  return removeLab(engine, options.lab, { keepVolumes: options.keepVolumes });
}
