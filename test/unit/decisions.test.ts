// The decisions in up, faults and failover, on an in-memory engine and scripted servers: what is
// refused, in which order things happen, and what is left when something fails. The same
// operations run against the real engine in test/integration.
import { describe, expect, it } from "vitest";
import { fault, refusal } from "../../src/operations/fault.js";
import { heal, partition } from "../../src/operations/partition.js";
import type { ContainerSpec } from "../../src/core/engine.js";
import { NETFILTER_IMAGE } from "../../src/lab/partition.js";
import { promote, promoteRefusal } from "../../src/operations/promote.js";
import { rejoin } from "../../src/operations/rejoin.js";
import { sync } from "../../src/operations/sync.js";
import { up } from "../../src/operations/up.js";
import { InterruptedError, LabError, PortTakenError, UsageError } from "../../src/core/errors.js";
import { LABEL, labLabels, names } from "../../src/core/labels.js";
import type { NodeStatus } from "../../src/core/status.js";
import { buildTopology } from "../../src/core/topology.js";
import { readLab } from "../../src/lab/context.js";
import { readLabStatus } from "../../src/lab/status.js";
import { replaceContainer } from "../../src/lab/containers.js";
import { theOtherPrimary } from "../../src/lab/replication.js";
import { watchLab } from "../../src/lab/watch.js";
import { Lab } from "../../src/api.js";
import { FakeEngine, fakeRuntime, healthy, none, refused, resources, streaming, type SqlScript } from "../fakes.js";

