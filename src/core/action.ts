// One change to a running lab, named by its verb: what a scenario step, the dashboard's
// POST /api/actions/<verb> and the library's lab.act() all carry, checked by one schema here and
// carried out by the Lab (api.ts) through the same operations as the CLI.
import * as z from "zod";
import { FAULT_ACTIONS, PARTITION_ACTIONS, SYNC_COMMIT_LEVELS, type FaultAction } from "./constants.js";
import { parseDuration } from "./duration.js";
import { UsageError } from "./errors.js";

export const ACTION_VERBS = [...FAULT_ACTIONS, ...PARTITION_ACTIONS, "promote", "switchover", "rejoin", "delay", "sync", "host-down", "host-up"] as const;
export type ActionVerb = (typeof ACTION_VERBS)[number];

export type LabAction =
  | { verb: FaultAction | "promote" | "switchover"; node: string }
  | { verb: "partition"; node?: string; groups?: string; one_way?: boolean; isolate?: boolean }
  | { verb: "heal"; node?: string }
  | { verb: "rejoin"; node: string; reclone?: boolean }
  | { verb: "delay"; node: string; apply?: string; network?: string; clear?: boolean }
  | { verb: "sync"; set?: string; off?: true; commit?: string }
  /** A lab across engines: everything of the lab on a host killed at once, or started again. */
  | { verb: "host-down" | "host-up"; host: string };

const node = z.string({ error: "is missing: name the node to act on" }).min(1, "is empty: name the node to act on");
/** A delay as text ("2s", "20ms") within bounds: a replay delay of up to an hour, a link delay of up to a minute. */
const delayText = (maxMs: number, example: string) =>
  z.string({ error: `must be a duration such as "${example}"` }).refine((text) => {
    const ms = parseDuration(text);
    return ms !== undefined && ms <= maxMs;
  }, `must be a duration from 0 to ${maxMs / 1000}s, such as "${example}"`);

const bodies = {
  node: z.strictObject({ node }),
  partition: z
    .strictObject({
      node: node.optional(),
      groups: z.string({ error: 'must be groups of members such as "leader,etcd1 | standby1,standby2"' }).min(1).optional(),
      one_way: z.boolean({ error: "must be true or false" }).optional(),
      isolate: z.boolean({ error: "must be true or false" }).optional(),
    })
    .refine((body) => (body.node === undefined) !== (body.groups === undefined), "gives a node or groups (one of them)")
    .refine((body) => !body.one_way || body.groups !== undefined, "one_way goes with groups")
    .refine((body) => !body.isolate || body.node !== undefined, "isolate goes with a node"),
  heal: z.strictObject({ node: node.optional() }),
  host: z.strictObject({ host: z.string({ error: "is missing: name the host (see status)" }).min(1, "is empty: name the host") }),
  rejoin: z.strictObject({ node, reclone: z.boolean({ error: "must be true or false" }).optional() }),
  delay: z
    .strictObject({ node, apply: delayText(3_600_000, "2s").optional(), network: delayText(60_000, "20ms").optional(), clear: z.literal(true, { error: "must be true (or left out)" }).optional() })
    .refine((body) => body.apply !== undefined || body.network !== undefined || body.clear === true, "gives apply, network or clear: true")
    .refine((body) => !(body.clear && (body.apply !== undefined || body.network !== undefined)), "clear goes alone, without apply or network"),
  sync: z
    .strictObject({
      set: z.string().min(1).optional(),
      off: z.literal(true, { error: "must be true (or left out)" }).optional(),
      commit: z.enum(SYNC_COMMIT_LEVELS, { error: `must be one of ${SYNC_COMMIT_LEVELS.join(", ")}` }).optional(),
    })
    .refine((body) => [body.set, body.off, body.commit].filter((value) => value !== undefined).length === 1, "gives exactly one of set, off: true or commit"),
};

export function isActionVerb(verb: string): verb is ActionVerb {
  return (ACTION_VERBS as readonly string[]).includes(verb);
}

/**
 * Checks a verb and its body (a request's JSON, a scenario step's fields, a library call) and
 * returns the action; bad input is a UsageError naming the field, before anything is touched.
 */
export function parseAction(verb: string, body: unknown): LabAction {
  if (!isActionVerb(verb)) {
    throw new UsageError(`unknown action "${verb}"`, { hint: `actions are ${ACTION_VERBS.join(", ")}` });
  }
  const schema = verb === "rejoin" || verb === "delay" || verb === "sync" || verb === "partition" || verb === "heal" ? bodies[verb] : verb === "host-down" || verb === "host-up" ? bodies.host : bodies.node;
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${verb}: ${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
  }
  return { verb, ...parsed.data } as LabAction;
}

/** A short title for an action, as a report or an event line shows it: "rejoin leader --reclone". */
export function describeAction(action: LabAction): string {
  switch (action.verb) {
    case "rejoin":
      return `rejoin ${action.node}${action.reclone ? " --reclone" : ""}`;
    case "delay":
      return `delay ${action.node}${action.apply ? ` --apply ${action.apply}` : ""}${action.network ? ` --network ${action.network}` : ""}${action.clear ? " --clear" : ""}`;
    case "partition":
      return action.groups !== undefined
        ? `partition --groups "${action.groups}"${action.one_way ? " --one-way" : ""}`
        : `partition ${action.isolate ? "--isolate " : ""}${action.node}`;
    case "heal":
      return action.node === undefined ? "heal" : `heal ${action.node}`;
    case "sync":
      return action.set !== undefined ? `sync set ${action.set}` : action.off ? "sync off" : `sync commit ${action.commit}`;
    case "host-down":
    case "host-up":
      return `host ${action.verb.slice(5)} ${action.host}`;
    default:
      return `${action.verb} ${action.node}`;
  }
}
