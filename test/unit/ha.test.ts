// HA mode's pure parts: the flags' validation, the sync spec mapped to Patroni's synchronous mode,
// each node's Patroni configuration, and the election read as events.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { diffStatus } from "../../src/core/events.js";
import { etcdCommand, expectedSynchronousStandbys, patroniConfig } from "../../src/core/ha.js";
import { planEtcd, planLab } from "../../src/core/node-plan.js";
import type { LabStatus } from "../../src/core/status.js";
import { buildTopology } from "../../src/core/topology.js";

const usage = (input: Record<string, unknown>) => {
  try {
    buildTopology({ lab: "t", ...input });
  } catch (error) {
    return (error as Error).message;
  }
  return "accepted";
};

describe("HA topology", () => {
  it("takes the lab's defaults at Patroni's floor, or Patroni's own with patroniDefaults", () => {
    expect(buildTopology({ lab: "t", ha: true }).ha).toMatchObject({ ttl: 20, loop_wait: 1, retry_timeout: 3, synchronous_mode: "off", nosync: [] });
    expect(buildTopology({ lab: "t", ha: true, patroniDefaults: true }).ha).toMatchObject({ ttl: 30, loop_wait: 10, retry_timeout: 10 });
    expect(buildTopology({ lab: "t", ha: true, ttl: "45s", loopWait: 2 }).ha).toMatchObject({ ttl: 45, loop_wait: 2 });
    expect(buildTopology({ lab: "t" }).ha).toBeUndefined();
  });

  it("maps FIRST n to synchronous mode on and ANY n to quorum, the unnamed followers tagged nosync", () => {
    expect(buildTopology({ lab: "t", ha: true, followers: 3, sync: "FIRST 1 (standby1, standby2)" }).ha).toMatchObject({
      synchronous_mode: "on",
      synchronous_node_count: 1,
      nosync: ["standby3"],
    });
    expect(buildTopology({ lab: "t", ha: true, followers: 3, sync: "ANY 2 (*)" }).ha).toMatchObject({ synchronous_mode: "quorum", synchronous_node_count: 2, nosync: [] });
    expect(buildTopology({ lab: "t", ha: true, sync: "standby1", syncMode: "strict" }).ha).toMatchObject({ synchronous_mode: "strict", nosync: ["standby2"] });
  });

  it("expects as many synchronous standbys as Patroni makes: n of the eligible for FIRST n, all of them for ANY n", () => {
    expect(expectedSynchronousStandbys("on", 1, 2)).toBe(1);
    expect(expectedSynchronousStandbys("strict", 3, 2)).toBe(2);
    expect(expectedSynchronousStandbys("quorum", 1, 3)).toBe(3);
    expect(expectedSynchronousStandbys("off", 2, 3)).toBe(0);
  });

  it("refuses what Patroni would refuse or what has no meaning, naming the field", () => {
    expect(usage({ ttl: "30s" })).toMatch(/^ttl: needs ha \(--ha\)/);
    expect(usage({ manager: "pg_auto_failover" })).toMatch(/^manager: needs ha/);
    expect(usage({ proxy: true })).toMatch(/^proxy: needs ha/);
    expect(usage({ ha: true, manager: "pg_auto_failover", ttl: "30s" })).toMatch(/^ttl: Patroni's settings; this lab runs pg_auto_failover/);
    expect(usage({ ha: true, manager: "pg_auto_failover", settings: { work_mem: "8MB" } })).toMatch(/^settings \(-c\): not available with pg_auto_failover/);
    expect(usage({ ha: true, manager: "repmgr" })).toMatch(/^manager: must be one of patroni, pg_auto_failover/);
    expect(usage({ ha: true, ttl: "10s" })).toMatch(/^ttl: must be a whole number of seconds from 20/);
    expect(usage({ ha: true, ttl: "20s", retryTimeout: "10s" })).toMatch(/loop_wait \+ 2 × retry_timeout/);
    expect(usage({ ha: true, sync: "ANY 1 (standby1, standby2)", syncMode: "on" })).toMatch(/^syncMode: on is FIRST n/);
    expect(usage({ ha: true, sync: "standby1", syncMode: "quorum" })).toMatch(/^syncMode: quorum is ANY n/);
    expect(usage({ ha: true, sync: "standby1", syncMode: "off" })).toMatch(/contradicts/);
  });
});

describe("HA plans", () => {
  const topology = buildTopology({ lab: "demo", ha: true, followers: 2, sync: "standby1", settings: { max_connections: "50" } });
  const options = { image: "img", secrets: { superuserPassword: "su", replicationPassword: "rep", patroniPassword: "api", etcdPassword: "etcd", monitorPassword: "mon" }, bindIp: "127.0.0.1" };

  it("gives every node a Patroni configuration on the three etcd members, with its own name and the cluster's settings", () => {
    const plans = planLab(topology, options);
    const config = parse(plans[2]!.container.env!.PATRONI_CONFIGURATION!) as Record<string, any>;
    expect(config.scope).toBe("demo");
    expect(config.name).toBe("standby2");
    expect(config.etcd3.hosts).toEqual(["etcd1:2379", "etcd2:2379", "etcd3:2379"]);
    expect(config.bootstrap.dcs).toMatchObject({ ttl: 20, loop_wait: 1, retry_timeout: 3, synchronous_mode: true, synchronous_node_count: 1 });
    expect(config.bootstrap.dcs.postgresql.parameters).toMatchObject({ max_connections: "50", wal_level: "replica", wal_retrieve_retry_interval: "1s" });
    expect(config.bootstrap.dcs.postgresql.parameters.cluster_name).toBeUndefined();
    expect(config.postgresql.parameters.cluster_name).toBe("standby2");
    expect(config.tags.nosync).toBe(true);
    expect((parse(plans[1]!.container.env!.PATRONI_CONFIGURATION!) as Record<string, any>).tags.nosync).toBe(false);
    expect(plans[0]!.container.ports!.map((port) => port.containerPort)).toEqual([5432, 8008]);
    expect(plans[0]!.container.labels!["repl-lab.ha"]).toBe("patroni");
  });

  it("asks for the lab's users on Patroni's unsafe requests and on etcd, with secrets only the PostgreSQL nodes hold", () => {
    const plans = planLab(topology, options);
    const config = parse(plans[1]!.container.env!.PATRONI_CONFIGURATION!) as Record<string, any>;
    expect(config.restapi.authentication).toEqual({ username: "repl-lab", password: "api" });
    expect(config.etcd3).toMatchObject({ username: "root", password: "etcd" });
    expect(plans[1]!.container.env).toMatchObject({ REPL_LAB_PATRONI_PASSWORD: "api", REPL_LAB_ETCD_PASSWORD: "etcd" });
    // Each node turns etcd's authentication on before Patroni starts, if no other node has yet.
    const script = plans[0]!.container.entrypoint![2]!;
    expect(script.indexOf("etcdctl auth enable")).toBeGreaterThan(0);
    expect(script.indexOf("etcdctl auth enable")).toBeLessThan(script.indexOf("exec $as_postgres patroni"));
    expect(script).toContain('etcdctl user add root --new-user-password="$REPL_LAB_ETCD_PASSWORD" --interactive=false');
    const distinct = { ...options, secrets: { ...options.secrets, patroniPassword: "api-0f3a9b", etcdPassword: "etcd-7c1e2d" } };
    for (const member of planEtcd(topology, distinct)) expect(JSON.stringify(member)).not.toMatch(/api-0f3a9b|etcd-7c1e2d|PASSWORD/);
  });

  it("with a network delay, every node is reached through its fixed link delay end", () => {
    const delayed = buildTopology({ lab: "demo", ha: true, followers: 1, networkDelay: "20ms" });
    const [leader] = planLab(delayed, options);
    const config = parse(leader!.container.env!.PATRONI_CONFIGURATION!) as Record<string, any>;
    expect(config.postgresql.connect_address).toBe("leader:5435");
    expect(leader!.container.env!.REPL_LAB_NETWORK_DELAY).toBe("20");
    expect(leader!.container.entrypoint!.join(" ")).toContain("fixed-end 5435 5432");
    expect((parse(planLab(topology, options)[0]!.container.env!.PATRONI_CONFIGURATION!) as Record<string, any>).postgresql.connect_address).toBe("leader:5432");
  });

  it("quotes every string, since Patroni reads YAML 1.1 where on and off are booleans", () => {
    const text = patroniConfig({
      lab: "l", node: "n", ha: topology.ha!, superuserPassword: "p", replicationPassword: "r", patroniPassword: "a", etcdPassword: "e", dataDir: "/d",
      parameters: { synchronous_commit: "on" }, localParameters: {}, connectPort: 5432,
    });
    expect(text).toMatch(/synchronous_commit: "on"/);
  });

  it("plans three etcd members that know each other, and none without HA", () => {
    const members = planEtcd(topology, options);
    expect(members.map((member) => member.name)).toEqual(["repl-lab-demo-etcd1", "repl-lab-demo-etcd2", "repl-lab-demo-etcd3"]);
    expect(members[0]!.labels!["repl-lab.role"]).toBe("etcd");
    expect(etcdCommand("demo", "etcd2")).toContain("--initial-cluster=etcd1=http://etcd1:2380,etcd2=http://etcd2:2380,etcd3=http://etcd3:2380");
    expect(planEtcd(buildTopology({ lab: "demo" }), options)).toEqual([]);
  });
});

describe("HA events", () => {
  const base = (leader: string | null, raft: string | null, term: number): LabStatus => ({
    lab: "l", nodes: [], replication: [], slots: [], warnings: [], partition: null,
    patroni: { source: "standby1", leader, members: [{ name: "leader", role: leader === "leader" ? "leader" : "replica", state: "running", timeline: 1, lag: null }] },
    etcd: { leader: raft, raft_term: term, members: [] },
  });

  it("tells the leader lock changing hands and the Raft leader changing, and nothing when nothing changed", () => {
    expect(diffStatus(base("leader", "etcd1", 2), base("leader", "etcd1", 2))).toEqual([]);
    const events = diffStatus(base("leader", "etcd1", 2), base(null, "etcd2", 3));
    expect(events).toContainEqual({ node: "patroni", field: "leader_lock", from: "leader", to: "nobody" });
    const running = { ...base("leader", "etcd1", 2), nodes: [{ name: "leader", container_state: "running", isolated: false, cannot_reach: [] }] } as unknown as LabStatus;
    const killed = { ...running, nodes: [{ name: "leader", container_state: "exited", isolated: false, cannot_reach: [] }] } as unknown as LabStatus;
    expect(diffStatus(running, base(null, "etcd1", 2))).toContainEqual({ node: "patroni", field: "leader_lock", from: "leader", to: "nobody (released)" });
    expect(diffStatus(killed, base(null, "etcd1", 2))).toContainEqual({ node: "patroni", field: "leader_lock", from: "leader", to: "nobody (expired)" });
    expect(events).toContainEqual({ node: "leader", field: "patroni_role", from: "leader", to: "replica" });
    expect(events).toContainEqual({ node: "etcd", field: "raft_leader", from: "etcd1 (term 2)", to: "etcd2 (term 3)" });
  });
});