describe("up", () => {
  it("starts the leader alone, then the followers, and returns a fixed URL per node", async () => {
    const engine = new FakeEngine();
    const runtime = fakeRuntime(engine, healthy(["standby1", "standby2"], { standby1: ["sync", 1] }));
    const result = await up(runtime, { topology: buildTopology({ lab: "a", followers: 2, sync: "standby1" }), waitTimeoutMs: 5000 });
    const starts = engine.calls.filter((call) => call.startsWith("start "));
    expect(starts).toEqual(["start repl-lab-a-leader", "start repl-lab-a-standby1", "start repl-lab-a-standby2"]);
    expect(engine.calls.indexOf("start repl-lab-a-leader")).toBeGreaterThan(engine.calls.lastIndexOf("create repl-lab-a-standby2"));
    expect(result.nodes.map((node) => node.name)).toEqual(["leader", "standby1", "standby2"]);
    for (const node of result.nodes) {
      const pinned = engine.byName(node.container)?.spec.labels?.[LABEL.hostPort];
      expect(node.url).toBe(`postgresql://postgres:${engine.byName(node.container)?.spec.env?.REPL_LAB_SUPERUSER_PASSWORD}@127.0.0.1:${pinned}/postgres`);
    }
  });

  it("refuses a lab that exists and creates nothing", async () => {
    const engine = new FakeEngine();
    await engine.createVolume("leftover", labLabels("b"));
    const runtime = fakeRuntime(engine);
    await expect(up(runtime, { topology: buildTopology({ lab: "b" }), waitTimeoutMs: 1000 })).rejects.toThrow('lab "b" already exists; nothing was changed');
    expect(engine.calls).toEqual(["create-volume leftover"]);
  });

  it("removes everything it created when a container cannot be created", async () => {
    const engine = new FakeEngine();
    engine.failOn = (operation, name) => (operation === "create" && name.endsWith("standby2") ? new LabError("no room") : undefined);
    await expect(up(fakeRuntime(engine), { topology: buildTopology({ lab: "c", followers: 2 }), waitTimeoutMs: 1000 })).rejects.toThrow("no room");
    expect(resources(engine, "c")).toEqual(none);
  });

  it("starts over with other ports when a port it chose is taken before the node starts; a port the user gave is not retried", async () => {
    const engine = new FakeEngine();
    let taken = 1;
    engine.failOn = (operation, name) =>
      operation === "start" && name.endsWith("standby1") && taken-- > 0 ? new PortTakenError("a host port is taken: Bind for 127.0.0.1:38567 failed: port is already allocated") : undefined;
    const steps: string[] = [];
    const result = await up(fakeRuntime(engine, healthy(["standby1"])), { topology: buildTopology({ lab: "pt", followers: 1 }), waitTimeoutMs: 5000 }, { step: (message) => steps.push(message) });
    expect(result.nodes.map((node) => node.name)).toEqual(["leader", "standby1"]);
    expect(steps.some((step) => step.endsWith("starting over with other ports"))).toBe(true);

    const given = new FakeEngine();
    let attempts = 0;
    given.failOn = (operation, name) => (operation === "start" && name.endsWith("leader") && ++attempts > 0 ? new PortTakenError("a host port is taken") : undefined);
    const topology = buildTopology({ lab: "pu", followers: 1, port: 45_000 });
    await expect(up(fakeRuntime(given, healthy(["standby1"])), { topology, waitTimeoutMs: 1000 })).rejects.toThrow("a host port is taken");
    expect(attempts).toBe(1);
    expect(resources(given, "pu")).toEqual(none);
  });

  it("fails at once, with its log, when the leader exits while starting, and removes the lab", async () => {
    const engine = new FakeEngine();
    engine.onStart = (container) => {
      if (container.spec.name.endsWith("leader")) {
        container.state = "exited";
        container.exitCode = 1;
        container.logs.push('FATAL:  invalid value for parameter "shared_buffers": "lots"');
      }
    };
    const started = Date.now();
    const error = await up(fakeRuntime(engine), { topology: buildTopology({ lab: "d", followers: 1 }), waitTimeoutMs: 60_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message).toBe("leader stopped while the lab was starting (exit code 1)");
    expect((error as LabError).details.join("\n")).toContain('invalid value for parameter "shared_buffers"');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(resources(engine, "d")).toEqual(none);
  });

  it("says what it awaited and last saw when the wait times out, and removes the lab", async () => {
    const engine = new FakeEngine();
    const script: SqlScript = (_node, sql) => (sql.includes("pg_stat_replication") ? streaming(["standby1"]) : []);
    const error = (await up(fakeRuntime(engine, script), { topology: buildTopology({ lab: "e", followers: 2, sync: "standby1" }), waitTimeoutMs: 300 }).catch(
      (caught: unknown) => caught,
    )) as LabError;
    expect(error.message).toBe('lab "e" was not ready after 0 s (--wait-timeout)');
    expect(error.details).toContain("awaited: every follower streaming, standby1 sync (priority 1), standby2 async (priority 0)");
    expect(error.details).toContain("last seen: standby1 streaming/async (priority 0), standby2 not connected");
    expect(resources(engine, "e")).toEqual(none);
  });

  it("stops when interrupted, removes the lab and throws InterruptedError", async () => {
    const engine = new FakeEngine();
    const controller = new AbortController();
    const script: SqlScript = (node, sql) => {
      if (sql.includes("pg_stat_replication")) controller.abort();
      return node === "leader" ? [] : refused(node);
    };
    await expect(up(fakeRuntime(engine, script), { topology: buildTopology({ lab: "f" }), waitTimeoutMs: 60_000, signal: controller.signal })).rejects.toBeInstanceOf(
      InterruptedError,
    );
    expect(resources(engine, "f")).toEqual(none);
  });

  it("when interrupted and the removal fails too, says what may be left and how to remove it, not that it was removed", async () => {
    const engine = new FakeEngine();
    const controller = new AbortController();
    engine.failOn = (operation, name) => (operation === "remove" && name.endsWith("-standby1") ? new LabError("removal of container is already in progress") : undefined);
    const script: SqlScript = (node, sql) => {
      if (sql.includes("pg_stat_replication")) controller.abort();
      return node === "leader" ? [] : refused(node);
    };
    const error = await up(fakeRuntime(engine, script), { topology: buildTopology({ lab: "g" }), waitTimeoutMs: 60_000, signal: controller.signal }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as Error).message).toBe(
      'interrupted; lab "g" may be partly left: removing the lab failed: removal of container is already in progress; run `repl-lab down --lab g`',
    );
  });
});

