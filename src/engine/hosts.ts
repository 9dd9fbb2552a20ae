// Labs across engines. HostsEngine is the container engine every command gets: it is the engine
// DOCKER_HOST names (the "home" engine) for every lab, except a lab that has a hosts record on the
// home engine (a labelled volume written by `up --host`). Such a lab's containers and volumes live
// on its hosts, each created by the engine of the host its member is placed on (core/hosts.ts),
// and its network is an attachable overlay network of the hosts' swarm. Listings gather from every
// host; a container's id carries its host ("lab.host/id"), so every later call goes to the engine
// that has it. Nothing above this module knows where a container runs, except through the host
// each listed container names (its published ports are reached at that host's address).
import type { Readable } from "node:stream";
import type { ContainerDetails, ContainerEngine, ContainerSpec, ContainerSummary, ExecResult, ImageDetails, NamedResource, Stdio } from "../core/engine.js";
import { EngineUnreachableError, LabError, ReplLabError } from "../core/errors.js";
import { decodeHosts, hostAddress, placeMember, type LabHost, type LabHosts } from "../core/hosts.js";
import { HOSTS_ROLE, LABEL } from "../core/labels.js";
import { debug } from "../core/log.js";

/** What a host's engine offers beyond a container engine: its swarm, and images copied in. */
export interface HostEngine extends ContainerEngine {
  swarm(): Promise<{ state: string; nodeId: string; manager: boolean; clusterId: string | undefined; managers: string[] }>;
  /** On a manager: the ids of the swarm's nodes. */
  swarmNodeIds(): Promise<string[]>;
  swarmInit(advertiseAddr: string | undefined): Promise<string>;
  swarmWorkerToken(): Promise<string>;
  swarmJoin(manager: string, token: string, advertiseAddr: string | undefined): Promise<void>;
  saveImage(image: string): Promise<Readable>;
  loadImage(tarball: Readable): Promise<void>;
}

/** A host of a lab, as `status` shows it. */
export interface HostReport {
  name: string;
  url: string;
  address: string;
  /** Whether its engine answered (within the ping's 5 s). */
  reachable: boolean;
  /** Its engine's words when it did not. */
  error?: string;
}

const ID = /^([a-z0-9][a-z0-9_-]*)\.([a-z][a-z0-9-]*)\/(.+)$/;

interface Record_ {
  lab: string;
  hosts: LabHosts;
}

export class HostsEngine implements ContainerEngine {
  private readonly engines = new Map<string, HostEngine>();
  /** Records read in this process, by lab. */
  private readonly records = new Map<string, LabHosts>();
  /** Labs known to have no record (one-engine labs), so their calls do not ask again. */
  private readonly plain = new Set<string>();
  /** Images known to be on a host's engine (by url and image), or being copied there. */
  private readonly images = new Map<string, Promise<void>>();
  /** Where a container or volume named so was found. */
  private readonly located = new Map<string, { lab: string; host: string }>();
  private readonly managers = new Map<string, Promise<boolean>>();
  /**
   * Hosts whose engine did not answer, with how it failed and when: for SILENT_FOR_MS later calls
   * are answered at once; then the host is asked again (a dashboard or a watch outlives an outage).
   */
  private readonly silent = new Map<string, { error: EngineUnreachableError; at: number }>();
  /** Record look-ups in flight, shared by the calls that ask at once. */
  private readonly asking = new Map<string, Promise<NamedResource[]>>();

  constructor(
    readonly home: ContainerEngine,
    private readonly open: (url: string) => HostEngine,
  ) {}

  // ---- the record -------------------------------------------------------------------------

  private async allRecords(): Promise<Record_[]> {
    const volumes = await this.home.listVolumes({ [LABEL.managed]: "true", [LABEL.role]: HOSTS_ROLE });
    const found: Record_[] = [];
    for (const volume of volumes) {
      const lab = volume.labels[LABEL.lab] ?? "";
      const hosts = decodeHosts(volume.labels[LABEL.hosts], volume.labels[LABEL.place]);
      if (!lab || !hosts) continue;
      this.records.set(lab, hosts);
      this.plain.delete(lab);
      found.push({ lab, hosts });
    }
    return found;
  }

