// What Patroni and etcd know about an HA lab, read over their own APIs (Patroni's REST API, etcd's
// v3 JSON gateway) on the ports published on the engine's host, through the runtime's clients, as
// the lab's users for them; and Patroni's switchover, failover and rejoin, asked of Patroni rather
// than done around it.
// https://patroni.readthedocs.io/en/latest/rest_api.html  https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/
import { LabError } from "../core/errors.js";
import { ETCD_ROOT_USER, PATRONI_API_USER, PATRONI_NAMESPACE } from "../core/ha.js";
import {
  HaApiError,
  NobodyAnsweredError,
  type EtcdClient,
  type EtcdStatus,
  type HaEndpoint,
  type MemberFailure,
  type PatroniClient,
  type PatroniClusterMember,
} from "../core/ha-client.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { pollUntil } from "../core/retry.js";
import { unreachableBy, type EtcdView, type ManagerChange, type PatroniView } from "../core/status.js";
import { reachedAt, type LabContext, type LabNode } from "./context.js";
import { reloadCut } from "./partition.js";

/** Why a member's API cannot be asked at all from here, or undefined when it can. */
function notAskable(node: LabNode): string | undefined {
  if (node.state !== "running") return `container ${node.state}`;
  if (node.isolated) return "isolated from the lab network";
  if (node.apiPort === undefined) return "publishes no API port";
  return undefined;
}

/** A member's published API, with the lab's user for it (none for a lab made before it had one). */
function endpointOf(lab: LabContext, node: LabNode, username: string, password: string): HaEndpoint {
  return { member: node.name, host: reachedAt(lab, node), port: node.apiPort!, ...(password ? { credentials: { username, password } } : {}) };
}

const patroniOf = (lab: LabContext) => (node: LabNode) => lab.runtime.ha.patroni(endpointOf(lab, node, PATRONI_API_USER, lab.secrets.patroniPassword));
const etcdOf = (lab: LabContext) => (node: LabNode) => lab.runtime.ha.etcd(endpointOf(lab, node, ETCD_ROOT_USER, lab.secrets.etcdPassword));

/** A read moves on to the next member whatever the failure; a change only when the member did not answer (a refusal is the answer). */
const anyFailure = () => true;
const unanswered = (error: HaApiError) => error.kind === "unreachable";

interface Asking<C, T> {
  service: "Patroni" | "etcd";
  members: LabNode[];
  clientOf: (node: LabNode) => C;
  ask: (client: C) => Promise<T>;
  /** The request, for the error when nobody answers: "GET /cluster". */
  what: string;
  passOver: (error: HaApiError) => boolean;
  hint?: string;
}

/** Asks each member in turn until one answers, keeping why each one before it did not; NobodyAnsweredError when none does. */
async function firstAnswer<C, T>(asking: Asking<C, T>): Promise<{ member: string; answer: T }> {
  const failures: MemberFailure[] = [];
  for (const node of asking.members) {
    const why = notAskable(node);
    if (why) {
      failures.push({ member: node.name, why });
      continue;
    }
    try {
      return { member: node.name, answer: await asking.ask(asking.clientOf(node)) };
    } catch (error) {
      if (!(error instanceof HaApiError) || !asking.passOver(error)) throw error;
      failures.push({ member: node.name, why: error.reason });
    }
  }
  throw new NobodyAnsweredError(asking.service, failures, asking.what, asking.hint ? { hint: asking.hint } : {});
}

/** The read's answer, or undefined when no member answered it; any other error is thrown. For waits, where "nobody answers" means "not yet". */
export async function ifAnswered<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof NobodyAnsweredError) return undefined;
    throw error;
  }
}

/** A read of Patroni's API from the first running node whose Patroni answers it (any member serves the whole cluster's view). */
function readFromPatroni<T>(lab: LabContext, what: string, ask: (client: PatroniClient) => Promise<T>): Promise<{ member: string; answer: T }> {
  return firstAnswer({ service: "Patroni", members: lab.nodes, clientOf: patroniOf(lab), ask, what, passOver: anyFailure });
}

