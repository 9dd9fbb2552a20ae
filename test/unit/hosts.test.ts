// Labs across engines, the pure parts: hosts and placement as flags and labels, and how HostsEngine
// routes each engine call to the host that has (or gets) the container, over in-memory engines.
// The same on real engines: test/integration/hosts.test.ts.
import { PassThrough, type Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ContainerDetails, ContainerSpec } from "../../src/core/engine.js";
import { EngineUnreachableError, LabError, UsageError } from "../../src/core/errors.js";
import { checkHosts, decodeHosts, encodeHosts, hostAddress, parseHostFlag, placeMember, type LabHosts } from "../../src/core/hosts.js";
import { HOSTS_ROLE, LABEL, labLabels, names, nodeLabels } from "../../src/core/labels.js";
import { buildTopology } from "../../src/core/topology.js";
import { parseGroups } from "../../src/core/partition.js";
import { describeAction, parseAction } from "../../src/core/action.js";
import { HostsEngine, type HostEngine } from "../../src/engine/hosts.js";
import { FakeEngine } from "../fakes.js";

const three: LabHosts = {
  hosts: [
    { name: "a", url: "tcp://10.0.0.5:2375" },
    { name: "b", url: "tcp://10.0.0.6:2375" },
    { name: "c", url: "ssh://me@db3" },
  ],
  place: {},
};

describe("hosts and placement", () => {
  it("reads --host NAME=URL and refuses what is not one", () => {
    expect(parseHostFlag("a=tcp://10.0.0.5:2375")).toEqual({ name: "a", url: "tcp://10.0.0.5:2375" });
    expect(() => parseHostFlag("tcp://10.0.0.5:2375")).toThrow(UsageError);
    expect(() => checkHosts([{ name: "A", url: "tcp://x:1" }], {}, ["leader"])).toThrow(/host name "A"/);
    expect(() => checkHosts([{ name: "a", url: "http//x" }], {}, ["leader"])).toThrow(/is not an engine URL/);
    expect(() => checkHosts([{ name: "a", url: "tcp://x:1" }, { name: "a", url: "tcp://y:1" }], {}, ["leader"])).toThrow(/host a is given twice/);
    expect(() => checkHosts([{ name: "a", url: "tcp://x:1" }, { name: "b", url: "tcp://x:1" }], {}, ["leader"])).toThrow(/given twice/);
    expect(() => checkHosts(three.hosts, { standby9: "a" }, ["leader", "standby1"])).toThrow(/has no member standby9/);
    expect(() => checkHosts(three.hosts, { standby1: "z" }, ["leader", "standby1"])).toThrow(/no host is named z/);
  });

  it("places round-robin, members of a kind spread, the monitor and proxy away from the leader; --place wins", () => {
    const place = (member: string, lab = three) => placeMember(member, lab);
    expect(["leader", "standby1", "standby2", "standby3"].map((member) => place(member))).toEqual(["a", "b", "c", "a"]);
    expect(["etcd1", "etcd2", "etcd3"].map((member) => place(member))).toEqual(["a", "b", "c"]);
    expect([place("monitor"), place("proxy"), place("_check")]).toEqual(["c", "c", "a"]);
    expect(place("standby2", { ...three, place: { standby2: "a" } })).toBe("a");
    expect(place("standby1", { hosts: three.hosts.slice(0, 1), place: {} })).toBe("a");
  });

  it("reaches a host's ports at its engine's address; keeps hosts in labels and reads back only a whole record", () => {
    expect(three.hosts.map((host) => hostAddress(host.url))).toEqual(["10.0.0.5", "10.0.0.6", "db3"]);
    expect(hostAddress("unix:///var/run/docker.sock")).toBe("127.0.0.1");
    const encoded = encodeHosts({ ...three, place: { standby2: "a" } });
    expect(decodeHosts(encoded.hosts, encoded.place)).toEqual({ ...three, place: { standby2: "a" } });
    expect(decodeHosts("[]", "{}")).toBeUndefined();
    expect(decodeHosts('[["a"]]', "{}")).toBeUndefined();
    expect(decodeHosts("not json", undefined)).toBeUndefined();
  });

  it("takes hosts from flags or a lab file, and checks --place against the lab's members", () => {
    const topology = buildTopology({ lab: "x", followers: 2, ha: true, hosts: ["a=tcp://10.0.0.5:2375", { name: "b", url: "tcp://10.0.0.6:2375" }], place: { etcd3: "a" } });
    expect(topology.hosts).toEqual({ hosts: [{ name: "a", url: "tcp://10.0.0.5:2375" }, { name: "b", url: "tcp://10.0.0.6:2375" }], place: { etcd3: "a" } });
    expect(() => buildTopology({ lab: "x", followers: 1, hosts: ["a=tcp://10.0.0.5:2375"], place: { etcd1: "a" } })).toThrow(/has no member etcd1/);
    expect(() => buildTopology({ lab: "x", place: { leader: "a" } })).toThrow(/place: needs hosts/);
    expect(buildTopology({ lab: "x" }).hosts).toBeUndefined();
  });
});