  /** The lab's hosts, read from its record on the home engine; undefined for a lab on one engine. */
  async labHosts(lab: string, fresh = true): Promise<LabHosts | undefined> {
    if (!fresh) {
      const known = this.records.get(lab);
      if (known || this.plain.has(lab)) return known;
    }
    let asked = this.asking.get(lab);
    if (!asked) {
      asked = this.home.listVolumes({ [LABEL.managed]: "true", [LABEL.lab]: lab, [LABEL.role]: HOSTS_ROLE });
      this.asking.set(lab, asked);
      const forget = () => this.asking.delete(lab);
      asked.then(forget, forget);
    }
    const [volume] = await asked;
    const hosts = volume ? decodeHosts(volume.labels[LABEL.hosts], volume.labels[LABEL.place]) : undefined;
    if (hosts) {
      this.records.set(lab, hosts);
      this.plain.delete(lab);
    } else {
      this.records.delete(lab);
      this.plain.add(lab);
    }
    return hosts;
  }

  /** The engine of one host of a lab. */
  hostEngine(host: LabHost): HostEngine {
    let engine = this.engines.get(host.url);
    if (!engine) {
      engine = this.open(host.url);
      this.engines.set(host.url, engine);
    }
    return engine;
  }

  private hostOf(lab: string, name: string): LabHost {
    const hosts = this.records.get(lab);
    const host = hosts?.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new LabError(`lab "${lab}" has no host "${name}"`, { hint: hosts ? `its hosts are ${hosts.hosts.map((entry) => entry.name).join(", ")}` : "see `repl-lab status`" });
    return host;
  }

  /** Each host of the lab, and whether its engine answers. */
  async reach(lab: string): Promise<HostReport[]> {
    const hosts = await this.labHosts(lab);
    if (!hosts) return [];
    return Promise.all(
      hosts.hosts.map(async (host) => {
        const report: HostReport = { name: host.name, url: host.url, address: hostAddress(host.url), reachable: true };
        try {
          await this.hostEngine(host).ping();
        } catch (error) {
          report.reachable = false;
          report.error = (error as Error).message;
        }
        return report;
      }),
    );
  }

  /**
   * Refuses hosts that cannot carry a lab: each must answer and be an active member of one swarm,
   * with a manager among them (it creates the overlay network). Returns the manager's name.
   */
  async checkSwarm(hosts: LabHosts): Promise<string> {
    const states = await Promise.all(
      hosts.hosts.map(async (host) => {
        try {
          return { host, swarm: await this.hostEngine(host).swarm() };
        } catch (error) {
          throw new EngineUnreachableError(`host ${host.name} (${host.url}) does not answer: ${(error as Error).message}`, {
            hint: "check the engine URL, and that the engine listens there",
          });
        }
      }),
    );
    const outside = states.filter((entry) => entry.swarm.state !== "active");
    if (outside.length > 0) {
      throw new LabError(`host${outside.length > 1 ? "s" : ""} ${outside.map((entry) => entry.host.name).join(", ")} ${outside.length > 1 ? "are" : "is"} not in a swarm; nothing was created`, {
        hint: "join the hosts into one swarm (`docker swarm init` on one, `docker swarm join` on the others), or let `repl-lab host init --host a=URL --host b=URL --yes` do it",
      });
    }
    const manager = states.find((entry) => entry.swarm.manager);
    if (!manager) throw new LabError("none of the hosts is a swarm manager; nothing was created", { hint: "name a manager of the swarm among the hosts: the lab's overlay network is created there" });
    const members = new Set(await this.hostEngine(manager.host).swarmNodeIds());
    const strangers = states.filter((entry) => !members.has(entry.swarm.nodeId));
    if (strangers.length > 0) {
      throw new LabError(`host${strangers.length > 1 ? "s" : ""} ${strangers.map((entry) => entry.host.name).join(", ")} ${strangers.length > 1 ? "are" : "is"} in another swarm than ${manager.host.name}; nothing was created`, {
        hint: "a lab's hosts must be members of one swarm",
      });
    }
    this.managers.set(manager.host.url, Promise.resolve(true));
    return manager.host.name;
  }