/** A change asked of the first node whose Patroni answers: its refusal is final, in its words (HaApiError). */
async function sendToPatroni<T>(lab: LabContext, what: string, ask: (client: PatroniClient) => Promise<T>): Promise<T> {
  return (await firstAnswer({ service: "Patroni", members: lab.nodes, clientOf: patroniOf(lab), ask, what, passOver: unanswered })).answer;
}

const readCluster = (lab: LabContext) => readFromPatroni(lab, "GET /cluster", (client) => client.cluster());

/** Patroni's view of the cluster, from the first running node that answers; NobodyAnsweredError when none does. */
export async function readPatroni(lab: LabContext): Promise<PatroniView> {
  const { member: source, answer } = await readCluster(lab);
  const members = answer.members.map((member) => ({
    name: member.name,
    role: member.role,
    state: member.state,
    timeline: member.timeline ?? null,
    lag: typeof member.lag === "number" ? member.lag : null,
  }));
  return { source, leader: members.find((member) => member.role === "leader")?.name ?? null, members };
}

const SYNCHRONOUS_ROLES = new Set(["sync_standby", "quorum_standby"]);

/** How many members Patroni reports as synchronous standbys, and how many replicas it may make so (streaming, not tagged nosync). */
export async function readSynchronousStandbys(lab: LabContext): Promise<{ synchronous: number; eligible: number }> {
  const { members } = (await readCluster(lab)).answer;
  return {
    synchronous: members.filter((member) => SYNCHRONOUS_ROLES.has(member.role)).length,
    eligible: members.filter((member) => member.role !== "leader" && member.state === "streaming" && !member.tags?.nosync).length,
  };
}

/** Each etcd member's own status (maintenance/status), and who the Raft leader is; a member that does not answer is shown so. */
export async function readEtcd(lab: LabContext): Promise<EtcdView> {
  const client = etcdOf(lab);
  const statuses = await Promise.all(
    lab.etcd.map(async (member): Promise<EtcdStatus | undefined> => {
      if (notAskable(member)) return undefined;
      try {
        return await client(member).status();
      } catch (error) {
        if (error instanceof HaApiError) return undefined;
        throw error;
      }
    }),
  );
  // The ids of the members that did not answer, from one that did.
  const list = await ifAnswered(
    firstAnswer({
      service: "etcd",
      members: lab.etcd.filter((_, index) => statuses[index] !== undefined),
      clientOf: client,
      ask: (member) => member.memberList(),
      what: "POST /v3/cluster/member/list",
      passOver: anyFailure,
    }),
  );
  const idOf = new Map((list?.answer ?? []).map((member) => [member.name, member.id]));
  const nameOf = new Map([...idOf].map(([name, id]) => [id, name]));
  // The leader and term the highest-term answer reports: a member cut off from the others may still believe an old one.
  const freshest = statuses.filter((status) => status !== undefined).sort((a, b) => b.raft_term - a.raft_term)[0];
  const leaderId = freshest?.leader ?? undefined;
  const members = lab.etcd.map((member, index) => {
    const status = statuses[index];
    const id = status?.member_id ?? idOf.get(member.name) ?? "";
    return {
      name: member.name,
      container_state: member.state,
      isolated: member.isolated,
      cannot_reach: unreachableBy(lab.partition?.map)(member.name),
      id,
      answering: status !== undefined,
      is_leader: status !== undefined && leaderId !== undefined && id === leaderId,
      raft_term: status?.raft_term ?? null,
      raft_index: status?.raft_index ?? null,
    };
  });
  return {
    leader: leaderId ? (nameOf.get(leaderId) ?? members.find((member) => member.id === leaderId)?.name ?? null) : null,
    raft_term: freshest?.raft_term ?? null,
    members,
  };
}

/** The holder of the leader key in etcd (/service/<lab>/leader), read from the first member that answers; null when the key is gone. */
export async function readLeaderKey(lab: LabContext): Promise<{ holder: string | null; revision: number }> {
  const key = `${PATRONI_NAMESPACE}${lab.name}/leader`;
  const { answer } = await firstAnswer({
    service: "etcd",
    members: lab.etcd,
    clientOf: etcdOf(lab),
    ask: (client: EtcdClient) => client.get(key),
    what: `a read of ${key}`,
    passOver: anyFailure,
    hint: "see `repl-lab status`: fewer than two of three members means no Raft majority",
  });
  return { holder: answer.value, revision: answer.revision };
}

