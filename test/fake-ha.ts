// An in-memory Patroni cluster and etcd behind the client interfaces the HTTP clients implement
// (src/core/ha-client.ts), for unit tests of the HA decisions. A test scripts the members (roles,
// states, timelines, nosync tags, members whose API does not answer), the dynamic configuration,
// refusals, how many looks at GET /cluster a change takes to show, and the clock waits run on. It
// answers as Patroni 4.0 and etcd 3.5 do (the refusal texts are theirs); the integration tests run
// the real ones.
import {
  HaApiError,
  type EtcdClient,
  type EtcdMemberEntry,
  type EtcdStatus,
  type EtcdValue,
  type HaClients,
  type HaEndpoint,
  type PatroniClient,
  type PatroniCluster,
  type PatroniDynamicConfig,
} from "../src/core/ha-client.js";
import { PATRONI_NAMESPACE } from "../src/core/ha.js";
import type { ContainerEngine } from "../src/core/engine.js";
import { generateSecrets, planEtcd, planLab, type LabSecrets } from "../src/core/node-plan.js";
import type { Clock } from "../src/core/retry.js";
import { buildTopology, type LabSpecInput, type Topology } from "../src/core/topology.js";

/** Time moves only when something waits: a wait of 15 s takes no time at all. */
export class FakeClock implements Clock {
  time = 1_000_000;
  readonly slept: number[] = [];

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.time += ms;
  }

  /** Virtual milliseconds slept so far. */
  get elapsed(): number {
    return this.slept.reduce((sum, ms) => sum + ms, 0);
  }
}

export interface FakeMember {
  name: string;
  /** leader, replica, sync_standby, quorum_standby. */
  role: string;
  /** running, streaming, stopped, starting, creating replica. */
  state: string;
  timeline: number;
  lag?: number | string;
  nosync?: boolean;
  /** False: its REST API does not answer (a frozen or unreachable Patroni). */
  answers?: boolean;
}

export interface FakeEtcdMember {
  name: string;
  /** As etcd prints it (hex). */
  id: string;
  answers?: boolean;
  raft_term: number;
  raft_index: number;
  /** The leader it reports when not the cluster's: a member cut off from the others may believe an old one. */
  believes?: string | null;
}

export interface Refusal {
  status: number;
  text: string;
}

const SYNCHRONOUS = new Set(["sync_standby", "quorum_standby"]);

export class FakeHa implements HaClients {
  readonly clock = new FakeClock();
  /** Every request a member's API received, in order: "standby1 POST /switchover {…}". */
  readonly requests: string[] = [];
  members: FakeMember[] = [];
  config: PatroniDynamicConfig = { ttl: 20, loop_wait: 1, retry_timeout: 3, synchronous_mode: false, synchronous_node_count: 1 };
  etcdMembers: FakeEtcdMember[] = [];
  raftLeader: string | null = null;
  readonly keys = new Map<string, string>();
  revision = 1;
  /** Looks at GET /cluster before a change Patroni accepted shows (a new leader, a rebuilt replica, new synchronous standbys). */
  looksPerChange = 2;
  /** Whether Patroni applies its configuration (synchronous standbys, PostgreSQL parameters) some looks after a change; false: not yet. */
  appliesChanges = true;
  /** The PostgreSQL parameters in force on the servers, as Patroni applied them. */
  parameters: Record<string, string> = { synchronous_commit: "on" };
  /** Called once a switchover or failover Patroni accepted shows (to script how the others follow). */
  onChange: () => void = () => undefined;
  /** The answer to the next request of this kind ("POST /switchover", "GET /cluster"), whichever member gets it. */
  readonly refusals = new Map<string, Refusal>();
  /** The lab's passwords: Patroni refuses its unsafe requests, and etcd its key reads, without them (empty: a lab made before it had them). */
  patroniPassword = "";
  etcdPassword = "";
  private scheduled: { looksLeft: number; apply: () => void }[] = [];