  private isManager(host: LabHost): Promise<boolean> {
    let known = this.managers.get(host.url);
    if (!known) {
      known = this.hostEngine(host)
        .swarm()
        .then((swarm) => swarm.manager);
      this.managers.set(host.url, known);
    }
    return known;
  }

  /** Copies an image from the home engine to a host whose engine lacks it (once per process). */
  async ensureImage(host: LabHost, image: string, onCopy?: () => void): Promise<void> {
    const key = `${host.url} ${image}`;
    let ready = this.images.get(key);
    if (!ready) {
      ready = (async () => {
        const engine = this.hostEngine(host);
        if (await engine.inspectImage(image)) return;
        const home = this.home as Partial<HostEngine>;
        if (!home.saveImage || !(await this.home.inspectImage(image))) {
          if (await engine.pullImage(image, { timeoutMs: 300_000 })) return;
          throw new LabError(`host ${host.name} has no image ${image}, and neither this engine nor a registry could give it`, { hint: `pull or build ${image} on ${host.name} (\`repl-lab image build\` there)` });
        }
        onCopy?.();
        debug(`copying ${image} to ${host.name}`);
        await engine.loadImage(await home.saveImage(image));
      })();
      this.images.set(key, ready);
      ready.catch(() => this.images.delete(key));
    }
    return ready;
  }

  // ---- routing ----------------------------------------------------------------------------

  private prefixed(lab: string, host: string, id: string): string {
    return `${lab}.${host}/${id}`;
  }

  /** The engine and the engine's own id for an id or a name this engine gave or a listing showed. */
  private async route(ref: string, search = false): Promise<{ engine: ContainerEngine; id: string; lab?: string; host?: LabHost }> {
    const match = ID.exec(ref);
    if (match) {
      const [, lab, hostName, id] = match as unknown as [string, string, string, string];
      if (!this.records.has(lab)) await this.labHosts(lab);
      const host = this.hostOf(lab, hostName);
      return { engine: this.hostEngine(host), id, lab, host };
    }
    const located = this.located.get(ref) ?? (search && ref.startsWith("repl-lab-") ? await this.locate(ref) : undefined);
    if (located) {
      const host = this.hostOf(located.lab, located.host);
      return { engine: this.hostEngine(host), id: ref, lab: located.lab, host };
    }
    return { engine: this.home, id: ref };
  }

  /** Finds a container named `name` on the hosts of the lab whose name it starts with (longest such lab first). */
  private async locate(name: string): Promise<{ lab: string; host: string } | undefined> {
    const labs = (await this.allRecords())
      .map((record) => record.lab)
      .filter((lab) => name.startsWith(`repl-lab-${lab}-`))
      .sort((a, b) => b.length - a.length);
    for (const lab of labs) {
      const hosts = this.records.get(lab)!;
      const found = await Promise.all(
        hosts.hosts.map((host) =>
          this.hostEngine(host)
            .inspectContainer(name)
            .then(() => host.name, () => undefined),
        ),
      );
      const host = found.find((entry) => entry !== undefined);
      if (host) {
        this.located.set(name, { lab, host });
        return { lab, host };
      }
    }
    return undefined;
  }

  /** The host a new container or volume of a lab goes to. */
  private async placeOf(lab: string, hosts: LabHosts, labels: Record<string, string> | undefined, spec?: ContainerSpec): Promise<LabHost> {
    const member = labels?.[LABEL.node];
    const helper = member === undefined || member.startsWith("_");
    if (!helper) return this.hostOf(lab, placeMember(member, hosts));
    if (spec?.networkOf) {
      const routed = await this.route(spec.networkOf);
      if (routed.host) return routed.host;
    }
    const volume = spec?.mounts?.[0]?.volume;
    if (volume) return this.hostOf(lab, this.volumeHost(lab, hosts, volume));
    return this.hostOf(lab, placeMember("", hosts));
  }

