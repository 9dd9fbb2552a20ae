// The HA decisions on an in-memory Patroni cluster and etcd (test/fake-ha.ts) and a fake engine:
// when a switchover or failover waits and when it refuses, what it waits for afterwards, how a
// member rejoins, what a sync change asks of Patroni and when it is settled, what status and the
// events make of what Patroni and etcd report. Waits run on the fake's clock, so a 30 s bound takes
// no time. test/integration/ha.test.ts and ha-faults.test.ts run the same operations on the real ones.
import { describe, expect, it } from "vitest";
import { diffStatus } from "../../src/core/events.js";
import { HaApiError, NobodyAnsweredError } from "../../src/core/ha-client.js";
import { LABEL, names } from "../../src/core/labels.js";
import { readLab } from "../../src/lab/context.js";
import { patroniChange } from "../../src/lab/ha.js";
import { readLabStatus } from "../../src/lab/status.js";
import { configurePatroni, leaderLock, monitorEvents } from "../../src/operations/ha.js";
import { promote } from "../../src/operations/promote.js";
import { rejoin } from "../../src/operations/rejoin.js";
import { switchover } from "../../src/operations/switchover.js";
import { sync } from "../../src/operations/sync.js";
import { up } from "../../src/operations/up.js";
import { buildTopology } from "../../src/core/topology.js";
import { createHaLab, FakeHa } from "../fake-ha.js";
import { FakeEngine, fakeRuntime, refused, type SqlScript } from "../fakes.js";

const LAB = "h";
const SYNC_STATE: Record<string, string> = { sync_standby: "sync", quorum_standby: "quorum" };

/** Each node's PostgreSQL answering as the fake cluster's member of that name is: a leader is a primary, the others stream from it. */
function servers(ha: FakeHa): SqlScript {
  return (node, sql) => {
    const member = ha.member(node);
    if (member.state === "stopped") return refused(node);
    const primary = member.role === "leader";
    const streaming = ha.members.filter((other) => other.role !== "leader" && other.state === "streaming");
    const commit = ha.parameters.synchronous_commit;
    if (sql.includes("pg_is_in_recovery() AS in_recovery,")) {
      return [{
        in_recovery: !primary, current_lsn: primary ? "0/5000000" : null, receive_lsn: primary ? null : "0/5000000", replay_lsn: primary ? null : "0/5000000",
        replay_delay: null, timeline: member.timeline, upstream: primary ? null : (ha.leader?.name ?? null), receiver_status: member.state === "streaming" ? "streaming" : null,
      }];
    }
    const replication = streaming.map((other) => ({ application_name: other.name, state: "streaming", sync_state: SYNC_STATE[other.role] ?? "async", sync_priority: 0 }));
    if (sql.includes("AS replication")) {
      if (!primary) return new Error(`ERROR: recovery is in progress (${node} was asked for its pg_stat_replication)`);
      return [{ replication, slots: [] }];
    }
    if (sql.includes("FROM pg_stat_replication ORDER BY application_name")) return primary ? replication : [];
    if (sql.includes("AS commit, (SELECT count(*)")) return [{ commit, synchronous: streaming.filter((other) => other.role in SYNC_STATE).length }];
    if (sql.includes("AS names")) return [{ names: "", commit }];
    return [];
  };
}

/** An HA lab on a fake engine, with the Patroni cluster and etcd `up` leaves (followers 2 unless given); its APIs ask for the lab's users. */
async function haLab(input: Record<string, unknown> = {}) {
  const engine = new FakeEngine();
  const { topology, secrets } = await createHaLab(engine, { lab: LAB, followers: 2, ...input });
  const ha = FakeHa.forTopology(topology, secrets);
  const runtime = fakeRuntime(engine, servers(ha), { ha, clock: ha.clock });
  const container = (node: string) => engine.byName(names.container(LAB, node))!;
  return { engine, ha, runtime, container, lab: () => readLab(runtime, LAB) };
}

/** The requests that change something: Patroni's POSTs and PATCHes (etcd's reads are POSTs too). */
const posts = (ha: FakeHa) => ha.requests.filter((request) => / (POST|PATCH) \/(switchover|failover|reinitialize|config)/.test(request));