  constructor(readonly lab = "lab") {}

  /** A healthy cluster as `up` leaves it: leader holding the lock, every follower streaming, the synchronous standbys the spec asks for. */
  static forTopology(topology: Topology, secrets?: LabSecrets): FakeHa {
    const ha = new FakeHa(topology.lab);
    ha.patroniPassword = secrets?.patroniPassword ?? "";
    ha.etcdPassword = secrets?.etcdPassword ?? "";
    const spec = topology.ha!;
    ha.members = topology.nodes.map((node) => ({
      name: node.name,
      role: node.role === "primary" ? "leader" : "replica",
      state: node.role === "primary" ? "running" : "streaming",
      timeline: 1,
      ...(node.role === "primary" ? {} : { lag: 0 }),
      nosync: spec.nosync.includes(node.name),
    }));
    ha.config = {
      ttl: spec.ttl,
      loop_wait: spec.loop_wait,
      retry_timeout: spec.retry_timeout,
      synchronous_mode: spec.synchronous_mode === "off" ? false : spec.synchronous_mode === "quorum" ? "quorum" : true,
      synchronous_node_count: spec.synchronous_node_count,
    };
    ha.assignSynchronous();
    ha.etcdMembers = ["etcd1", "etcd2", "etcd3"].map((name, index) => ({ name, id: `${index + 1}a2b3c4d5e6f7a8b`, raft_term: 2, raft_index: 40 }));
    ha.raftLeader = "etcd1";
    ha.holdLock("leader");
    return ha;
  }

  member(name: string): FakeMember {
    const found = this.members.find((member) => member.name === name);
    if (!found) throw new Error(`the fake has no member ${name}`);
    return found;
  }

  get leader(): FakeMember | undefined {
    return this.members.find((member) => member.role === "leader");
  }

  get leaderKey(): string {
    return `${PATRONI_NAMESPACE}${this.lab}/leader`;
  }

  /** The leader key written (a holder) or deleted (null), as Patroni does through etcd. */
  holdLock(holder: string | null): void {
    if (holder === null) this.keys.delete(this.leaderKey);
    else this.keys.set(this.leaderKey, holder);
    this.revision++;
  }

  /** Runs `apply` at the given look at GET /cluster from now (1: the next one). */
  afterLooks(looks: number, apply: () => void): void {
    this.scheduled.push({ looksLeft: looks, apply });
  }

  /** What the leader's Patroni does every loop: the first synchronous_node_count eligible replicas made synchronous (every eligible one in quorum mode). */
  assignSynchronous(): void {
    const mode = this.config.synchronous_mode;
    let places = mode === "quorum" ? Infinity : mode ? (this.config.synchronous_node_count ?? 1) : 0;
    for (const member of this.members) {
      if (member.role === "leader") continue;
      const eligible = !member.nosync && member.state === "streaming" && member.timeline === this.leader?.timeline;
      member.role = eligible && places-- > 0 ? (mode === "quorum" ? "quorum_standby" : "sync_standby") : "replica";
    }
  }

  patroni(endpoint: HaEndpoint): PatroniClient {
    const call = <T>(method: string, path: string, body: unknown, answer: () => T | Refusal): Promise<T> => this.answer("Patroni", endpoint, method, path, body, answer);
    return {
      member: endpoint.member,
      cluster: () => call("GET", "/cluster", undefined, () => this.look()),
      config: () => call("GET", "/config", undefined, () => structuredClone(this.config)),
      patchConfig: (change) => call("PATCH", "/config", change, () => this.patch(change)),
      switchover: (request) => call("POST", "/switchover", request, () => this.changeLeader("switchover", request.candidate, request.leader)),
      failover: (request) => call("POST", "/failover", request, () => this.changeLeader("failover", request.candidate)),
      reinitialize: (request) => call("POST", "/reinitialize", request, () => this.reinitialize(endpoint.member)),
    };
  }