async function labOf(name: string, followers: string[], script?: SqlScript) {
  const engine = new FakeEngine();
  const runtime = fakeRuntime(engine, script ?? healthy(followers));
  await up(fakeRuntime(engine, healthy(followers)), { topology: buildTopology({ lab: name, followers: followers.length }), waitTimeoutMs: 5000 });
  engine.calls.length = 0;
  return { engine, runtime };
}

describe("faults", () => {
  it("are refused when the node is not in a state they apply to, with the command that would fix it", async () => {
    const { engine, runtime } = await labOf("g", ["standby1"]);
    const node = (await readLab(runtime, "g")).nodes[1]!;
    expect(refusal("unpause", node)?.message).toBe("cannot unpause standby1: it is running");
    await fault(runtime, { lab: "g", node: "standby1", action: "kill" });
    expect(engine.calls).toEqual(["kill repl-lab-g-standby1"]);
    const killed = (await readLab(runtime, "g")).nodes[1]!;
    expect(refusal("kill", killed)?.message).toBe("cannot kill standby1: it is exited");
    expect(refusal("kill", killed)?.hint).toBe("start it with `repl-lab start standby1`");
    await expect(fault(runtime, { lab: "g", node: "standby1", action: "pause" })).rejects.toThrow("cannot pause standby1: it is exited");
    expect(engine.calls).toEqual(["kill repl-lab-g-standby1"]);
  });

  it("partition --isolate takes the node off the lab network, and is refused twice; heal puts it back", async () => {
    const { engine, runtime } = await labOf("h", ["standby1"]);
    const result = await partition(runtime, { lab: "h", node: "standby1", isolate: true });
    expect(result).toMatchObject({ action: "partition", partition: null, isolated: ["standby1"] });
    expect(engine.calls).toEqual([`disconnect repl-lab-h-standby1 ${names.network("h")}`]);
    await expect(partition(runtime, { lab: "h", node: "standby1", isolate: true })).rejects.toThrow("cannot isolate standby1: it is already off the lab network");
    expect(await heal(runtime, { lab: "h", node: "standby1" })).toMatchObject({ action: "heal", isolated: [] });
    expect(engine.calls.at(-1)).toBe(`connect repl-lab-h-standby1 ${names.network("h")}`);
    await expect(heal(runtime, { lab: "h", node: "standby1" })).rejects.toThrow("cannot heal standby1: it is not partitioned");
  });

  it("partition <node> loads drop rules in every member's namespace through a helper with NET_ADMIN, records the cut, and heal removes both", async () => {
    const { engine, runtime } = await labOf("p", ["standby1", "standby2"]);
    engine.images.set(NETFILTER_IMAGE, { env: {}, volumes: [] });
    const helpers: ContainerSpec[] = [];
    engine.jobs = (spec) => {
      helpers.push(spec);
      return { exitCode: 0, stdout: "", stderr: "" };
    };
    const lab = await readLab(runtime, "p");
    const address = Object.fromEntries(lab.nodes.map((node) => [node.name, node.address]));
    const result = await partition(runtime, { lab: "p", node: "leader" });
    expect(result.partition).toEqual({ groups: [["leader"], ["standby1", "standby2"]], one_way: false });
    expect(result.filtered.sort()).toEqual(["leader", "standby1", "standby2"]);
    // No node is given the capability: only the helpers, each in one member's namespace.
    for (const helper of helpers) {
      expect(helper.capAdd).toEqual(["NET_ADMIN"]);
      expect(helper.image).toBe(NETFILTER_IMAGE);
    }
    const leaderRules = helpers.find((helper) => helper.networkOf === lab.nodes[0]!.id)!.env!.RULES!;
    expect(leaderRules).toContain(`ip saddr { ${address.standby1}, ${address.standby2} } drop`);
    expect(leaderRules).toContain(`ip daddr { ${address.standby1}, ${address.standby2} } drop`);
    const standbyRules = helpers.find((helper) => helper.networkOf === lab.nodes[1]!.id)!.env!.RULES!;
    expect(standbyRules).toContain(`ip saddr { ${address.leader} } drop`);
    expect((await readLab(runtime, "p")).partition?.map).toEqual(result.partition);
    await expect(partition(runtime, { lab: "p", node: "standby1" })).rejects.toThrow("lab p is already partitioned (leader | standby1, standby2)");

    helpers.length = 0;
    const healed = await heal(runtime, { lab: "p" });
    expect(healed.partition).toBeNull();
    expect(helpers).toHaveLength(3);
    for (const helper of helpers) expect(helper.env!.RULES).not.toContain("drop");
    expect((await readLab(runtime, "p")).partition).toBeUndefined();
  });

  it("partition refuses bad groups and a missing helper image before touching anything", async () => {
    const { engine, runtime } = await labOf("q", ["standby1"]);
    await expect(partition(runtime, { lab: "q", groups: "leader" })).rejects.toThrow('--groups needs at least two groups split by "|"');
    await expect(partition(runtime, { lab: "q", groups: "leader | standby9" })).rejects.toThrow("--groups names standby9, which is not a member of the lab");
    await expect(partition(runtime, { lab: "q", node: "leader", oneWay: true })).rejects.toThrow("--one-way goes with --groups");
    await expect(partition(runtime, { lab: "q", node: "leader" })).rejects.toThrow("no packet-filter helper image");
    expect(engine.calls).toEqual([]);
  });

  it("refuse an unknown node, naming the nodes there are", async () => {
    const { runtime } = await labOf("i", ["standby1"]);
    const error = (await fault(runtime, { lab: "i", node: "standby9", action: "kill" }).catch((caught: unknown) => caught)) as LabError;
    expect(error.message).toBe('lab "i" has no node "standby9"');
    expect(error.hint).toBe("its nodes are leader, standby1");
  });
});

