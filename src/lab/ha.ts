// What Patroni and etcd know about an HA lab, read over their own HTTP APIs (Patroni's REST API,
// etcd's v3 JSON gateway) on the ports published on this host, and Patroni's switchover and
// failover, asked of Patroni rather than done around it.
// https://patroni.readthedocs.io/en/latest/rest_api.html  https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/
import { LabError } from "../core/errors.js";
import { PATRONI_NAMESPACE } from "../core/ha.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { pollUntil } from "../core/retry.js";
import type { EtcdView, PatroniView } from "../core/status.js";
import type { LabContext, LabNode } from "./context.js";

const TIMEOUT_MS = 1500;

function url(lab: LabContext, node: LabNode, path: string): string | undefined {
  if (node.state !== "running" || node.partitioned || node.apiPort === undefined) return undefined;
  return `http://${lab.runtime.host.host}:${node.apiPort}${path}`;
}

async function getJson<T>(target: string, init?: RequestInit): Promise<T | undefined> {
  try {
    const response = await fetch(target, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) return undefined;
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}

interface ClusterResponse {
  members?: { name: string; role: string; state: string; timeline?: number; lag?: number | string; tags?: { nosync?: boolean } }[];
}

/** A GET of Patroni's REST API from the first running node whose Patroni answers it, and which node that was. */
async function askFirstPatroni<T>(lab: LabContext, path: string, accept: (answer: T) => boolean = () => true): Promise<{ node: string; answer: T } | undefined> {
  for (const node of lab.nodes) {
    const target = url(lab, node, path);
    if (!target) continue;
    const answer = await getJson<T>(target);
    if (answer !== undefined && accept(answer)) return { node: node.name, answer };
  }
  return undefined;
}

async function readFromPatroni<T>(lab: LabContext, path: string): Promise<T | undefined> {
  return (await askFirstPatroni<T>(lab, path))?.answer;
}

/** Patroni's view of the cluster, from the first running node that answers; undefined when none does. */
export async function readPatroni(lab: LabContext): Promise<PatroniView | undefined> {
  const first = await askFirstPatroni<ClusterResponse>(lab, "/cluster", (cluster) => cluster.members !== undefined);
  if (!first) return undefined;
  const members = first.answer.members!.map((member) => ({
    name: member.name,
    role: member.role,
    state: member.state,
    timeline: member.timeline ?? null,
    lag: typeof member.lag === "number" ? member.lag : null,
  }));
  return { source: first.node, leader: members.find((member) => member.role === "leader")?.name ?? null, members };
}

interface StatusResponse {
  header?: { member_id?: string; raft_term?: string };
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
}

interface MemberListResponse {
  members?: { ID?: string; name?: string }[];
}

const hex = (id: string | undefined) => (id === undefined ? "" : BigInt(id).toString(16));

/** Each etcd member's own status (POST /v3/maintenance/status), and who the Raft leader is. */
export async function readEtcd(lab: LabContext): Promise<EtcdView> {
  const statuses = await Promise.all(
    lab.etcd.map(async (member) => {
      const target = url(lab, member, "/v3/maintenance/status");
      return target ? getJson<StatusResponse>(target, { method: "POST", body: "{}" }) : undefined;
    }),
  );
  const answering = lab.etcd.find((_, index) => statuses[index] !== undefined);
  const list = answering ? await getJson<MemberListResponse>(url(lab, answering, "/v3/cluster/member/list")!, { method: "POST", body: "{}" }) : undefined;
  const idOf = new Map((list?.members ?? []).map((member) => [member.name ?? "", hex(member.ID)]));
  const nameOf = new Map([...idOf].map(([name, id]) => [id, name]));
  // The leader and term the highest-term answer reports: a member cut off from the others may still believe an old one.
  const freshest = statuses.filter((status) => status !== undefined).sort((a, b) => Number(b.raftTerm ?? 0) - Number(a.raftTerm ?? 0))[0];
  const leaderId = freshest?.leader ? hex(freshest.leader) : undefined;
  const members = lab.etcd.map((member, index) => {
    const status = statuses[index];
    const id = status?.header?.member_id ? hex(status.header.member_id) : (idOf.get(member.name) ?? "");
    return {
      name: member.name,
      container_state: member.state,
      partitioned: member.partitioned,
      id,
      answering: status !== undefined,
      is_leader: status !== undefined && leaderId !== undefined && id === leaderId,
      raft_term: status?.raftTerm ? Number(status.raftTerm) : null,
      raft_index: status?.raftIndex ? Number(status.raftIndex) : null,
    };
  });
  return {
    leader: leaderId ? (nameOf.get(leaderId) ?? members.find((member) => member.id === leaderId)?.name ?? null) : null,
    raft_term: freshest?.raftTerm ? Number(freshest.raftTerm) : null,
    members,
  };
}

/** The holder of the leader key in etcd (/service/<lab>/leader), read from any member that answers; null when the key is gone. */
export async function readLeaderKey(lab: LabContext): Promise<{ holder: string | null; revision: number } | undefined> {
  const key = Buffer.from(`${PATRONI_NAMESPACE}${lab.name}/leader`).toString("base64");
  for (const member of lab.etcd) {
    const target = url(lab, member, "/v3/kv/range");
    if (!target) continue;
    const answer = await getJson<{ header?: { revision?: string }; kvs?: { value?: string }[] }>(target, {
      method: "POST",
      body: JSON.stringify({ key }),
    });
    if (!answer) continue;
    const value = answer.kvs?.[0]?.value;
    return { holder: value ? Buffer.from(value, "base64").toString() : null, revision: Number(answer.header?.revision ?? 0) };
  }
  return undefined;
}

/**
 * A request to the first running node's Patroni that answers (any member serves the cluster's
 * API). Patroni's refusal becomes the error, in its words; no answer from anyone is a lab error too.
 */
async function sendToPatroni(lab: LabContext, method: "POST" | "PATCH", path: string, body: unknown, what: string, timeoutMs: number): Promise<string> {
  const errors: string[] = [];
  for (const node of lab.nodes) {
    const target = url(lab, node, path);
    if (!target) continue;
    try {
      const response = await fetch(target, {
        method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = (await response.text()).trim();
      if (response.ok) return text;
      throw new LabError(`Patroni refused the ${what}: ${text} (HTTP ${response.status})`, { hint: "see `repl-lab status` for each member's state" });
    } catch (error) {
      if (error instanceof LabError) throw error;
      errors.push(`${node.name}: ${(error as Error).message}`);
    }
  }
  throw new LabError(`no node's Patroni answered the ${what}`, { details: errors, hint: "see `repl-lab status`" });
}

/** POST /switchover or /failover: Patroni answers once the new leader is elected, or says why not. */
export function askPatroni(lab: LabContext, path: "/switchover" | "/failover", body: Record<string, string>): Promise<string> {
  return sendToPatroni(lab, "POST", path, body, path.slice(1), 60_000);
}

export interface PatroniChange {
  /** From the request to Patroni until the new leader answers as a primary. */
  promote_ms: number;
  /** Patroni's own answer. */
  said: string;
  /** Members streaming from the new leader once Patroni reports them so, and those that do not (yet). */
  following: string[];
  not_following: string[];
  timeline: number | null;
}

const SYNCHRONOUS_ROLES = new Set(["sync_standby", "quorum_standby"]);

/**
 * In Patroni's synchronous mode only a synchronous standby may take over (Patroni answers 412
 * otherwise). A member that has just come back streaming is made one by the leader's Patroni within
 * a loop or two, so this waits for that, bounded by a few loop_waits; a member that is not made one
 * (tagged nosync, or the synchronous places are taken) is refused here with the names that may.
 */
async function awaitSynchronousCandidate(lab: LabContext, candidate: string, progress: Progress): Promise<void> {
  const config = await readFromPatroni<{ synchronous_mode?: boolean | string; loop_wait?: number }>(lab, "/config");
  if (!config?.synchronous_mode) return;
  let members: NonNullable<ClusterResponse["members"]> = [];
  // Settled: a synchronous standby, or tagged nosync (it never will be one: say so at once).
  const settled = async () => {
    members = (await readFromPatroni<ClusterResponse>(lab, "/cluster"))?.members ?? members;
    const member = members.find((entry) => entry.name === candidate);
    return member !== undefined && (member.tags?.nosync === true || SYNCHRONOUS_ROLES.has(member.role));
  };
  if (!(await settled())) {
    progress.step(`waiting for Patroni to make ${candidate} a synchronous standby: in its synchronous mode only one may take over`);
    await pollUntil(settled, { timeoutMs: Math.max(15, 3 * (config.loop_wait ?? 10)) * 1000, intervalMs: 200 });
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
  options: { timeoutMs?: number; progress?: Progress } = {},
): Promise<PatroniChange> {
  const before = await readPatroni(lab);
  if (!before) throw new LabError("no node's Patroni answers", { hint: "see `repl-lab status`" });
  if (before.leader === candidate) throw new LabError(`${candidate} already holds the leader lock`, { hint: "name one of the replicas" });
  if (!before.members.some((member) => member.name === candidate)) {
    throw new LabError(`${candidate} is not a Patroni member of lab "${lab.name}"`, { hint: `its members are ${before.members.map((member) => member.name).join(", ")}` });
  }
  if (kind === "switchover" && !before.leader) throw new LabError("nobody holds the leader lock, so there is nothing to switch over from", { hint: `use \`repl-lab promote ${candidate}\`` });
  await awaitSynchronousCandidate(lab, candidate, options.progress ?? silentProgress);
  const started = Date.now();
  const said = await askPatroni(lab, `/${kind}`, kind === "switchover" ? { leader: before.leader!, candidate } : { candidate });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let last: PatroniView | undefined;
  let promoteMs: number | undefined;
  const settled = await pollUntil(
    async () => {
      last = await readPatroni(lab);
      const leader = last?.members.find((member) => member.name === candidate && member.role === "leader" && member.state === "running");
      if (!leader) return false;
      promoteMs ??= Date.now() - started;
      const others = last!.members.filter((member) => member.name !== candidate);
      return others.every((member) => member.state === "streaming" && member.timeline === leader.timeline);
    },
    { timeoutMs, intervalMs: 100 },
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
  await sendToPatroni(lab, "PATCH", "/config", change, "configuration change", 10_000);
}

/**
 * Rejoins a member the way Patroni does it: a stopped node is started and Patroni rewinds it (or
 * takes a new base backup) to follow the leader; with `reclone`, POST /reinitialize rebuilds it.
 * Resolves once Patroni reports it streaming on the leader's timeline.
 */
export async function patroniRejoin(lab: LabContext, node: LabNode, reclone: boolean, timeoutMs = 120_000): Promise<{ leader: string; reason: string }> {
  const before = await readPatroni(lab);
  const leader = before?.leader;
  if (!before || !leader) throw new LabError("nobody holds the leader lock: there is no leader to rejoin", { hint: "wait for Patroni to elect one (see `repl-lab events`)" });
  if (leader === node.name) throw new LabError(`${node.name} holds the leader lock`, { hint: "rejoin one of the replicas" });
  const member = before.members.find((candidate) => candidate.name === node.name);
  const leaderTimeline = before.members.find((candidate) => candidate.name === leader)?.timeline;
  if (!reclone && node.state === "running" && member?.state === "streaming" && member.timeline === leaderTimeline) {
    throw new LabError(`${node.name} already streams from ${leader}; nothing to do`, { hint: "--reclone rebuilds it from a fresh base backup anyway" });
  }
  let reason: string;
  if (node.state !== "running") {
    await lab.runtime.engine.startContainer(node.id);
    reason = "started; Patroni rewound it to follow the leader (or took a new base backup)";
  } else if (reclone) {
    const target = url(lab, node, "/reinitialize");
    if (!target) throw new LabError(`${node.name}'s Patroni cannot be reached`, { hint: "see `repl-lab status`" });
    const response = await fetch(target, { method: "POST", body: JSON.stringify({ force: true }), signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new LabError(`Patroni refused to reinitialize ${node.name}: ${(await response.text()).trim()}`);
    reason = "reinitialized by Patroni: a new base backup from the leader";
  } else {
    reason = "left to Patroni, which rejoins a running member by itself";
  }
  const joined = await pollUntil(
    async () => {
      const view = await readPatroni(lab);
      const leaderNow = view?.members.find((candidate) => candidate.role === "leader");
      const me = view?.members.find((candidate) => candidate.name === node.name);
      return Boolean(leaderNow && me && me.state === "streaming" && me.timeline === leaderNow.timeline);
    },
    { timeoutMs, intervalMs: 200 },
  );
  if (!joined) throw new LabError(`${node.name} was not streaming from ${leader} within ${timeoutMs / 1000} s`, { hint: `see \`repl-lab logs ${node.name}\`` });
  return { leader, reason };
}
