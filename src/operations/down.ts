// repl-lab down [--keep-volumes]
import { LabError } from "../core/errors.js";
import { labExists, removeLab, type RemovedResources } from "../lab/context.js";
import { hostsEngine } from "../lab/hosts.js";
import type { Runtime } from "../lab/runtime.js";

export interface DownOptions {
  lab: string;
  keepVolumes: boolean;
}

export async function down(runtime: Runtime, options: DownOptions): Promise<RemovedResources> {
  // A lab across engines exists while its record does, even with a host that does not answer.
  const spread = await hostsEngine(runtime)?.labHosts(options.lab);
  if (!spread && !(await labExists(runtime, options.lab))) {
    throw new LabError(`there is no lab named "${options.lab}" on this engine; nothing to remove`, {
      hint: "list labs with `repl-lab ls`",
    });
  }
  return removeLab(runtime, options.lab, { keepVolumes: options.keepVolumes });
}