  /** HAProxy's statistics CSV the fake proxy answers with; undefined: it does not answer. */
  proxyCsv: string | undefined;

  async proxyStats(endpoint: HaEndpoint): Promise<string> {
    if (this.proxyCsv === undefined) throw new HaApiError("HAProxy", endpoint.member, "GET /stats;csv", "unreachable", "no answer within 1.5 s");
    return this.proxyCsv;
  }

  etcd(endpoint: HaEndpoint): EtcdClient {
    const call = <T>(path: string, body: unknown, answer: () => T | Refusal): Promise<T> => this.answer("etcd", endpoint, "POST", path, body, answer);
    return {
      member: endpoint.member,
      status: () => call("/v3/maintenance/status", {}, () => this.etcdStatus(endpoint.member)),
      memberList: () => call("/v3/cluster/member/list", {}, (): EtcdMemberEntry[] => this.etcdMembers.map((member) => ({ id: member.id, name: member.name }))),
      get: (key) => call("/v3/kv/range", { key }, (): EtcdValue => ({ value: this.keys.get(key) ?? null, revision: this.revision })),
    };
  }

  private async answer<T>(service: "Patroni" | "etcd", endpoint: HaEndpoint, method: string, path: string, body: unknown, answer: () => T | Refusal): Promise<T> {
    const request = `${method} ${path}`;
    const answers = service === "Patroni" ? this.members.find((member) => member.name === endpoint.member)?.answers : this.etcdMembers.find((member) => member.name === endpoint.member)?.answers;
    const known = service === "Patroni" ? this.members.some((member) => member.name === endpoint.member) : this.etcdMembers.some((member) => member.name === endpoint.member);
    if (!known || answers === false) throw new HaApiError(service, endpoint.member, request, "unreachable", "no answer within 1.5 s");
    this.requests.push(`${endpoint.member} ${request}${body === undefined ? "" : ` ${JSON.stringify(body)}`}`);
    const denied = this.denied(service, endpoint, method, path);
    if (denied) throw new HaApiError(service, endpoint.member, request, "refused", denied.text, denied.status);
    const refusal = this.refusals.get(request);
    if (refusal) {
      this.refusals.delete(request);
      throw new HaApiError(service, endpoint.member, request, "refused", refusal.text, refusal.status);
    }
    const result = answer();
    if (isRefusal(result)) throw new HaApiError(service, endpoint.member, request, "refused", result.text, result.status);
    return result;
  }

  /** As Patroni and etcd answer a request without the lab's user: Patroni reads and etcd's status need none. */
  private denied(service: "Patroni" | "etcd", endpoint: HaEndpoint, method: string, path: string): Refusal | undefined {
    const given = endpoint.credentials;
    if (service === "Patroni" && this.patroniPassword && method !== "GET") {
      if (!given) return { status: 401, text: "no auth header received" };
      if (given.username !== "repl-lab" || given.password !== this.patroniPassword) return { status: 401, text: "not authenticated" };
    }
    if (service === "etcd" && this.etcdPassword && path === "/v3/kv/range") {
      if (!given) return { status: 400, text: "etcdserver: user name is empty" };
      if (given.username !== "root" || given.password !== this.etcdPassword) return { status: 400, text: "etcdserver: authentication failed, invalid user ID or password" };
    }
    return undefined;
  }

  private look(): PatroniCluster {
    for (const item of this.scheduled) item.looksLeft--;
    const due = this.scheduled.filter((item) => item.looksLeft <= 0);
    this.scheduled = this.scheduled.filter((item) => item.looksLeft > 0);
    for (const item of due) item.apply();
    return {
      members: this.members.map((member) => ({
        name: member.name,
        role: member.role,
        state: member.state,
        timeline: member.timeline,
        ...(member.lag === undefined ? {} : { lag: member.lag }),
        ...(member.nosync ? { tags: { nosync: true } } : {}),
      })),
    };
  }

