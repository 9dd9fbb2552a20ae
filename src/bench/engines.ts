// Docker engines inside containers (repl-lab/engine:1, Debian's docker.io), as a lab's hosts on one
// machine: for the tests of labs across engines and the bench's hosts rows. Each is on a fixed
// address of a network of their own, so that one killed and started again keeps it (a swarm knows
// its members by address). They carry a label whose value names their owner (a test run, a bench),
// by which they are removed, also by a later run's cleanup when the owner died.
import Docker from "dockerode";
import { randomBytes } from "node:crypto";

export const TEST_ENGINE_LABEL = "repl-lab.test-engine";
const ENGINE_IMAGE = "repl-lab/engine:1";
const docker = new Docker();

export interface TestEngines {
  hosts: { name: string; url: string }[];
  /** --host flags naming them all. */
  flags: string[];
  /** Kills an engine (its containers go with it); start brings it back at the same address. */
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  remove(): Promise<void>;
}

async function answers(url: string, deadline: number): Promise<void> {
  const [host, port] = url.slice("tcp://".length).split(":");
  const engine = new Docker({ host, port: Number(port) });
  for (;;) {
    try {
      await engine.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the test engine at ${url} did not answer within its bound: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Starts `count` engines named a, b, c… for `owner` and waits until each answers (within 90 s). */
export async function startEngines(count: number, owner: string): Promise<TestEngines> {
  const set = `${owner}-${randomBytes(3).toString("hex")}`;
  const labels = { [TEST_ENGINE_LABEL]: owner };
  let network: Docker.Network | undefined;
  let subnet = "";
  // A /24 of 10.213.0.0/16 that no other network of this engine holds (another set may be starting).
  for (let attempt = 0; !network; attempt++) {
    subnet = `10.213.${Math.floor(Math.random() * 250)}`;
    try {
      network = await docker.createNetwork({ Name: `repl-lab-test-engines-${set}`, Driver: "bridge", Labels: labels, IPAM: { Config: [{ Subnet: `${subnet}.0/24` }] } });
    } catch (error) {
      if (attempt > 10 || !/overlap/i.test((error as Error).message)) throw error;
    }
  }
  const names = Array.from({ length: count }, (_, index) => String.fromCharCode(97 + index));
  const containers = new Map<string, Docker.Container>();
  const engines: TestEngines = {
    hosts: names.map((name, index) => ({ name, url: `tcp://${subnet}.${10 + index}:2375` })),
    flags: [],
    stop: async (name) => {
      // As a machine losing power: the engine and everything in it killed at once.
      await containers.get(name)!.kill();
    },
    start: async (name) => {
      await containers.get(name)!.start();
      await answers(engines.hosts.find((host) => host.name === name)!.url, Date.now() + 90_000);
    },
    remove: async () => {
      await Promise.all([...containers.values()].map((container) => container.remove({ force: true, v: true }).catch(() => undefined)));
      await network!.remove().catch(() => undefined);
    },
  };
  engines.flags = engines.hosts.flatMap((host) => ["--host", `${host.name}=${host.url}`]);
  try {
    await Promise.all(
      names.map(async (name, index) => {
        const container = await docker.createContainer({
          name: `repl-lab-test-engine-${set}-${name}`,
          Image: ENGINE_IMAGE,
          Labels: labels,
          Cmd: ["--tls=false", "-H", "tcp://0.0.0.0:2375", "--cgroup-parent", `/repl-lab-test-engine-${set}-${name}`],
          HostConfig: {
            // What an engine needs inside a container here (docs/development.md): --privileged is
            // refused by this machine's capability bounding set, so every capability it has.
            CapAdd: ["ALL"],
            CapDrop: ["SYS_RESOURCE"],
            SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
            Binds: ["/sys/fs/cgroup:/sys/fs/cgroup"],
            NetworkMode: network!.id,
          },
          NetworkingConfig: { EndpointsConfig: { [network!.id]: { IPAMConfig: { IPv4Address: `${subnet}.${10 + index}` } } } },
        });
        containers.set(name, container);
        await container.start();
      }),
    );
    const deadline = Date.now() + 90_000;
    await Promise.all(engines.hosts.map((host) => answers(host.url, deadline)));
  } catch (error) {
    // Say what the engines themselves said: their state and the last lines of their output.
    const said = await Promise.all(
      [...containers.entries()].map(async ([name, container]) => {
        const info = await container.inspect().catch(() => undefined);
        const logs = ((await container.logs({ stdout: true, stderr: true, tail: 3 }).catch(() => Buffer.from(""))) as Buffer).toString("utf8").replace(/[\x00-\x08]/g, "").trim();
        return `${name}: ${info?.State.Status ?? "gone"} (exit ${info?.State.ExitCode ?? "?"}) ${logs.split("\n").at(-1) ?? ""}`;
      }),
    );
    await engines.remove();
    if (error instanceof Error) error.message += `; engines: ${said.join("; ")}`;
    throw error;
  }
  return engines;
}

/** Removes the engines (and their networks) of owners that `stale` says are over. */
export async function removeTestEngines(stale: (run: string) => boolean): Promise<void> {
  const filters = JSON.stringify({ label: [TEST_ENGINE_LABEL] });
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.filter((container) => stale(container.Labels[TEST_ENGINE_LABEL] ?? "")).map((container) => docker.getContainer(container.Id).remove({ force: true, v: true })));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.filter((network) => stale(network.Labels?.[TEST_ENGINE_LABEL] ?? "")).map((network) => docker.getNetwork(network.Id).remove().catch(() => undefined)));
}