describe("machine-level faults as the other doors take them", () => {
  it("reads host:<name> in partition groups as every member on that host", () => {
    const onHost = { a: ["leader", "etcd1"], b: ["standby1", "etcd2"], c: ["standby2", "etcd3"] };
    const members = Object.values(onHost).flat();
    expect(parseGroups("host:a | host:b, host:c", members, onHost)).toEqual([["leader", "etcd1"], ["standby1", "etcd2", "standby2", "etcd3"]]);
    expect(parseGroups("host:a, standby1 | standby2", members, onHost)).toEqual([["leader", "etcd1", "standby1"], ["standby2"]]);
    expect(() => parseGroups("host:z | host:a", members, onHost)).toThrow(/host:z, which is not a host of the lab/);
    expect(() => parseGroups("host:a | leader", members, onHost)).toThrow(/names leader twice/);
    expect(() => parseGroups("host:a | leader", ["leader", "standby1"])).toThrow(/host:a, which is not a host of the lab/);
  });

  it("takes host-down and host-up as lab actions (scenario steps, the dashboard's API, lab.act)", () => {
    expect(parseAction("host-down", { host: "a" })).toEqual({ verb: "host-down", host: "a" });
    expect(describeAction(parseAction("host-up", { host: "b" }))).toBe("host up b");
    expect(() => parseAction("host-down", { node: "leader" })).toThrow(UsageError);
    expect(() => parseAction("host-down", {})).toThrow(/host: is missing/);
  });
});

/** An in-memory engine of a swarm member, that finds containers by name as Docker does. */
class FakeHost extends FakeEngine implements HostEngine {
  reachable = true;
  constructor(
    readonly nodeId: string,
    readonly manager: boolean,
    readonly state = "active",
  ) {
    super();
    this.images.clear();
  }
  loaded = 0;
  override async ping(): Promise<void> {
    if (!this.reachable) throw new EngineUnreachableError("cannot reach the Docker engine (connect EHOSTUNREACH)");
  }
  override async listContainers(labels: Record<string, string>) {
    await this.ping();
    return super.listContainers(labels);
  }
  override async inspectContainer(id: string): Promise<ContainerDetails> {
    const found = this.containers.get(id) ?? this.byName(id);
    if (!found) throw new LabError(`Docker engine: inspect container ${id}: No such container: ${id}`);
    return super.inspectContainer(found.id);
  }
  async swarm() {
    return { state: this.state, nodeId: this.nodeId, manager: this.manager, clusterId: this.manager ? "swarm1" : undefined, managers: [] };
  }
  members: string[] = [];
  async swarmNodeIds() {
    return this.members;
  }
  async swarmInit() {
    return "token";
  }
  async swarmWorkerToken() {
    return "token";
  }
  async swarmJoin() {}
  async saveImage(image: string): Promise<Readable> {
    const stream = new PassThrough();
    stream.end(image);
    return stream;
  }
  async loadImage(tarball: Readable): Promise<void> {
    let image = "";
    for await (const chunk of tarball) image += String(chunk);
    this.images.set(image, { env: {}, volumes: [] });
    this.loaded += 1;
  }
}

function setUp(state = "active") {
  const home = new FakeHost("home", false, "inactive");
  home.images.set("pg:17", { env: {}, volumes: [] });
  const hosts = { "tcp://10.0.0.5:2375": new FakeHost("n1", true), "tcp://10.0.0.6:2375": new FakeHost("n2", false, state), "ssh://me@db3": new FakeHost("n3", false) };
  hosts["tcp://10.0.0.5:2375"].members = ["n1", "n2", "n3"];
  const engine = new HostsEngine(home, (url) => hosts[url as keyof typeof hosts]);
  const [a, b, c] = Object.values(hosts) as [FakeHost, FakeHost, FakeHost];
  return { home, engine, a, b, c };
}

async function withRecord(engine: HostsEngine, lab: string): Promise<void> {
  const encoded = encodeHosts(three);
  await engine.createVolume(names.hostsRecord(lab), { ...labLabels(lab), [LABEL.role]: HOSTS_ROLE, [LABEL.hosts]: encoded.hosts, [LABEL.place]: encoded.place });
}

const spec = (lab: string, node: string): ContainerSpec => ({
  name: names.container(lab, node),
  image: "pg:17",
  labels: nodeLabels(lab, node, node === "leader" ? "primary" : "standby"),
  mounts: [{ volume: names.volume(lab, node), target: "/data" }],
  network: { name: names.network(lab), aliases: [node] },
  ports: [{ containerPort: 5432, hostIp: "127.0.0.1" }],
});

