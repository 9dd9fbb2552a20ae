// Labs across engines: three Docker engines in containers on this machine (repl-lab/engine:1), joined
// into a swarm of their own by `repl-lab host init` (the machine's own engine stays out of any
// swarm), carry one lab with the leader and each follower on a different engine, their replication
// over the swarm's overlay network. A whole host goes down and the lab fails over; an HA lab keeps
// its etcd members on three hosts; `down` with one engine stopped cleans the others and says so.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryUntil } from "../../src/core/retry.js";
import type { UpResult } from "../../src/operations/up.js";
import type { LabStatus } from "../../src/core/status.js";
import { dropLab, runCli, runJson, runtime, uniqueLab } from "../helpers.js";
import { startEngines, type TestEngines } from "../engines.js";

let engines: TestEngines;
const labs: string[] = [];

beforeAll(async () => {
  engines = await startEngines(3);
  const init = await runCli(["host", "init", ...engines.flags, "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  expect(JSON.parse(init.stdout)).toMatchObject({ manager: "a", hosts: [{ name: "a", state: "initialised" }, { name: "b", state: "joined" }, { name: "c", state: "joined" }] });
}, 180_000);

afterAll(async () => {
  // Labs first, while their engines answer; then the engines.
  for (const lab of labs) await dropLab(lab).catch(() => undefined);
  await engines?.remove();
}, 120_000);

function newLab(purpose: string): string {
  const lab = uniqueLab(purpose);
  labs.push(lab);
  return lab;
}

const status = (lab: string) => runJson<LabStatus>(["status", "--lab", lab]);

/** What a lab left on each test engine (containers, volumes, networks with its label), and its record here. */
async function leftOn(lab: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`repl-lab.lab=${lab}`] });
  const found: string[] = [];
  for (const host of engines.hosts) {
    const [address, port] = host.url.slice("tcp://".length).split(":");
    const docker = new Docker({ host: address, port: Number(port) });
    const [containers, volumes, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listVolumes({ filters }), docker.listNetworks({ filters })]);
    found.push(...containers.map((entry) => `${host.name}: container ${entry.Names[0]}`), ...(volumes.Volumes ?? []).map((entry) => `${host.name}: volume ${entry.Name}`), ...networks.map((entry) => `${host.name}: network ${entry.Name}`));
  }
  const home = await runtime.engine.listVolumes({ "repl-lab.lab": lab });
  return [...found, ...home.map((volume) => `home: volume ${volume.name}`)];
}