  /** A node's volume is on its node's host: repl-lab-<lab>-<node>-data. */
  private volumeHost(lab: string, hosts: LabHosts, volume: string): string {
    const located = this.located.get(`volume:${volume}`);
    if (located) return located.host;
    const prefix = `repl-lab-${lab}-`;
    const node = volume.startsWith(prefix) && volume.endsWith("-data") ? volume.slice(prefix.length, -"-data".length) : "";
    return placeMember(node, hosts);
  }

  private tag(lab: string, host: LabHost, container: ContainerSummary): ContainerSummary {
    this.located.set(container.name, { lab, host: host.name });
    return { ...container, id: this.prefixed(lab, host.name, container.id), host: { name: host.name, address: hostAddress(host.url) } };
  }

  /** A listing gathered from every host of the lab (or of every lab with hosts, for `ls`), with the home engine's. */
  private async gather<T>(
    labels: Record<string, string>,
    home: () => Promise<T[]>,
    onHost: (engine: HostEngine, lab: string, host: LabHost) => Promise<T[]>,
  ): Promise<T[]> {
    const lab = labels[LABEL.lab];
    const [own, records] = await Promise.all([home(), lab ? this.labHosts(lab).then((hosts) => (hosts ? [{ lab, hosts }] : [])) : this.allRecords()]);
    const seen = new Set<string>();
    const lists = await Promise.all(
      records.flatMap((record) =>
        record.hosts.hosts.map(async (host) => {
          if (seen.has(`${record.lab} ${host.url}`)) return [];
          seen.add(`${record.lab} ${host.url}`);
          try {
            const known = this.silent.get(host.url);
            if (known && performance.now() - known.at < SILENT_FOR_MS) throw known.error;
            const listed = await withinBound(onHost(this.hostEngine(host), record.lab, host), LISTING_BOUND_MS);
            this.silent.delete(host.url);
            return listed;
          } catch (error) {
            // Listing every lab (`ls`), a lab with a host that fails is shown without what is there.
            if (!(error instanceof EngineUnreachableError)) {
              if (!lab && error instanceof ReplLabError) {
                this.silent.set(host.url, { error: new EngineUnreachableError(error.message), at: performance.now() });
                return [];
              }
              throw error;
            }
            // Asked once: every later call of this process is answered at once.
            this.silent.set(host.url, { error, at: performance.now() });
            if (!lab) return [];
            throw unreachable(record.lab, host, error);
          }
        }),
      ),
    );
    return [...own, ...lists.flat()];
  }

  /** The hosts of a lab whose engines did not answer a listing of this process. */
  silentHosts(lab: string): LabHost[] {
    return (this.records.get(lab)?.hosts ?? []).filter((host) => this.silent.has(host.url));
  }

  // ---- the engine ------------------------------------------------------------------------

  async ping(): Promise<void> {
    await this.home.ping();
  }

  inspectImage(image: string): Promise<ImageDetails | undefined> {
    return this.home.inspectImage(image);
  }