/**
 * In Patroni's synchronous mode only a synchronous standby may take over (Patroni answers 412
 * otherwise). A member that has just come back streaming is made one by the leader's Patroni within
 * a loop or two, so this waits for that, bounded by a few loop_waits; a member that is not made one
 * (tagged nosync, or the synchronous places are taken) is refused here with the names that may.
 */
async function awaitSynchronousCandidate(lab: LabContext, candidate: string, progress: Progress, signal?: AbortSignal): Promise<void> {
  const { answer: config } = await readFromPatroni(lab, "GET /config", (client) => client.config());
  if (!config.synchronous_mode) return;
  let members: PatroniClusterMember[] = [];
  // Settled: a synchronous standby, or tagged nosync (it never will be one: say so at once).
  const settled = async () => {
    members = (await ifAnswered(readCluster(lab)))?.answer.members ?? members;
    const member = members.find((entry) => entry.name === candidate);
    return member !== undefined && (member.tags?.nosync === true || SYNCHRONOUS_ROLES.has(member.role));
  };
  if (!(await settled())) {
    progress.step(`waiting for Patroni to make ${candidate} a synchronous standby: in its synchronous mode only one may take over`);
    await pollUntil(settled, { timeoutMs: Math.max(15, 3 * (config.loop_wait ?? 10)) * 1000, intervalMs: 200, clock: lab.runtime.clock, signal });
  }
  const member = members.find((entry) => entry.name === candidate);
  if (member && SYNCHRONOUS_ROLES.has(member.role)) return;
  // Who may take over: the replicas not tagged nosync (Patroni makes them synchronous), whether or
  // not the leader's Patroni has got round to it yet.
  const eligible = members.filter((entry) => entry.name !== candidate && entry.role !== "leader" && !entry.tags?.nosync).map((entry) => entry.name);
  const why = member?.tags?.nosync ? "it is tagged nosync (the sync spec does not name it)" : `it is ${member ? `a ${member.role} (${member.state})` : "not reported"}`;
  throw new LabError(`Patroni's synchronous mode lets only a synchronous standby take over, and ${candidate} is not one: ${why}`, {
    hint: `${eligible.length > 0 ? `name ${eligible.join(" or ")}, or ` : ""}change the sync spec with \`repl-lab sync set\` (see \`repl-lab status\`)`,
  });
}

/**
 * A switchover (the leader hands over cleanly) or a failover to a chosen candidate, done by Patroni:
 * repl-lab asks and then waits until Patroni reports the candidate as leader and the others
 * streaming from it (Patroni re-points them, and rewinds the old leader, by itself).
 */
export async function patroniChange(
  lab: LabContext,
  kind: "switchover" | "failover",
  candidate: string,
  options: { timeoutMs?: number; progress?: Progress; signal?: AbortSignal } = {},
): Promise<ManagerChange> {
  const { clock } = lab.runtime;
  const before = await readPatroni(lab);
  if (before.leader === candidate) throw new LabError(`${candidate} already holds the leader lock`, { hint: "name one of the replicas" });
  if (!before.members.some((member) => member.name === candidate)) {
    throw new LabError(`${candidate} is not a Patroni member of lab "${lab.name}"`, { hint: `its members are ${before.members.map((member) => member.name).join(", ")}` });
  }
  const leader = before.leader;
  if (kind === "switchover" && !leader) throw new LabError("nobody holds the leader lock, so there is nothing to switch over from", { hint: `use \`repl-lab promote ${candidate}\`` });
  await awaitSynchronousCandidate(lab, candidate, options.progress ?? silentProgress, options.signal);
  const started = clock.now();
  const said = await sendToPatroni(lab, `POST /${kind}`, (client) =>
    kind === "switchover" ? client.switchover({ leader: leader!, candidate }) : client.failover({ candidate }),
  );
  const timeoutMs = options.timeoutMs ?? 60_000;
  let last: PatroniView | undefined;
  let promoteMs: number | undefined;
  const settled = await pollUntil(
    async () => {
      const view = await ifAnswered(readPatroni(lab));
      if (!view) return false;
      last = view;
      const newLeader = view.members.find((member) => member.name === candidate && member.role === "leader" && member.state === "running");
      if (!newLeader) return false;
      promoteMs ??= clock.now() - started;
      const others = view.members.filter((member) => member.name !== candidate);
      return others.every((member) => member.state === "streaming" && member.timeline === newLeader.timeline);
    },
    { timeoutMs, intervalMs: 100, clock, signal: options.signal },
  );
  if (promoteMs === undefined) {
    throw new LabError(`Patroni said "${said}" but ${candidate} did not become the leader within ${timeoutMs / 1000} s`, {
      hint: `see \`repl-lab logs ${candidate}\``,
    });
  }
  const members = last?.members ?? [];
  const leaderTimeline = members.find((member) => member.name === candidate)?.timeline ?? null;
  const following = members.filter((member) => member.name !== candidate && member.state === "streaming" && member.timeline === leaderTimeline).map((member) => member.name);
  return {
    promote_ms: promoteMs,
    said,
    following,
    not_following: settled ? [] : members.filter((member) => member.name !== candidate && !following.includes(member.name)).map((member) => member.name),
    timeline: leaderTimeline,
  };
}