const status = (name: string, role: string, overrides: Partial<NodeStatus> = {}): NodeStatus => ({
  name, role, role_source: "server", container: name, container_state: "running", isolated: false, cannot_reach: [], host_port: 1, timeline: 1,
  current_lsn: null, receive_lsn: null, replay_lsn: null, replay_delay: null, upstream: null, network_delay_ms: null, receiver_status: null, error: null, ...overrides,
});

describe("failover decisions", () => {
  it("a node to follow must be the one running primary", () => {
    const lab = (nodes: NodeStatus[]) => ({ lab: "x", nodes, replication: [], slots: [], warnings: [], partition: null });
    expect(() => theOtherPrimary(lab([status("leader", "standby"), status("standby1", "standby")]), "leader")).toThrow("no running primary to follow");
    expect(() => theOtherPrimary(lab([status("leader", "primary"), status("standby1", "primary"), status("standby2", "standby")]), "standby2")).toThrow(
      "split brain: leader and standby1 both answer as primaries",
    );
    expect(theOtherPrimary(lab([status("leader", "primary"), status("standby1", "primary")]), "leader").name).toBe("standby1");
  });

  it("promote refuses a primary and a node whose server does not answer", () => {
    expect(promoteRefusal(status("leader", "primary"))?.message).toBe("leader is already a primary");
    expect(promoteRefusal(status("standby1", "standby", { role_source: "data", container_state: "exited", error: "container exited" }))?.message).toBe(
      "cannot promote standby1: its server does not answer (container exited)",
    );
    expect(promoteRefusal(status("standby1", "standby"))).toBeUndefined();
  });

  it("promote of a primary is refused before anything is changed", async () => {
    const { engine, runtime } = await labOf("j", ["standby1"]);
    await expect(promote(runtime, { lab: "j", node: "leader" })).rejects.toThrow("leader is already a primary");
    expect(engine.calls).toEqual([]);
    expect(runtime.queries.some((query) => query.includes("pg_promote"))).toBe(false);
  });

  it("rejoin refuses a node that already streams from the primary", async () => {
    const { engine, runtime } = await labOf("k", ["standby1"]);
    await expect(rejoin(runtime, { lab: "k", node: "standby1" })).rejects.toThrow("standby1 already streams from leader; nothing to do");
    expect(engine.calls).toEqual([]);
  });

  it("sync refuses a lab with no primary, and a bad spec before changing anything", async () => {
    const { runtime: noPrimary } = await labOf("l", ["standby1"], (node) => refused(node));
    await expect(sync(noPrimary, { lab: "l", change: { kind: "standbys", spec: "standby1" } })).rejects.toThrow("no node answers as primary");
    const { runtime } = await labOf("m", ["standby1"]);
    await expect(sync(runtime, { lab: "m", change: { kind: "standbys", spec: "standby7" } })).rejects.toBeInstanceOf(UsageError);
    expect(runtime.queries.some((query) => query.includes("ALTER SYSTEM"))).toBe(false);
  });
});

