// What a command that died (killed, or its machine lost) may leave in a lab: a one-off helper
// container past its deadline (pg_rewind, a data-directory wipe, a check), or a node's container
// renamed aside while it was being rebuilt (`…-replaced-<time>`), which carries the node's labels
// too. The next command that rebuilds nodes cleans them up; status names them.
import { CHECK_NODE, LABEL, labLabels, names } from "../core/labels.js";
import type { ContainerSummary } from "../core/engine.js";
import type { Progress } from "../core/progress.js";
import type { Runtime } from "./runtime.js";

/** How long a rebuild keeps a node's old container renamed aside: a few engine calls. Older ones were left. */
const ASIDE_GRACE_MS = 120_000;

export interface Leftover {
  container: string;
  id: string;
  /** A helper past its deadline, or a node's container renamed aside. */
  kind: "helper" | "aside";
  node: string;
}

/** The time in a renamed-aside container's name (see replaceContainer), or undefined for any other name. */
export function asideTime(lab: string, node: string, name: string): number | undefined {
  const prefix = `${names.container(lab, node)}-replaced-`;
  if (!name.startsWith(prefix)) return undefined;
  const time = parseInt(name.slice(prefix.length), 36);
  return Number.isFinite(time) ? time : undefined;
}

/** The lab's leftovers among its containers, as of `now`. */
export function leftoversOf(lab: string, containers: ContainerSummary[], now = Date.now()): Leftover[] {
  const found: Leftover[] = [];
  for (const container of containers) {
    const node = container.labels[LABEL.node] ?? "";
    if (node === CHECK_NODE) {
      // A helper is removed by the command that ran it once it stops: a stopped one was left, and so
      // was one still running past its deadline. (One without a deadline is from an older repl-lab.)
      const expires = Number(container.labels[LABEL.expires]);
      const stopped = container.state === "exited" || container.state === "dead";
      const over = stopped || (Number.isFinite(expires) ? expires < now : container.state !== "running" && container.state !== "created");
      if (over) found.push({ container: container.name, id: container.id, kind: "helper", node });
      continue;
    }
    const aside = asideTime(lab, node, container.name);
    if (aside !== undefined && now - aside > ASIDE_GRACE_MS) found.push({ container: container.name, id: container.id, kind: "aside", node });
  }
  return found;
}

export async function findLeftovers(runtime: Runtime, lab: string): Promise<Leftover[]> {
  return leftoversOf(lab, await runtime.engine.listContainers(labLabels(lab)));
}

/**
 * Removes what an earlier command left: helpers are removed; a container renamed aside is removed
 * when its node has a container under its own name, and otherwise gets that name back (it is the
 * node's only container: the rebuild died before it made the new one). Returns what it did, a line each.
 */
export async function cleanLeftovers(runtime: Runtime, lab: string, progress?: Progress): Promise<string[]> {
  const containers = await runtime.engine.listContainers(labLabels(lab));
  const done: string[] = [];
  for (const leftover of leftoversOf(lab, containers)) {
    const canonical = names.container(lab, leftover.node);
    if (leftover.kind === "aside" && !containers.some((container) => container.name === canonical)) {
      await runtime.engine.renameContainer(leftover.id, canonical);
      done.push(`${leftover.container}, left renamed aside by an interrupted command, is ${canonical} again`);
    } else {
      await runtime.engine.killContainer(leftover.id);
      await runtime.engine.removeContainer(leftover.id);
      done.push(`removed ${leftover.container}, left by an interrupted command`);
    }
    progress?.step(done.at(-1)!);
  }
  return done;
}