/** PATCH /config: a change to the cluster's dynamic configuration, which Patroni keeps in etcd and applies on every member. */
export async function patchPatroniConfig(lab: LabContext, change: Record<string, unknown>): Promise<void> {
  await sendToPatroni(lab, "PATCH /config", (client) => client.patchConfig(change));
}

/**
 * Rejoins a member the way Patroni does it: a stopped node is started and Patroni rewinds it (or
 * takes a new base backup) to follow the leader; with `reclone`, POST /reinitialize rebuilds it.
 * Resolves once Patroni reports it streaming on the leader's timeline.
 */
export async function patroniRejoin(
  lab: LabContext,
  node: LabNode,
  reclone: boolean,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ leader: string; reason: string }> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const before = await readPatroni(lab);
  const leader = before.leader;
  if (!leader) throw new LabError("nobody holds the leader lock: there is no leader to rejoin", { hint: "wait for Patroni to elect one (see `repl-lab events`)" });
  if (leader === node.name) throw new LabError(`${node.name} holds the leader lock`, { hint: "rejoin one of the replicas" });
  const member = before.members.find((candidate) => candidate.name === node.name);
  const leaderTimeline = before.members.find((candidate) => candidate.name === leader)?.timeline;
  if (!reclone && node.state === "running" && member?.state === "streaming" && member.timeline === leaderTimeline) {
    throw new LabError(`${node.name} already streams from ${leader}; nothing to do`, { hint: "--reclone rebuilds it from a fresh base backup anyway" });
  }
  let reason: string;
  if (node.state !== "running") {
    await lab.runtime.engine.startContainer(node.id);
    await reloadCut(lab);
    reason = "started; Patroni rewound it to follow the leader (or took a new base backup)";
  } else if (reclone) {
    const why = notAskable(node);
    if (why) throw new LabError(`${node.name}'s Patroni cannot be reached: ${why}`, { hint: "see `repl-lab status`" });
    await patroniOf(lab)(node).reinitialize({ force: true });
    reason = "reinitialized by Patroni: a new base backup from the leader";
  } else {
    reason = "left to Patroni, which rejoins a running member by itself";
  }
  const joined = await pollUntil(
    async () => {
      const view = await ifAnswered(readPatroni(lab));
      const leaderNow = view?.members.find((candidate) => candidate.role === "leader");
      const me = view?.members.find((candidate) => candidate.name === node.name);
      return Boolean(leaderNow && me && me.state === "streaming" && me.timeline === leaderNow.timeline);
    },
    { timeoutMs, intervalMs: 200, clock: lab.runtime.clock, signal: options.signal },
  );
  if (!joined) throw new LabError(`${node.name} was not streaming from ${leader} within ${timeoutMs / 1000} s`, { hint: `see \`repl-lab logs ${node.name}\`` });
  return { leader, reason };
}
