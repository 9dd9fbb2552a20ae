// repl-lab host down|up <host>: a whole machine of a lab across engines fails (every member on it
// killed at once, as a machine losing power) or comes back. repl-lab host init: joins engines into
// one swarm, on request.
import { LabError, UsageError } from "../core/errors.js";
import { checkHosts, hostAddress, type LabHost } from "../core/hosts.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { readLab, type LabContext, type LabNode } from "../lab/context.js";
import { hostsEngine } from "../lab/hosts.js";
import { reloadCut } from "../lab/partition.js";
import type { Runtime } from "../lab/runtime.js";

/** The lab's members on one of its hosts (PostgreSQL nodes, etcd, the monitor, the proxy). */
export function membersOn(lab: LabContext, host: string): LabNode[] {
  const hosts = lab.hosts?.hosts.map((entry) => entry.name) ?? [];
  if (!hosts.includes(host)) {
    throw new LabError(lab.hosts ? `lab "${lab.name}" has no host "${host}"` : `lab "${lab.name}" runs on one engine; it has no hosts`, {
      hint: lab.hosts ? `its hosts are ${hosts.join(", ")}` : "make a lab across engines with `repl-lab up --host a=URL --host b=URL …`",
    });
  }
  return [...lab.nodes, ...lab.etcd, ...(lab.monitor ? [lab.monitor] : []), ...(lab.proxy ? [lab.proxy] : [])].filter((member) => member.host?.name === host);
}

export interface HostFaultResult {
  lab: string;
  host: string;
  action: "down" | "up";
  /** The lab's members on that host, and what each was before. */
  members: { name: string; before: string }[];
  message: string;
  elapsed_ms: number;
}

export async function hostFault(runtime: Runtime, options: { lab: string; host: string; action: "down" | "up" }, progress: Progress = silentProgress): Promise<HostFaultResult> {
  const started = Date.now();
  const lab = await readLab(runtime, options.lab);
  const members = membersOn(lab, options.host);
  const { engine } = runtime;
  if (options.action === "down") {
    const live = members.filter((member) => member.state === "running" || member.state === "paused");
    if (live.length === 0) throw new LabError(`host ${options.host} is already down: none of the lab's members on it runs`, { hint: `bring it back with \`repl-lab host up ${options.host}\`` });
    // All at once, as a machine losing power: a frozen one is thawed only to be killed (the engine
    // refuses to kill a paused container), which it does not live to notice.
    await Promise.all(
      live.map(async (member) => {
        if (member.state === "paused") await engine.unpauseContainer(member.id);
        await engine.killContainer(member.id);
      }),
    );
  } else {
    const stopped = members.filter((member) => member.state === "exited" || member.state === "created");
    if (stopped.length === 0) throw new LabError(`host ${options.host} is up: every member of the lab on it runs`, { hint: `take it down with \`repl-lab host down ${options.host}\`` });
    progress.step(`${options.host}: starting ${stopped.map((member) => member.name).join(", ")}`);
    await Promise.all(stopped.map((member) => engine.startContainer(member.id)));
    // Started containers have new network namespaces, without the rules of a cut in force.
    await reloadCut(lab);
  }
  const names = members.map((member) => member.name).join(", ");
  return {
    lab: lab.name,
    host: options.host,
    action: options.action,
    members: members.map((member) => ({ name: member.name, before: member.state })),
    message:
      options.action === "down"
        ? `host ${options.host} is down: ${names} killed at once, as a machine losing power (its engine still answers; its containers' data stays)`
        : `host ${options.host} is up: ${names} started again${lab.manager ? ` (${lab.manager === "patroni" ? "Patroni" : "pg_autoctl"} decides what each becomes)` : "; a leader that was replaced comes back as a second primary: rejoin it"}`,
    elapsed_ms: Date.now() - started,
  };
}

export interface HostInitResult {
  manager: string;
  hosts: { name: string; url: string; state: "joined" | "already a member" | "initialised" }[];
}

/**
 * Joins engines into one swarm: the first becomes its manager (`docker swarm init`) unless it is a
 * manager already; the others join it as workers. Never done unasked (`yes`): it changes the engines.
 */
export async function hostInit(runtime: Runtime, options: { hosts: LabHost[]; yes: boolean }, progress: Progress = silentProgress): Promise<HostInitResult> {
  const engines = hostsEngine(runtime);
  if (!engines) throw new LabError("this engine cannot reach other engines");
  checkHosts(options.hosts, {}, []);
  if (!options.yes) {
    throw new UsageError(`this makes ${options.hosts.map((host) => host.name).join(", ")} one swarm (docker swarm init and join); nothing was changed`, {
      hint: "add --yes to go ahead (a swarm needs 2377/tcp, 7946/tcp+udp and 4789/udp open between the machines)",
    });
  }
  const [first, ...rest] = options.hosts as [LabHost, ...LabHost[]];
  const manager = engines.hostEngine(first);
  const result: HostInitResult = { manager: first.name, hosts: [] };
  const state = await manager.swarm();
  let token: string;
  const address = (host: LabHost) => (/^[\d.]+$/.test(hostAddress(host.url)) ? hostAddress(host.url) : undefined);
  if (state.state === "active") {
    if (!state.manager) throw new LabError(`${first.name} is a swarm worker; the first host must be a manager`, { hint: "name a manager first" });
    token = await manager.swarmWorkerToken();
    result.hosts.push({ name: first.name, url: first.url, state: "already a member" });
  } else {
    progress.step(`${first.name}: docker swarm init`);
    token = await manager.swarmInit(address(first));
    result.hosts.push({ name: first.name, url: first.url, state: "initialised" });
  }
  const managerAddress = `${address(first) ?? hostAddress(first.url)}:2377`;
  const members = new Set(await manager.swarmNodeIds());
  for (const host of rest) {
    const engine = engines.hostEngine(host);
    const own = await engine.swarm();
    if (own.state === "active" && members.has(own.nodeId)) {
      result.hosts.push({ name: host.name, url: host.url, state: "already a member" });
      continue;
    }
    if (own.state === "active") throw new LabError(`${host.name} is in another swarm`, { hint: `leave it first (\`docker swarm leave\` on ${host.name})` });
    progress.step(`${host.name}: docker swarm join ${managerAddress}`);
    await engine.swarmJoin(managerAddress, token, address(host));
    result.hosts.push({ name: host.name, url: host.url, state: "joined" });
  }
  return result;
}