describe("replacing a node's container", () => {
  it("never leaves the node without a container: a failed create gives the old one its name back", async () => {
    const { engine, runtime } = await labOf("n", ["standby1"]);
    await engine.stopContainer(engine.byName("repl-lab-n-standby1")!.id);
    engine.failOn = (operation) => (operation === "create" ? new LabError("engine said no") : undefined);
    const lab = await readLab(runtime, "n");
    await expect(replaceContainer(lab, lab.nodes[1]!, (spec) => ({ ...spec, labels: { ...spec.labels, [LABEL.role]: "primary" } }))).rejects.toThrow("engine said no");
    const kept = engine.byName("repl-lab-n-standby1");
    expect(kept?.spec.labels?.[LABEL.role]).toBe("standby");
    expect([...engine.containers.values()].filter((container) => container.spec.name.includes("standby1"))).toHaveLength(1);
  });

  it("creates the new one before it removes the old one, on the lab network under the node's name", async () => {
    const { engine, runtime } = await labOf("o", ["standby1"]);
    const old = engine.byName("repl-lab-o-standby1")!;
    await engine.disconnectNetwork(names.network("o"), old.id);
    await engine.stopContainer(old.id);
    engine.calls.length = 0;
    const lab = await readLab(runtime, "o");
    const id = await replaceContainer(lab, lab.nodes[1]!, (spec) => ({ ...spec, labels: { ...spec.labels, [LABEL.role]: "primary" } }));
    expect(engine.calls.map((call) => call.split(" ")[0])).toEqual(["rename", "create", "remove"]);
    const fresh = engine.containers.get(id)!;
    expect(fresh.spec).toMatchObject({ name: "repl-lab-o-standby1", network: { name: names.network("o"), aliases: ["standby1"] } });
    expect(fresh.spec.labels?.[LABEL.role]).toBe("primary");
    expect(engine.containers.has(old.id)).toBe(false);
  });
});

describe("status", () => {
  /** The script, and what each node was asked: "+replication" when the query read pg_stat_replication. */
  const recording = (script: SqlScript) => {
    const asked: string[] = [];
    const recorded: SqlScript = (node, sql) => {
      if (sql !== "<connect>") asked.push(`${node}${sql.includes("pg_stat_replication") ? " +replication" : ""}`);
      return script(node, sql);
    };
    return { asked, recorded };
  };

  it("asks every node about itself, and only the primary for pg_stat_replication and its slots", async () => {
    const { asked, recorded } = recording(healthy(["standby1", "standby2"]));
    const { runtime } = await labOf("s", ["standby1", "standby2"], recorded);
    const status = await readLabStatus(await readLab(runtime, "s"));
    expect(status.nodes.map((node) => `${node.name} ${node.role} ${node.role_source}`)).toEqual(["leader primary server", "standby1 standby server", "standby2 standby server"]);
    expect(status.replication.map((row) => `${row.primary} ${row.application_name}`)).toEqual(["leader standby1", "leader standby2"]);
    expect(asked.sort()).toEqual(["leader", "leader +replication", "standby1", "standby2"]);
  });

  it("asks a standby that answers as a primary (promoted) about its standbys too", async () => {
    const cluster = healthy(["standby1", "standby2"]);
    const { asked, recorded } = recording((node, sql) => {
      if (node !== "standby1") return cluster(node, sql);
      if (sql.includes("AS in_recovery")) return [{ in_recovery: false, current_lsn: "0/6000000", timeline: 2, upstream: null, receiver_status: null }];
      if (sql.includes("AS replication")) return [{ replication: streaming(["standby2"]).map((row) => ({ ...row, pid: 2, usename: "replicator", client_addr: null })), slots: [] }];
      return [];
    });
    const { runtime } = await labOf("t", ["standby1", "standby2"], recorded);
    const status = await readLabStatus(await readLab(runtime, "t"));
    expect(status.nodes.find((node) => node.name === "standby1")).toMatchObject({ role: "primary", timeline: 2 });
    expect(status.replication.map((row) => `${row.primary} ${row.application_name}`)).toEqual(["leader standby1", "leader standby2", "standby1 standby2"]);
    expect(asked.sort()).toEqual(["leader", "leader +replication", "standby1", "standby1 +replication", "standby2"]);
    expect(status.warnings.join("\n")).toContain("standby1");
  });
});