describe("a lab across three engines", () => {
  it("places the leader and each follower on its own host, replicates over the overlay network, fails over after `host down`, and `down` with a host stopped cleans the others and says which was not", async () => {
    const lab = newLab("hosts");
    // The HA image (PostgreSQL and the managers) for this lab too: one image to copy to the engines, not two.
    const up = await runJson<UpResult>(["up", "--lab", lab, ...engines.flags, "-n", "2", "--sync", "standby1", "--image", "repl-lab/postgres-ha:17", "--quiet"]);
    expect(up.nodes.map((node) => `${node.name}@${node.lab_host}`)).toEqual(["leader@a", "standby1@b", "standby2@c"]);
    // Each node's URL names its own host's address.
    expect(up.nodes.map((node) => node.host)).toEqual(engines.hosts.map((host) => host.url.slice("tcp://".length).split(":")[0]));

    const before = await status(lab);
    expect(before.hosts?.map((host) => `${host.name}:${host.state}:${host.members.join(",")}`)).toEqual(["a:up:leader", "b:up:standby1", "c:up:standby2"]);
    expect(before.replication.map((row) => `${row.application_name}:${row.state}:${row.sync_state}`)).toEqual(["standby1:streaming:sync", "standby2:streaming:async"]);
    expect((await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"])).code).toBe(0);

    // A partition between machines, by host: the leader's packets to the other hosts are dropped
    // (asked from inside the leader: pg_isready gets no answer within its 2 s), until the heal.
    const cut = await runCli(["partition", "--lab", lab, "--groups", "host:a | host:b,host:c"]);
    expect(cut.code, cut.stderr).toBe(0);
    const leaderId = (await runtime.engine.listContainers({ "repl-lab.lab": lab, "repl-lab.node": "leader" }))[0]!.id;
    const reach = async () => (await runtime.engine.exec(leaderId, ["pg_isready", "-q", "-h", "standby1", "-t", "2"])).exitCode;
    expect(await reach()).toBe(2);
    expect((await status(lab)).partition?.groups).toEqual([["leader"], ["standby1", "standby2"]]);
    expect((await runCli(["heal", "--lab", lab])).code).toBe(0);
    expect(await reach()).toBe(0);

    // The leader's machine loses power.
    const down = await runCli(["host", "down", "a", "--lab", lab]);
    expect(down.code, down.stderr).toBe(0);
    const after = await status(lab);
    expect(after.hosts?.find((host) => host.name === "a")?.state).toBe("down");
    expect(after.warnings.join("\n")).toContain("host a is down");
    expect(after.nodes.find((node) => node.name === "leader")?.container_state).toBe("exited");

    const promoted = await runCli(["promote", "--lab", lab, "standby1", "--json"]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ new_primary: "standby1", following: ["standby2"] });
    expect((await runCli(["sql", "--lab", lab, "standby1", "INSERT INTO t VALUES (2)"])).code).toBe(0);
    const replicated = await retryUntil(
      async () => {
        const read = await runCli(["sql", "--lab", lab, "standby2", "SELECT count(*) AS n FROM t", "--json"]);
        return read.code === 0 && read.stdout.includes('"n": "2"') ? read.stdout : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, onTimeout: () => new Error("standby2 did not get the row written on standby1 within 20 s") },
    );
    expect(replicated).toContain('"n": "2"');

    // The machine comes back; the old leader rejoins by pg_rewind across hosts.
    expect((await runCli(["host", "up", "a", "--lab", lab])).code).toBe(0);
    const rejoined = await runCli(["rejoin", "--lab", lab, "leader", "--json"]);
    expect(rejoined.code, rejoined.stderr).toBe(0);
    const healed = await retryUntil(async () => {
      const current = await status(lab);
      return current.replication.filter((row) => row.state === "streaming").length === 2 ? current : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, onTimeout: () => new Error("leader and standby2 did not both stream from standby1 within 30 s") });
    expect(healed.nodes.map((node) => `${node.name}:${node.role}@${node.host}`)).toEqual(["leader:standby@a", "standby1:primary@b", "standby2:standby@c"]);

    // Host c's engine stops answering: down removes the lab from a and b, keeps its record, and says so.
    await engines.stop("c");
    const partial = await runCli(["down", "--lab", lab]);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toMatch(/removed from hosts a, b; not cleaned: host c \(tcp:\/\/[\d.]+:2375\) did not answer/);
    expect(partial.stderr).not.toMatch(/\n\s+at /);
    await engines.start("c");
    const left = await leftOn(lab);
    expect(left.filter((entry) => /^[ab]: (container|volume)/.test(entry))).toEqual([]);
    expect(left).toContain(`home: volume repl-lab-${lab}-hosts`);
    expect((await runCli(["down", "--lab", lab])).code).toBe(0);
    expect(await leftOn(lab)).toEqual([]);
  }, 300_000);

  it("refuses a host whose engine does not answer, naming it, and leaves nothing", async () => {
    const lab = newLab("hosts-refused");
    const refused = await runCli(["up", "--lab", lab, ...engines.flags.slice(0, 4), "--host", "z=tcp://127.0.0.1:1", "-n", "1", "--quiet"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error: host z \(tcp:\/\/127\.0\.0\.1:1\) does not answer/);
    expect(await leftOn(lab)).toEqual([]);
  }, 60_000);
});

describe("an HA lab across three engines", () => {
  it("spreads etcd's members over the hosts, and Patroni fails over when the leader's host goes down", async () => {
    const lab = newLab("hosts-ha");
    const up = await runJson<UpResult>(["up", "--lab", lab, "--ha", ...engines.flags, "-n", "2", "--quiet"]);
    expect(up.nodes.map((node) => `${node.name}@${node.lab_host}`)).toEqual(["leader@a", "standby1@b", "standby2@c"]);
    const before = await status(lab);
    expect(before.hosts?.map((host) => `${host.name}:${host.members.join(",")}`)).toEqual(["a:leader,etcd1", "b:standby1,etcd2", "c:standby2,etcd3"]);
    expect(before.patroni?.leader).toBe("leader");

    expect((await runCli(["host", "down", "a", "--lab", lab])).code).toBe(0);
    // Two of three etcd members remain, a majority: a follower takes the leader lock.
    const failedOver = await retryUntil(
      async () => {
        const current = await status(lab);
        const leader = current.patroni?.leader;
        return leader && leader !== "leader" && current.nodes.some((node) => node.name === leader && node.role === "primary") ? current : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, onTimeout: () => new Error("no follower took the leader lock within 90 s of host a going down") },
    );
    expect(["standby1", "standby2"]).toContain(failedOver.patroni?.leader);
    expect(failedOver.hosts?.find((host) => host.name === "a")?.state).toBe("down");
    expect((await runCli(["down", "--lab", lab])).code).toBe(0);
    expect(await leftOn(lab)).toEqual([]);
  }, 300_000);
});