describe("HostsEngine", () => {
  it("leaves a lab without a record on the home engine, and its ids as they are", async () => {
    const { home, engine, a } = setUp();
    const id = await engine.createContainer(spec("solo", "leader"));
    expect(home.byName("repl-lab-solo-leader")?.id).toBe(id);
    await engine.startContainer(id);
    expect((await engine.listContainers(labLabels("solo"))).map((container) => [container.id, container.host])).toEqual([[id, undefined]]);
    expect(a.containers.size).toBe(0);
  });

  it("creates each member on its host, published beyond loopback, its image copied there once; lists them all with their host", async () => {
    const { home, engine, a, b, c } = setUp();
    await withRecord(engine, "x");
    await engine.createNetwork(names.network("x"), labLabels("x"));
    expect([...a.networks.keys()]).toEqual([names.network("x")]);
    for (const node of ["leader", "standby1", "standby2"]) await engine.createVolume(names.volume("x", node), labLabels("x"));
    expect([[...a.volumes.keys()], [...b.volumes.keys()], [...c.volumes.keys()]]).toEqual([[names.volume("x", "leader")], [names.volume("x", "standby1")], [names.volume("x", "standby2")]]);
    const ids = await Promise.all(["leader", "standby1", "standby2"].map((node) => engine.createContainer(spec("x", node))));
    expect(ids.map((id) => id.split("/")[0])).toEqual(["x.a", "x.b", "x.c"]);
    expect(a.byName("repl-lab-x-leader")?.spec).toMatchObject({ labels: { [LABEL.host]: "a" }, ports: [{ containerPort: 5432, hostIp: "0.0.0.0" }] });
    expect([a.loaded, b.loaded, c.loaded]).toEqual([1, 1, 1]);
    await engine.createContainer({ ...spec("x", "standby1"), name: "repl-lab-x-_check-1", labels: { ...labLabels("x"), [LABEL.node]: "_check" } });
    expect(b.byName("repl-lab-x-_check-1")).toBeDefined();
    // A helper in a node's network namespace (a packet filter) goes to the node's host, naming it by that engine's id.
    await engine.createContainer({ name: "repl-lab-x-_partition-filter", image: "pg:17", labels: { ...labLabels("x"), [LABEL.node]: "_check" }, networkOf: ids[2]! });
    expect(c.byName("repl-lab-x-_partition-filter")?.spec.networkOf).toBe(ids[2]!.split("/")[1]);
    expect(b.loaded).toBe(1);

    for (const id of ids) await engine.startContainer(id);
    const listed = await engine.listContainers(labLabels("x"));
    expect(listed.map((container) => `${container.name}@${container.host?.name}:${container.host?.address}:${container.state}`).sort()).toEqual([
      "repl-lab-x-_check-1@b:10.0.0.6:created",
      "repl-lab-x-_partition-filter@c:db3:created",
      "repl-lab-x-leader@a:10.0.0.5:running",
      "repl-lab-x-standby1@b:10.0.0.6:running",
      "repl-lab-x-standby2@c:db3:running",
    ]);
    expect((await engine.listVolumes(labLabels("x"))).map((volume) => volume.name).sort()).toEqual([names.hostsRecord("x"), ...["leader", "standby1", "standby2"].map((node) => names.volume("x", node))].sort());
    expect(home.containers.size).toBe(0);
  });

  it("routes a call by name to the host that has the container, in a new process too", async () => {
    const { engine, home, a, b, c } = setUp();
    await withRecord(engine, "x");
    await engine.createContainer(spec("x", "standby2"));
    const fresh = new HostsEngine(home, (url) => ({ "tcp://10.0.0.5:2375": a, "tcp://10.0.0.6:2375": b, "ssh://me@db3": c })[url]!);
    const details = await fresh.inspectContainer("repl-lab-x-standby2");
    expect(details.id).toMatch(/^x\.c\//);
    await fresh.startContainer(details.id);
    expect(c.byName("repl-lab-x-standby2")?.state).toBe("running");
    await expect(fresh.inspectContainer("repl-lab-x-standby9")).rejects.toThrow(/No such container/);
  });

  it("refuses hosts outside one swarm, naming them", async () => {
    const inactive = setUp("inactive");
    await expect(inactive.engine.checkSwarm(three)).rejects.toThrow(/^host b is not in a swarm/);
    const { engine, a } = setUp();
    expect(await engine.checkSwarm(three)).toBe("a");
    a.members = ["n1", "n2"];
    await expect(engine.checkSwarm(three)).rejects.toThrow(/^host c is in another swarm than a/);
  });

  it("names a host that does not answer a lab's listing, and skips it when listing every lab", async () => {
    const { engine, b } = setUp();
    await withRecord(engine, "x");
    b.reachable = false;
    const error = await engine.listContainers(labLabels("x")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toMatch(/^host b \(tcp:\/\/10\.0\.0\.6:2375\) of lab "x" does not answer/);
    expect(await engine.listContainers({ [LABEL.managed]: "true" })).toEqual([]);
    expect(engine.silentHosts("x").map((host) => host.name)).toEqual(["b"]);
    expect((await engine.reach("x")).map((host) => `${host.name}:${host.reachable}`)).toEqual(["a:true", "b:false", "c:true"]);
  });
});