describe("watchLab", () => {
  it("keeps one session per node across ticks instead of connecting every tick", async () => {
    const { engine } = await labOf("p", ["standby1", "standby2"]);
    let connects = 0;
    const base = fakeRuntime(engine, healthy(["standby1", "standby2"]));
    const runtime = { ...base, connect: (...args: Parameters<typeof base.connect>) => ((connects += 1), base.connect(...args)) };
    const ticks: string[][] = [];
    for await (const tick of watchLab(runtime, "p", { intervalMs: 1 })) {
      ticks.push(tick.events.map((event) => `${event.node} ${event.field}`));
      if (ticks.length === 4) break;
    }
    expect(connects).toBe(3);
    expect(ticks[0]).toContain("standby1 replication");
    expect(ticks.slice(1)).toEqual([[], [], []]);
  });
});

describe("the library", () => {
  it("Lab.up validates like the CLI, gives each node's URL, and `await using` removes the lab", async () => {
    const engine = new FakeEngine();
    const runtime = fakeRuntime(engine, healthy(["standby1"]));
    await expect(Lab.up({ followers: 17, runtime })).rejects.toThrow("followers: must be a whole number from 1 to 16");
    expect(engine.calls).toEqual([]);
    {
      await using lab = await Lab.up({ name: "q", followers: 1, runtime });
      expect(lab.nodes).toEqual(["leader", "standby1"]);
      expect(lab.url("standby1")).toMatch(/^postgresql:\/\/postgres:[0-9a-f]{24}@127\.0\.0\.1:\d+\/postgres$/);
      expect(Object.keys(lab.urls())).toEqual(["leader", "standby1", "primary", "standby"]);
      expect(lab.url("primary")).toMatch(/^postgresql:\/\/postgres:[0-9a-f]{24}@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/postgres\?target_session_attrs=read-write$/);
      expect(() => lab.url("standby2")).toThrow('lab "q" has no node "standby2"');
      expect(resources(engine, "q")).toEqual({ containers: 2, volumes: 2, networks: 1 });
    }
    expect(resources(engine, "q")).toEqual(none);
  });

  it("a handle from Lab.attach leaves the lab in place when disposed, unless asked to remove it", async () => {
    const engine = new FakeEngine();
    const runtime = fakeRuntime(engine, healthy(["standby1"]));
    const made = await Lab.up({ name: "theirs", followers: 1, runtime });
    {
      await using attached = await Lab.attach("theirs", { runtime });
      expect(attached.nodes).toEqual(["leader", "standby1"]);
    }
    expect(resources(engine, "theirs")).toEqual({ containers: 2, volumes: 2, networks: 1 });
    {
      await using attached = await Lab.attach("theirs", { runtime, removeOnDispose: true });
      expect(attached.name).toBe("theirs");
    }
    expect(resources(engine, "theirs")).toEqual(none);
    await made.down().catch(() => undefined);
  });

  it("Lab.up removes the lab it made when it cannot hand it over (reading its URLs fails)", async () => {
    const engine = new FakeEngine();
    const runtime = fakeRuntime(engine, healthy(["standby1"]));
    let failNextList = false;
    const list = engine.listContainers.bind(engine);
    engine.listContainers = async (labels) => {
      if (failNextList) {
        failNextList = false;
        throw new LabError("the engine went away for a moment");
      }
      return list(labels);
    };
    const ready = (message: string) => {
      if (message.endsWith("is ready")) failNextList = true;
    };
    await expect(Lab.up({ name: "orphan", followers: 1, runtime, onProgress: ready })).rejects.toThrow("the engine went away for a moment");
    expect(resources(engine, "orphan")).toEqual(none);
  });
});
