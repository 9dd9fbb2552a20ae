// repl-lab ls: the labs on this engine, found by label.
import { listLabs, type LabSummary } from "../lab/context.js";
import type { Runtime } from "../lab/runtime.js";

export function ls(runtime: Runtime): Promise<LabSummary[]> {
  return listLabs(runtime);
}