  pullImage(image: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<boolean> {
    return this.home.pullImage(image, options);
  }

  importImage(tarball: Readable, repo: string, tag: string, changes: string[]): Promise<void> {
    return this.home.importImage(tarball, repo, tag, changes);
  }

  async createNetwork(name: string, labels: Record<string, string>, options?: { driver?: "bridge" | "overlay" }): Promise<void> {
    const lab = labels[LABEL.lab];
    const hosts = lab ? await this.labHosts(lab, false) : undefined;
    if (!lab || !hosts) return this.home.createNetwork(name, labels, options);
    for (const host of hosts.hosts) {
      if (await this.isManager(host)) return this.hostEngine(host).createNetwork(name, labels, { driver: "overlay" });
    }
    throw new LabError(`none of lab "${lab}"'s hosts is a swarm manager`, { hint: "the lab's overlay network is created on a manager" });
  }

  async listNetworks(labels: Record<string, string>): Promise<(NamedResource & { id: string })[]> {
    // An overlay network shows on every engine a container of it runs on; it is listed (and removed) on a manager only.
    return this.gather(
      labels,
      () => this.home.listNetworks(labels),
      async (engine, lab, host) => ((await this.isManager(host)) ? (await engine.listNetworks(labels)).map((network) => ({ ...network, id: this.prefixed(lab, host.name, network.id) })) : []),
    ).then((networks) => {
      const own = (id: string) => id.slice(id.indexOf("/") + 1);
      return networks.filter((network, index) => networks.findIndex((other) => own(other.id) === own(network.id)) === index);
    });
  }

  async removeNetwork(id: string): Promise<void> {
    const routed = await this.route(id);
    await routed.engine.removeNetwork(routed.id);
  }

  connectNetwork(network: string, container: string, aliases: string[]): Promise<void> {
    return this.on(container, (engine, own) => engine.connectNetwork(network, own, aliases));
  }

  disconnectNetwork(network: string, container: string): Promise<void> {
    return this.on(container, (engine, own) => engine.disconnectNetwork(network, own));
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    const lab = labels[LABEL.lab];
    if (labels[LABEL.role] === HOSTS_ROLE) {
      await this.home.createVolume(name, labels);
      if (lab) await this.labHosts(lab);
      return;
    }
    const hosts = lab ? await this.labHosts(lab, false) : undefined;
    if (!lab || !hosts) return this.home.createVolume(name, labels);
    const host = this.hostOf(lab, this.volumeHost(lab, hosts, name));
    await this.hostEngine(host).createVolume(name, { ...labels, [LABEL.host]: host.name });
  }

  async listVolumes(labels: Record<string, string>): Promise<NamedResource[]> {
    return this.gather(
      labels,
      () => this.home.listVolumes(labels),
      async (engine, lab, host) =>
        (await engine.listVolumes(labels)).map((volume) => {
          this.located.set(`volume:${volume.name}`, { lab, host: host.name });
          return volume;
        }),
    );
  }

  async removeVolume(name: string): Promise<void> {
    const located = this.located.get(`volume:${name}`);
    if (!located) return this.home.removeVolume(name);
    await this.hostEngine(this.hostOf(located.lab, located.host)).removeVolume(name);
    this.located.delete(`volume:${name}`);
  }

  /** Where a new container goes, and its spec as that host's engine takes it. */
  private async placed(spec: ContainerSpec): Promise<{ engine: ContainerEngine; spec: ContainerSpec; lab?: string; host?: LabHost }> {
    const lab = spec.labels?.[LABEL.lab];
    const hosts = lab ? await this.labHosts(lab, false) : undefined;
    if (!lab || !hosts) return { engine: this.home, spec };
    const host = await this.placeOf(lab, hosts, spec.labels, spec);
    await this.ensureImage(host, spec.image);
    // A container that joins another's network namespace names it by that engine's own id.
    const networkOf = spec.networkOf === undefined ? undefined : (await this.route(spec.networkOf, true)).id;
    return {
      engine: this.hostEngine(host),
      lab,
      host,
      spec: {
        ...spec,
        ...(networkOf === undefined ? {} : { networkOf }),
        labels: { ...spec.labels, [LABEL.host]: host.name },
        // Published on every interface of the host: the ports are reached from another machine.
        ports: spec.ports?.map((port) => ({ ...port, hostIp: "0.0.0.0" })),
      },
    };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const placed = await this.placed(spec);
    const id = await placed.engine.createContainer(placed.spec);
    if (!placed.lab || !placed.host) return id;
    this.located.set(spec.name, { lab: placed.lab, host: placed.host.name });
    return this.prefixed(placed.lab, placed.host.name, id);
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return this.gather(
      labels,
      () => this.home.listContainers(labels),
      async (engine, lab, host) => (await engine.listContainers(labels)).filter((container) => container.labels[LABEL.lab] === lab).map((container) => this.tag(lab, host, container)),
    );
  }

  inspectContainer(id: string): Promise<ContainerDetails> {
    return this.on(id, async (engine, own, routed) => {
      const details = await engine.inspectContainer(own);
      return routed.lab && routed.host ? { ...details, id: this.prefixed(routed.lab, routed.host.name, details.id) } : details;
    });
  }

  /**
   * Runs a call on the engine that has the container. A name nobody located yet is first asked of
   * the home engine (where every one-engine lab is, at no extra cost to it); when the home engine
   * has no such container, of the hosts of the lab the name belongs to.
   */
  private async on<T>(ref: string, call: (engine: ContainerEngine, id: string, routed: { lab?: string; host?: LabHost }) => Promise<T>): Promise<T> {
    const routed = await this.route(ref);
    try {
      return await call(routed.engine, routed.id, routed);
    } catch (error) {
      if (routed.engine !== this.home || !ref.startsWith("repl-lab-") || !(error instanceof LabError) || !/no such container/i.test(error.message)) throw error;
      const found = await this.route(ref, true);
      if (found.engine === this.home) throw error;
      return call(found.engine, found.id, found);
    }
  }

  startContainer(id: string): Promise<void> {
    return this.on(id, (engine, own) => engine.startContainer(own));
  }

  stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
    return this.on(id, (engine, own) => engine.stopContainer(own, timeoutSeconds));
  }

