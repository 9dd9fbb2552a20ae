// One change to a running lab, named by its verb: what a scenario step and the dashboard's
// POST /api/actions/<verb> both carry out, through the library's operations (the CLI's own).
import * as z from "zod";
import type { Lab } from "../api.js";
import { FAULT_ACTIONS, type FaultAction } from "../core/constants.js";
import { UsageError } from "../core/errors.js";

export const ACTION_VERBS = [...FAULT_ACTIONS, "promote", "switchover", "rejoin", "delay", "sync"] as const;
export type ActionVerb = (typeof ACTION_VERBS)[number];

export type LabAction =
  | { verb: FaultAction | "promote" | "switchover"; node: string }
  | { verb: "rejoin"; node: string; reclone?: boolean }
  | { verb: "delay"; node: string; apply?: string; network?: string; clear?: boolean }
  | { verb: "sync"; set?: string; off?: boolean; commit?: string };

const node = z.string({ error: "is missing: name the node to act on" }).min(1, "is empty: name the node to act on");
const bodies = {
  node: z.strictObject({ node }),
  rejoin: z.strictObject({ node, reclone: z.boolean().optional() }),
  delay: z
    .strictObject({ node, apply: z.string().min(1).optional(), network: z.string().min(1).optional(), clear: z.boolean().optional() })
    .refine((body) => body.apply !== undefined || body.network !== undefined || body.clear === true, "gives apply, network or clear: true"),
  sync: z
    .strictObject({ set: z.string().min(1).optional(), off: z.literal(true).optional(), commit: z.string().min(1).optional() })
    .refine((body) => [body.set, body.off, body.commit].filter((value) => value !== undefined).length === 1, "gives exactly one of set, off: true or commit"),
};

/** Checks a verb and its JSON body (from a request, say) and returns the action; bad input is a UsageError. */
export function parseAction(verb: string, body: unknown): LabAction {
  if (!(ACTION_VERBS as readonly string[]).includes(verb)) {
    throw new UsageError(`unknown action "${verb}"`, { hint: `actions are ${ACTION_VERBS.join(", ")}` });
  }
  const schema = verb === "rejoin" || verb === "delay" || verb === "sync" ? bodies[verb] : bodies.node;
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${verb}: ${issue.path.length > 0 ? `${issue.path.join(".")}: ` : "the body "}${issue.message}`);
  }
  return { verb, ...parsed.data } as LabAction;
}

/** Carries out an action and returns the operation's own result (the object its CLI command prints with --json). */
export async function runAction(lab: Lab, action: LabAction): Promise<unknown> {
  switch (action.verb) {
    case "promote":
    case "switchover":
      return lab[action.verb](action.node);
    case "rejoin":
      return lab.rejoin(action.node, { reclone: action.reclone ?? false });
    case "delay":
      return lab.delay(action.node, { apply: action.apply, network: action.network, clear: action.clear });
    case "sync":
      if (action.set !== undefined) return lab.sync.set(action.set);
      if (action.off) return lab.sync.off();
      return lab.sync.commit(action.commit!);
    default:
      return lab[action.verb](action.node);
  }
}