describe("a switchover or failover in synchronous mode waits for a synchronous candidate", () => {
  it("waits while the candidate is not yet a sync_standby, and asks Patroni once it is", async () => {
    const { ha, runtime } = await haLab({ sync: "FIRST 1 (standby1, standby2)" });
    // standby1 just came back: the leader's Patroni makes it synchronous some looks later.
    Object.assign(ha.member("standby1"), { role: "replica" });
    Object.assign(ha.member("standby2"), { role: "replica" });
    ha.afterLooks(4, () => (ha.member("standby1").role = "sync_standby"));
    const result = await switchover(runtime, { lab: LAB, node: "standby1" });
    expect(result).toMatchObject({ old_primary: "leader", new_primary: "standby1", following: ["standby2"], rejoin: { method: "patroni" } });
    expect(posts(ha)).toEqual([`leader POST /switchover {"leader":"leader","candidate":"standby1"}`]);
    const asked = ha.requests.indexOf(posts(ha)[0]!);
    // Asked at the fourth look at the cluster, the first to show standby1 synchronous.
    expect(ha.requests.slice(0, asked).filter((request) => request.endsWith("GET /cluster"))).toHaveLength(4);
    expect(ha.member("standby1")).toMatchObject({ role: "leader", timeline: 2 });
  });

  it("gives up after three loop_waits (15 s at least) and says what the candidate is, without asking Patroni", async () => {
    for (const [loopWait, boundMs] of [[1, 15_000], [10, 30_000]] as const) {
      const { ha, runtime } = await haLab({ sync: "FIRST 1 (standby1, standby2)" });
      ha.config.loop_wait = loopWait;
      ha.appliesChanges = false;
      ha.member("standby1").role = "replica";
      ha.member("standby2").role = "replica";
      const started = ha.clock.now();
      const error = (await switchover(runtime, { lab: LAB, node: "standby1" }).catch((thrown: unknown) => thrown)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe("Patroni's synchronous mode lets only a synchronous standby take over, and standby1 is not one: it is a replica (streaming)");
      expect((error as HaApiError).hint).toMatch(/^name standby2, or change the sync spec/);
      expect(ha.clock.now() - started).toBeGreaterThanOrEqual(boundMs);
      expect(ha.clock.now() - started).toBeLessThan(boundMs + 1000);
      expect(posts(ha)).toEqual([]);
    }
  });

  it("refuses a member tagged nosync at once, naming those that may", async () => {
    const { ha, runtime } = await haLab({ sync: "standby1" });
    await expect(promote(runtime, { lab: LAB, node: "standby2" })).rejects.toThrow(/standby2 is not one: it is tagged nosync \(the sync spec does not name it\)/);
    await expect(promote(runtime, { lab: LAB, node: "standby2" })).rejects.toMatchObject({ hint: expect.stringMatching(/^name standby1, or /) });
    expect(ha.clock.slept).toEqual([]);
    expect(posts(ha)).toEqual([]);
  });

  it("asks at once when synchronous mode is off", async () => {
    const { ha, runtime } = await haLab();
    await promote(runtime, { lab: LAB, node: "standby2" });
    const asked = ha.requests.indexOf(posts(ha)[0]!);
    expect(ha.requests.slice(0, asked).map((request) => request.replace(/^\S+ /, ""))).toEqual(["GET /cluster", "GET /config"]);
    expect(posts(ha)).toEqual([`leader POST /failover {"candidate":"standby2"}`]);
  });
});

describe("what a switchover or failover refuses", () => {
  it("refuses a candidate that already leads, one that is not a member, and a switchover with no leader, asking Patroni nothing", async () => {
    const { ha, runtime } = await haLab();
    await expect(switchover(runtime, { lab: LAB, node: "leader" })).rejects.toThrow("leader already holds the leader lock");
    const lab = await readLab(runtime, LAB);
    await expect(patroniChange(lab, "failover", "standby9")).rejects.toThrow('standby9 is not a Patroni member of lab "h"');
    await expect(patroniChange(lab, "failover", "standby9")).rejects.toMatchObject({ hint: "its members are leader, standby1, standby2" });
    Object.assign(ha.member("leader"), { role: "replica", state: "stopped" });
    await expect(switchover(runtime, { lab: LAB, node: "standby1" })).rejects.toThrow("nobody holds the leader lock, so there is nothing to switch over from");
    expect(posts(ha)).toEqual([]);
  });

  it("gives Patroni's own refusal in its words, and does not ask another member", async () => {
    const { ha, runtime } = await haLab();
    ha.refusals.set("POST /switchover", { status: 503, text: "Switchover failed" });
    const error = await switchover(runtime, { lab: LAB, node: "standby1" }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(HaApiError);
    expect(error).toMatchObject({ member: "leader", kind: "refused", status: 503, said: "Switchover failed", message: "leader's Patroni refused POST /switchover: Switchover failed (HTTP 503)" });
    expect(posts(ha)).toHaveLength(1);
  });

  it("asks the next member when one does not answer, and says why each failed when none does", async () => {
    const { ha, runtime, engine, container } = await haLab();
    ha.member("leader").answers = false;
    await switchover(runtime, { lab: LAB, node: "standby1" });
    expect(posts(ha)).toEqual([`standby1 POST /switchover {"leader":"leader","candidate":"standby1"}`]);

    await engine.stopContainer(container("standby1").id);
    ha.member("standby2").answers = false;
    const error = await switchover(runtime, { lab: LAB, node: "leader" }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NobodyAnsweredError);
    expect((error as NobodyAnsweredError).message).toBe("no node's Patroni answered GET /cluster");
    expect((error as NobodyAnsweredError).details).toEqual([
      "leader: did not answer GET /cluster: no answer within 1.5 s",
      "standby1: container exited",
      "standby2: did not answer GET /cluster: no answer within 1.5 s",
    ]);
  });
});

describe("after Patroni accepts, the change waits for the cluster to follow", () => {
  it("measures the promotion at the first look showing the new leader, and waits until the others stream on its timeline", async () => {
    const { ha, runtime } = await haLab();
    ha.looksPerChange = 3;
    const lab = await readLab(runtime, LAB);
    // standby2 is restarted by Patroni to follow the new leader, and streams five looks after it leads.
    ha.onChange = () => {
      Object.assign(ha.member("standby2"), { state: "starting", timeline: 1 });
      ha.afterLooks(5, () => Object.assign(ha.member("standby2"), { state: "streaming", timeline: 2 }));
    };
    const change = await patroniChange(lab, "failover", "standby1");
    expect(change).toMatchObject({ said: 'Successfully failed over to "standby1"', timeline: 2, following: ["leader", "standby2"], not_following: [] });
    // The first look after the request comes at once, each later one 100 ms on: the third shows the new leader.
    expect(change.promote_ms).toBe(200);
    expect(ha.requests.filter((request) => request.endsWith("GET /cluster")).length).toBe(1 + 3 + 5);
  });

  it("names the members that do not follow within the bound, and fails when the candidate never leads", async () => {
    const { ha, runtime } = await haLab();
    const lab = await readLab(runtime, LAB);
    ha.onChange = () => Object.assign(ha.member("standby2"), { state: "stopped", timeline: 1 });
    const change = await patroniChange(lab, "failover", "standby1", { timeoutMs: 5000 });
    expect(change).toMatchObject({ following: ["leader"], not_following: ["standby2"] });

    const stuck = await haLab();
    stuck.ha.looksPerChange = 1_000_000;
    await expect(patroniChange(await stuck.lab(), "failover", "standby1", { timeoutMs: 5000 })).rejects.toThrow(
      'Patroni said "Successfully failed over to "standby1"" but standby1 did not become the leader within 5 s',
    );
  });
});

describe("rejoin through Patroni", () => {
  it("starts a stopped member and waits until Patroni reports it streaming on the leader's timeline", async () => {
    const { ha, runtime, engine, container } = await haLab();
    await engine.stopContainer(container("standby2").id);
    ha.member("standby2").state = "stopped";
    engine.onStart = () => ha.afterLooks(3, () => (ha.member("standby2").state = "streaming"));
    const result = await rejoin(runtime, { lab: LAB, node: "standby2" });
    expect(result).toMatchObject({ node: "standby2", primary: "leader", method: "patroni", reason: "started; Patroni rewound it to follow the leader (or took a new base backup)" });
    expect(engine.calls.filter((call) => call.startsWith("start ")).at(-1)).toBe(`start ${names.container(LAB, "standby2")}`);
    expect(ha.requests.filter((request) => request.endsWith("GET /cluster")).length).toBeGreaterThanOrEqual(4);
  });

  it("with reclone asks the member's own Patroni to reinitialize it, and waits for it", async () => {
    const { ha, runtime } = await haLab();
    await rejoin(runtime, { lab: LAB, node: "standby2", reclone: true });
    expect(posts(ha)).toEqual([`standby2 POST /reinitialize {"force":true}`]);
    expect(ha.member("standby2").state).toBe("streaming");
  });

  it("refuses the leader, a member that already streams, a rejoin with no leader, and a reclone it cannot reach", async () => {
    const { ha, runtime, engine, container } = await haLab();
    await expect(rejoin(runtime, { lab: LAB, node: "leader" })).rejects.toThrow("leader holds the leader lock");
    await expect(rejoin(runtime, { lab: LAB, node: "standby1" })).rejects.toThrow("standby1 already streams from leader; nothing to do");
    await engine.disconnectNetwork(names.network(LAB), container("standby1").id);
    await expect(rejoin(runtime, { lab: LAB, node: "standby1", reclone: true })).rejects.toThrow("standby1's Patroni cannot be reached: isolated from the lab network");
    Object.assign(ha.member("leader"), { role: "replica", state: "stopped" });
    await expect(rejoin(runtime, { lab: LAB, node: "standby2" })).rejects.toThrow("nobody holds the leader lock: there is no leader to rejoin");
    expect(posts(ha)).toEqual([]);
  });
});

describe("sync set, sync off and sync commit in HA mode change Patroni's configuration", () => {
  const patchOf = (ha: FakeHa) => posts(ha).map((request) => JSON.parse(request.replace(/^\S+ PATCH \/config /, "")));

  it("FIRST n is synchronous mode on with n synchronous standbys, settled when Patroni and pg_stat_replication show n", async () => {
    const { ha, runtime } = await haLab({ followers: 3 });
    const result = await sync(runtime, { lab: LAB, change: { kind: "standbys", spec: "FIRST 2 (standby1, standby2, standby3)" } });
    expect(patchOf(ha)).toEqual([{ synchronous_mode: true, synchronous_node_count: 2 }]);
    expect(result.settled).toBe(true);
    expect(ha.members.filter((member) => member.role === "sync_standby").map((member) => member.name)).toEqual(["standby1", "standby2"]);
  });

  it("ANY n is quorum mode with n, settled when every eligible standby is a quorum standby", async () => {
    const { ha, runtime } = await haLab();
    const result = await sync(runtime, { lab: LAB, change: { kind: "standbys", spec: "ANY 1 (standby1, standby2)" } });
    expect(patchOf(ha)).toEqual([{ synchronous_mode: "quorum", synchronous_node_count: 1 }]);
    expect(result.settled).toBe(true);
    expect(result.replication.map((row) => `${row.application_name}:${row.sync_state}`)).toEqual(["standby1:quorum", "standby2:quorum"]);
  });

  it("off is synchronous mode off, settled once no standby is synchronous", async () => {
    const { ha, runtime } = await haLab({ sync: "standby1" });
    const result = await sync(runtime, { lab: LAB, change: { kind: "standbys", spec: null } });
    expect(patchOf(ha)).toEqual([{ synchronous_mode: false }]);
    expect(result.settled).toBe(true);
    expect(ha.members.filter((member) => member.role === "sync_standby")).toEqual([]);
  });

  it("commit is a parameter in Patroni's configuration, settled when the level is in force", async () => {
    const { ha, runtime } = await haLab();
    ha.looksPerChange = 4;
    const result = await sync(runtime, { lab: LAB, change: { kind: "commit", level: "remote_apply" } });
    expect(patchOf(ha)).toEqual([{ postgresql: { parameters: { synchronous_commit: "remote_apply" } } }]);
    expect(result).toMatchObject({ settled: true, synchronous_commit: "remote_apply" });
    expect(ha.requests.filter((request) => request.endsWith("GET /cluster")).length).toBeGreaterThanOrEqual(4);
  });

  it("is not settled, after 20 s, while Patroni has not applied the change", async () => {
    for (const change of [{ kind: "standbys", spec: "standby1" }, { kind: "commit", level: "remote_apply" }] as const) {
      const { ha, runtime } = await haLab();
      ha.appliesChanges = false;
      const started = ha.clock.now();
      const result = await sync(runtime, { lab: LAB, change });
      expect(result.settled).toBe(false);
      expect(ha.clock.now() - started).toBeGreaterThanOrEqual(20_000);
    }
  });
});

describe("up in HA mode", () => {
  it("is ready once Patroni has made the synchronous standbys the mode makes: for ANY n every eligible one", async () => {
    for (const [sync, roles] of [
      ["ANY 1 (*)", ["quorum_standby", "quorum_standby"]],
      ["FIRST 1 (*)", ["sync_standby", "replica"]],
      ["ANY 1 (standby1)", ["quorum_standby", "replica"]],
    ] as const) {
      const engine = new FakeEngine();
      engine.images.set("repl-lab/postgres-ha:17", { env: {}, volumes: [] });
      const topology = buildTopology({ lab: LAB, ha: true, followers: 2, sync, image: "repl-lab/postgres-ha:17" });
      const ha = FakeHa.forTopology(topology);
      const result = await up(fakeRuntime(engine, servers(ha), { ha, clock: ha.clock }), { topology, waitTimeoutMs: 3000 });
      expect(result.nodes.map((node) => node.name)).toEqual(["leader", "standby1", "standby2"]);
      expect(ha.members.slice(1).map((member) => member.role)).toEqual(roles);
    }
  });
});

describe("the leader lock in etcd and Patroni's configuration", () => {
  it("refuses the monitor's events on a Patroni lab, which has no monitor, with what to run instead", async () => {
    const { runtime } = await haLab();
    await expect(monitorEvents(runtime, { lab: LAB, since: new Date(0) })).rejects.toMatchObject({
      message: `lab "${LAB}" runs patroni, which has no monitor`,
      hint: "make one with `repl-lab up --ha --manager pg_auto_failover`",
    });
  });


  it("reads the leader key from the first etcd member that answers; null while nobody holds it", async () => {
    const { ha, runtime } = await haLab();
    ha.etcdMembers[0]!.answers = false;
    expect(await leaderLock(runtime, { lab: LAB })).toBe("leader");
    expect(ha.requests.filter((request) => request.includes("/v3/kv/range"))).toEqual([`etcd2 POST /v3/kv/range {"key":"/service/h/leader"}`]);
    ha.holdLock(null);
    expect(await leaderLock(runtime, { lab: LAB })).toBeNull();
    for (const member of ha.etcdMembers) member.answers = false;
    await expect(leaderLock(runtime, { lab: LAB })).rejects.toMatchObject({
      message: "no etcd member answered a read of /service/h/leader",
      hint: expect.stringMatching(/no Raft majority/),
      details: ["etcd1: did not answer POST /v3/kv/range: no answer within 1.5 s", "etcd2: did not answer POST /v3/kv/range: no answer within 1.5 s", "etcd3: did not answer POST /v3/kv/range: no answer within 1.5 s"],
    });
  });

  it("asks as the lab's users, kept in its containers' environment; a lab made before it had them, as nobody", async () => {
    const { ha, runtime } = await haLab();
    await configurePatroni(runtime, { lab: LAB, change: { ttl: 25 } });
    expect(await leaderLock(runtime, { lab: LAB })).toBe("leader");
    ha.patroniPassword = "another";
    await expect(configurePatroni(runtime, { lab: LAB, change: { ttl: 30 } })).rejects.toThrow("leader's Patroni refused PATCH /config: not authenticated (HTTP 401)");
    ha.etcdPassword = "another";
    await expect(leaderLock(runtime, { lab: LAB })).rejects.toThrow(/no etcd member answered/);

    const engine = new FakeEngine();
    const { topology } = await createHaLab(engine, { lab: LAB, followers: 1 }, { superuserPassword: "su", replicationPassword: "rep", patroniPassword: "", etcdPassword: "", monitorPassword: "" });
    const old = FakeHa.forTopology(topology);
    const oldRuntime = fakeRuntime(engine, servers(old), { ha: old, clock: old.clock });
    await configurePatroni(oldRuntime, { lab: LAB, change: { ttl: 25 } });
    expect(await leaderLock(oldRuntime, { lab: LAB })).toBe("leader");
    expect(old.config.ttl).toBe(25);
  });

  it("sends a configuration change once, and gives Patroni's refusal", async () => {
    const { ha, runtime } = await haLab();
    await configurePatroni(runtime, { lab: LAB, change: { ttl: 30, loop_wait: 10 } });
    expect(ha.config).toMatchObject({ ttl: 30, loop_wait: 10 });
    ha.refusals.set("PATCH /config", { status: 400, text: "Invalid value for ttl" });
    await expect(configurePatroni(runtime, { lab: LAB, change: { ttl: "x" } })).rejects.toThrow("leader's Patroni refused PATCH /config: Invalid value for ttl (HTTP 400)");
    expect(posts(ha)).toHaveLength(2);
  });
});

describe("status and events in HA mode", () => {
  it("merges Patroni's members and etcd's, from the first that answers", async () => {
    const { ha, runtime } = await haLab({ sync: "standby1" });
    ha.member("leader").answers = false;
    const status = await readLabStatus(await readLab(runtime, LAB));
    expect(status.patroni).toEqual({
      source: "standby1",
      leader: "leader",
      members: [
        { name: "leader", role: "leader", state: "running", timeline: 1, lag: null },
        { name: "standby1", role: "sync_standby", state: "streaming", timeline: 1, lag: 0 },
        { name: "standby2", role: "replica", state: "streaming", timeline: 1, lag: 0 },
      ],
    });
    expect(status.etcd).toMatchObject({ leader: "etcd1", raft_term: 2 });
    expect(status.etcd!.members.map((member) => `${member.name}:${member.id}:${member.answering}:${member.is_leader}`)).toEqual([
      "etcd1:1a2b3c4d5e6f7a8b:true:true",
      "etcd2:2a2b3c4d5e6f7a8b:true:false",
      "etcd3:3a2b3c4d5e6f7a8b:true:false",
    ]);
    expect(status.warnings).toEqual([]);
  });

  it("takes etcd's leader from the highest term, gives a member that does not answer its id from the others, and warns when nobody leads", async () => {
    const { ha, runtime } = await haLab();
    // etcd3 was cut off in term 2 and still believes etcd1 leads; the others elected etcd2 in term 3.
    ha.raftLeader = "etcd2";
    for (const member of ha.etcdMembers) member.raft_term = 3;
    Object.assign(ha.etcdMembers[2]!, { raft_term: 2, believes: "etcd1" });
    ha.etcdMembers[0]!.answers = false;
    const status = await readLabStatus(await readLab(runtime, LAB));
    expect(status.etcd).toMatchObject({ leader: "etcd2", raft_term: 3 });
    expect(status.etcd!.members[0]).toMatchObject({ name: "etcd1", id: "1a2b3c4d5e6f7a8b", answering: false, is_leader: false, raft_term: null });

    ha.raftLeader = null;
    ha.etcdMembers[2]!.believes = null;
    const leaderless = await readLabStatus(await readLab(runtime, LAB));
    expect(leaderless.etcd!.leader).toBeNull();
    expect(leaderless.warnings).toContain("etcd has no Raft leader (fewer than two of three members reachable): Patroni cannot hold or take the leader lock");
  });

  it("says so when no node's Patroni answers, and reads etcd all the same", async () => {
    const { ha, runtime } = await haLab();
    for (const member of ha.members) member.answers = false;
    const status = await readLabStatus(await readLab(runtime, LAB));
    expect(status.patroni).toBeNull();
    expect(status.warnings).toContain("no node's Patroni answered: nothing can fail over until one does");
    expect(status.etcd!.leader).toBe("etcd1");
  });

  it("tells the lock expiring, the new holder, each member's role and a new Raft leader, as read from Patroni and etcd", async () => {
    const { ha, runtime, engine, container } = await haLab({ sync: "standby1" });
    const read = async () => readLabStatus(await readLab(runtime, LAB));
    const healthy = await read();
    // Killed, the leader still holds the lock until its ttl runs out: Patroni reports it so.
    await engine.killContainer(container("leader").id);
    ha.member("leader").state = "stopped";
    const killed = await read();
    expect(diffStatus(healthy, killed)).toContainEqual({ node: "leader", field: "container", from: "running", to: "exited" });
    expect(diffStatus(healthy, killed).filter((event) => event.field === "leader_lock")).toEqual([]);
    ha.member("leader").role = "replica";
    ha.holdLock(null);
    const lockGone = await read();
    expect(diffStatus(killed, lockGone)).toEqual(
      expect.arrayContaining([
        { node: "patroni", field: "leader_lock", from: "leader", to: "nobody (expired)" },
        { node: "leader", field: "patroni_role", from: "leader", to: "replica" },
      ]),
    );
    Object.assign(ha.member("standby1"), { role: "leader", state: "running", timeline: 2 });
    ha.raftLeader = "etcd3";
    for (const member of ha.etcdMembers) member.raft_term = 3;
    const taken = await read();
    expect(diffStatus(lockGone, taken)).toEqual(
      expect.arrayContaining([
        { node: "patroni", field: "leader_lock", from: "nobody", to: "standby1" },
        { node: "standby1", field: "patroni_role", from: "sync_standby", to: "leader" },
        { node: "etcd", field: "raft_leader", from: "etcd1 (term 2)", to: "etcd3 (term 3)" },
      ]),
    );
    // A moment when no Patroni answers says nothing about the lock: no leader_lock event either way.
    for (const member of ha.members) member.answers = false;
    const silent = await read();
    expect(diffStatus(taken, silent).filter((event) => event.field === "leader_lock" || event.field === "patroni_role")).toEqual([]);
    expect(container("leader").spec.labels?.[LABEL.ha]).toBe("patroni");
  });
});