  private patch(change: Record<string, unknown>): PatroniDynamicConfig {
    this.config = merge(this.config, change);
    const parameters = (this.config.postgresql as { parameters?: Record<string, string> } | undefined)?.parameters ?? {};
    if (this.appliesChanges) {
      this.afterLooks(this.looksPerChange, () => {
        this.assignSynchronous();
        Object.assign(this.parameters, parameters);
      });
    }
    return structuredClone(this.config);
  }

  /** Patroni's checks before a switchover or failover (api.py), then the change, seen after looksPerChange looks. */
  private changeLeader(kind: "switchover" | "failover", candidate: string, leader?: string): string | Refusal {
    const current = this.leader;
    if (kind === "switchover" && leader !== current?.name) return { status: 412, text: "leader name does not match" };
    const target = this.members.find((member) => member.name === candidate);
    if (!target) return { status: 412, text: "candidate does not exists" };
    if (this.config.synchronous_mode && !SYNCHRONOUS.has(target.role)) return { status: 412, text: "candidate name does not match with sync_standby" };
    this.afterLooks(this.looksPerChange, () => {
      const timeline = Math.max(...this.members.map((member) => member.timeline)) + 1;
      for (const member of this.members) {
        if (member === target) Object.assign(member, { role: "leader", state: "running", timeline, lag: undefined });
        else if (member.state === "streaming" || member === current) Object.assign(member, { role: "replica", state: "streaming", timeline, lag: 0 });
      }
      this.holdLock(candidate);
      if (this.appliesChanges) this.assignSynchronous();
      this.onChange();
    });
    return kind === "switchover" ? `Successfully switched over to "${candidate}"` : `Successfully failed over to "${candidate}"`;
  }

  private reinitialize(name: string): string | Refusal {
    const member = this.member(name);
    if (member.role === "leader") return { status: 503, text: "I am the leader, can not reinitialize" };
    member.state = "creating replica";
    this.afterLooks(this.looksPerChange, () => Object.assign(member, { state: "streaming", timeline: this.leader?.timeline ?? member.timeline, lag: 0 }));
    return "reinitialize started";
  }

  private etcdStatus(name: string): EtcdStatus {
    const member = this.etcdMembers.find((entry) => entry.name === name)!;
    const leader = member.believes === undefined ? this.raftLeader : member.believes;
    return {
      member_id: member.id,
      leader: leader === null ? null : (this.etcdMembers.find((entry) => entry.name === leader)?.id ?? null),
      raft_term: member.raft_term,
      raft_index: member.raft_index,
    };
  }
}

function isRefusal(value: unknown): value is Refusal {
  return typeof value === "object" && value !== null && "status" in value && "text" in value && Object.keys(value).length === 2;
}

/** Patroni's PATCH semantics: objects merged key by key, null removes a key. */
function merge(into: PatroniDynamicConfig, change: Record<string, unknown>): PatroniDynamicConfig {
  const result: Record<string, unknown> = structuredClone(into);
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete result[key];
    else if (typeof value === "object" && !Array.isArray(value) && typeof result[key] === "object" && result[key] !== null) {
      result[key] = merge(result[key] as PatroniDynamicConfig, value as Record<string, unknown>);
    } else result[key] = value;
  }
  return result as PatroniDynamicConfig;
}

/** An HA lab's containers on a fake engine, created and started as `up` plans them (the etcd members included), and its secrets. */
export async function createHaLab(engine: ContainerEngine, input: Omit<LabSpecInput, "ha">, secrets = generateSecrets()): Promise<{ topology: Topology; secrets: LabSecrets }> {
  const topology = buildTopology({ ...input, ha: true });
  const options = { image: "repl-lab/postgres-ha:17", secrets, bindIp: "127.0.0.1" };
  for (const spec of [...planLab(topology, options).map((plan) => plan.container), ...planEtcd(topology, options)]) {
    await engine.startContainer(await engine.createContainer(spec));
  }
  return { topology, secrets };
}