  restartContainer(id: string, timeoutSeconds?: number): Promise<void> {
    return this.on(id, (engine, own) => engine.restartContainer(own, timeoutSeconds));
  }

  killContainer(id: string): Promise<void> {
    return this.on(id, (engine, own) => engine.killContainer(own));
  }

  pauseContainer(id: string): Promise<void> {
    return this.on(id, (engine, own) => engine.pauseContainer(own));
  }

  unpauseContainer(id: string): Promise<void> {
    return this.on(id, (engine, own) => engine.unpauseContainer(own));
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.on(id, async (engine, own, routed) => {
      await engine.renameContainer(own, name);
      if (routed.lab && routed.host) this.located.set(name, { lab: routed.lab, host: routed.host.name });
    });
  }

  removeContainer(id: string): Promise<void> {
    return this.on(id, (engine, own) => engine.removeContainer(own));
  }

  fileExists(id: string, path: string): Promise<boolean> {
    return this.on(id, (engine, own) => engine.fileExists(own, path));
  }

  logs(id: string, tail: number): Promise<string[]> {
    return this.on(id, (engine, own) => engine.logs(own, tail));
  }

  cpuUsageNs(id: string): Promise<number> {
    return this.on(id, (engine, own) => engine.cpuUsageNs(own));
  }

  async *streamLogs(id: string, options: { follow: boolean; tail: number | "all" }): AsyncIterable<Buffer> {
    const routed = await this.route(id, true);
    yield* routed.engine.streamLogs(routed.id, options);
  }

  exec(id: string, cmd: string[], options?: { user?: string; env?: Record<string, string> }): Promise<ExecResult> {
    return this.on(id, (engine, own) => engine.exec(own, cmd, options));
  }

  execAttached(id: string, cmd: string[], options: { user?: string; stdio: Stdio }): Promise<number> {
    return this.on(id, (engine, own) => engine.execAttached(own, cmd, options));
  }

  async runToCompletion(spec: ContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult> {
    const placed = await this.placed(spec);
    return placed.engine.runToCompletion(placed.spec, options);
  }
}

/**
 * How long a host's listing may take. An engine whose machine is gone can take minutes to fail (a
 * connection to an address nobody answers for); its listings are short when it does answer.
 */
const LISTING_BOUND_MS = 10_000;

/** How long a host that did not answer is taken as silent without asking it again. */
const SILENT_FOR_MS = 5_000;

async function withinBound<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EngineUnreachableError(`(no answer within ${ms / 1000} s)`)), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(lab: string, host: LabHost, error: EngineUnreachableError): EngineUnreachableError {
  return new EngineUnreachableError(`host ${host.name} (${host.url}) of lab "${lab}" does not answer: ${error.message.replace(/^cannot reach the Docker engine /, "")}`, {
    hint: `bring its engine back, or remove the lab from the other hosts with \`repl-lab down --lab ${lab}\``,
    cause: error,
  });
}
