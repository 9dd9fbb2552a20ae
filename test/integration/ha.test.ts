// HA mode on real Patroni and a real three-member etcd: the leader killed with no further command
// and a follower takes over by itself; the old leader back as a follower when started; the etcd
// Raft leader killed and another elected; a switchover asked of Patroni; bad input refused.
import { afterAll, describe, expect, it } from "vitest";
import type { SwitchoverResult } from "../../src/operations/switchover.js";
import { engine, labsRemovedAfterAll, runCli, runJson, type StatusJson, statusUntil } from "../helpers.js";
import { labLabels } from "../../src/core/labels.js";

interface HaStatus extends StatusJson {
  patroni: { leader: string | null; members: { name: string; role: string; state: string; timeline: number | null }[] } | null;
  etcd: { leader: string | null; raft_term: number | null; members: { name: string; answering: boolean; is_leader: boolean }[] };
}

const TTL_S = 20;

describe("HA mode (Patroni + etcd)", () => {
  const newLab = labsRemovedAfterAll(afterAll);

  it("fails over by itself when the leader is killed, rejoins it when started, survives losing the etcd Raft leader, and switches over through Patroni", async () => {
    const lab = newLab("ha");
    await runJson(["up", "--lab", lab, "--ha", "-n", "2", "--sync", "standby1"]);
    const first = await runJson<HaStatus>(["status", "--lab", lab]);
    expect(first.patroni?.leader).toBe("leader");
    expect(first.patroni?.members.map((member) => `${member.name}:${member.role}:${member.state}`)).toEqual([
      "leader:leader:running",
      "standby1:sync_standby:streaming",
      "standby2:replica:streaming",
    ]);
    expect(first.replication.map((row) => `${row.application_name}:${row.sync_state}`)).toEqual(["standby1:sync", "standby2:async"]);
    expect(first.etcd.members.filter((member) => member.answering)).toHaveLength(3);
    expect(first.etcd.members.filter((member) => member.is_leader)).toHaveLength(1);
    const listed = await runJson<{ lab: string }[]>(["ls"]);
    expect(listed.find((entry) => entry.lab === lab)).toEqual({ lab, nodes: 3, running: 3, volumes: 3, etcd: 3 });
    const urls = await runJson<Record<string, string>>(["env", "--lab", lab]);
    expect(urls.primary).toMatch(/target_session_attrs=read-write$/);

    await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)"]);
    // No promote: Patroni on standby1 (the synchronous standby, the only one it may promote) takes
    // the leader lock once the killed leader's expires.
    const killedAt = Date.now();
    expect((await runCli(["kill", "--lab", lab, "leader"])).code).toBe(0);
    const failedOver = await statusUntil(
      lab,
      (status) => (status as HaStatus).patroni?.leader === "standby1" && status.nodes.some((node) => node.name === "standby1" && node.role === "primary"),
      (TTL_S + 40) * 1000,
    );
    console.log(`kill leader → standby1 primary, seen by status after ${Date.now() - killedAt} ms (ttl ${TTL_S} s)`);
    expect(failedOver.nodes.find((node) => node.name === "standby1")?.timeline).toBe(2);
    expect(await runJson(["sql", "--lab", lab, "standby1", "INSERT INTO t VALUES (2) RETURNING id"])).toEqual([{ id: 2 }]);

    // Started again, the old leader is rewound by Patroni and follows standby1.
    expect((await runCli(["start", "--lab", lab, "leader"])).code).toBe(0);
    const rejoined = (await statusUntil(
      lab,
      (status) => (status as HaStatus).patroni?.members.find((member) => member.name === "leader")?.state === "streaming" && status.nodes.find((node) => node.name === "leader")?.role === "standby",
      60_000,
    )) as HaStatus;
    expect(rejoined.nodes.find((node) => node.name === "leader")?.upstream).toBe("standby1");
    const onLeader = await runJson<{ id: number }[]>(["sql", "--lab", lab, "leader", "SELECT id FROM t ORDER BY id"]);
    expect(onLeader.map((row) => row.id)).toEqual([1, 2]);

    // The etcd Raft leader killed: the other two are a majority and elect one of themselves.
    const raftLeader = rejoined.etcd.leader!;
    const termBefore = rejoined.etcd.raft_term!;
    expect((await runCli(["kill", "--lab", lab, raftLeader])).code).toBe(0);
    const reelected = (await statusUntil(lab, (status) => {
      const etcd = (status as HaStatus).etcd;
      return etcd.leader !== null && etcd.leader !== raftLeader && (etcd.raft_term ?? 0) > termBefore;
    })) as HaStatus;
    expect(reelected.etcd.members.find((member) => member.name === raftLeader)?.answering).toBe(false);
    expect((await runCli(["start", "--lab", lab, raftLeader])).code).toBe(0);
    await statusUntil(lab, (status) => (status as HaStatus).etcd.members.every((member) => member.answering));

    // In synchronous mode only a synchronous standby may take over: standby2, which the sync spec
    // does not name, is tagged nosync and refused at once, with the name that may.
    const refused = await runCli(["switchover", "--lab", lab, "standby2"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/only a synchronous standby take over, and standby2 is not one: it is tagged nosync/);
    expect(refused.stderr).toMatch(/hint: name leader/);

    // A switchover asked of Patroni: leader takes over again cleanly; standby1 follows it. Right
    // after etcd's recovery the leader's Patroni may not yet have made leader its synchronous
    // standby again; the switchover waits for that rather than take Patroni's 412.
    const switched = await runJson<SwitchoverResult>(["switchover", "--lab", lab, "leader"]);
    expect(switched).toMatchObject({ old_primary: "standby1", new_primary: "leader", rejoin: { method: "patroni" } });
    const back = await statusUntil(
      lab,
      (status) => (status as HaStatus).patroni?.members.filter((member) => member.role !== "leader" && member.state === "streaming").length === 2 && (status as HaStatus).patroni?.leader === "leader",
      60_000,
    );
    expect((back as HaStatus).patroni?.leader).toBe("leader");
  });

  it("refuses Patroni's settings without --ha, a ttl Patroni would refuse, and an image without Patroni, leaving nothing behind", async () => {
    const noHa = await runCli(["up", "--lab", newLab("haflags"), "--ttl", "30s"]);
    expect(noHa.code).toBe(2);
    expect(noHa.stderr).toMatch(/^error: ttl: needs ha \(--ha\)$/m);
    const short = await runCli(["up", "--lab", newLab("hattl"), "--ha", "--ttl", "20s", "--retry-timeout", "10s"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/loop_wait \+ 2 × retry_timeout/);

    const lab = newLab("hanopatroni");
    const image = (await engine.inspectImage("postgres:17")) ? "postgres:17" : "repl-lab/postgres:17";
    const plain = await runCli(["up", "--lab", lab, "--ha", "--image", image]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`${image} has no patroni, etcd and etcdctl, which this HA lab runs`);
    expect(plain.stderr).toMatch(/repl-lab image build --pg 17 --ha/);
    const labels = labLabels(lab);
    const [containers, volumes, networks] = await Promise.all([engine.listContainers(labels), engine.listVolumes(labels), engine.listNetworks(labels)]);
    expect([containers.length, volumes.length, networks.length]).toEqual([0, 0, 0]);
  });
});
