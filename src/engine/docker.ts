// The Docker adapter: the only module of the product that knows dockerode (src/bench/engines.ts,
// which runs engines inside containers for the tests and the bench, aside). Every call is logged
// around (with DEBUG) and every failure becomes one of repl-lab's errors: an engine that does not
// answer is EngineUnreachableError (exit 3), anything the engine refuses is a LabError (exit 1) in
// its words.
import Docker from "dockerode";
import dockerModemSshAgent from "docker-modem/lib/ssh.js";
import { readFileSync } from "node:fs";
import { Agent, type ClientRequestArgs } from "node:http";
import { join } from "node:path";
import { PassThrough, type Duplex, type Readable } from "node:stream";
import { EngineUnreachableError, InterruptedError, LabError, PortTakenError, ReplLabError } from "../core/errors.js";
import { retryUntil } from "../core/retry.js";
import { debug } from "../core/log.js";
import type {
  ContainerDetails,
  ContainerEngine,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  ExecResult,
  ImageDetails,
  NamedResource,
  Stdio,
} from "../core/engine.js";

const ENGINE_HINT = "start a Docker engine (on Debian as root, `npm run setup` installs and starts one) or set DOCKER_HOST";

/** ssh2's kinds of failure of an ssh:// engine's connection (its errors carry a level, not a code). */
const SSH_CONNECTION_LEVELS = new Set(["client-socket", "client-dns", "client-timeout", "client-authentication", "agent", "handshake", "protocol"]);

function isConnectionError(error: unknown): boolean {
  const { code, level } = (error ?? {}) as { code?: string; level?: string };
  if (level !== undefined && SSH_CONNECTION_LEVELS.has(level)) return true;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EHOSTUNREACH";
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json?.message) return json.message;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, "").trim();
}

function labelFilter(labels: Record<string, string>): string {
  return JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) });
}

function envList(env: Record<string, string> | undefined): string[] | undefined {
  return env ? Object.entries(env).map(([key, value]) => `${key}=${value}`) : undefined;
}

function envRecord(list: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of list ?? []) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

/** An engine id as `docker ps` shows it (12 hex digits); a name as it is. */
const short = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);

/** The engine API's container body for a spec. */
function createBody(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports ?? []) {
    const key = `${port.containerPort}/tcp`;
    exposed[key] = {};
    bindings[key] = [{ HostIp: port.hostIp, HostPort: port.hostPort === undefined ? "" : String(port.hostPort) }];
  }
  return {
    name: spec.name,
    Image: spec.image,
    Entrypoint: spec.entrypoint,
    Cmd: spec.cmd,
    Env: envList(spec.env),
    Labels: spec.labels,
    User: spec.user,
    StopSignal: spec.stopSignal,
    StopTimeout: spec.stopTimeoutSeconds,
    ExposedPorts: spec.ports ? exposed : undefined,
    HostConfig: {
      Binds: spec.mounts?.map((mount) => `${mount.volume}:${mount.target}`),
      PortBindings: spec.ports ? bindings : undefined,
      NetworkMode: spec.networkOf ? `container:${spec.networkOf}` : spec.network?.name,
      ShmSize: spec.shmSizeBytes,
      CapAdd: spec.capAdd,
    },
    NetworkingConfig: spec.network && !spec.networkOf ? { EndpointsConfig: { [spec.network.name]: { Aliases: spec.network.aliases } } } : undefined,
  };
}

/**
 * Connections to an ssh:// engine, each one docker-modem's own (`docker system dial-stdio` in a new
 * ssh session, as docker-modem makes one per request). Requests go over them addressed as http:
 * with protocol "ssh", docker-modem writes their address without `//` after the scheme
 * ("ssh:host:port/…"), and Node warns at every request that the URL is invalid (DEP0170; reported
 * upstream as apocas/docker-modem#184). The ssh settings are the ones docker-modem takes from
 * DOCKER_HOST: its host, port and user, and the agent at SSH_AUTH_SOCK.
 */
class SshEngineAgent extends Agent {
  private readonly ssh: { host: string; port: number | undefined; username: string; agent: string | undefined };

  constructor(dockerHost: string) {
    super();
    const url = new URL(dockerHost);
    this.ssh = { host: url.hostname, port: url.port ? Number(url.port) : undefined, username: url.username, agent: process.env.SSH_AUTH_SOCK };
  }

  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return dockerModemSshAgent(this.ssh).createConnection(options, callback);
  }
}

/**
 * The engine DOCKER_HOST names, as dockerode finds it. On a local socket, requests go through an
 * agent that gives TLS no server name: otherwise Node works one out of each request's Host header
 * ("localhost"), and its first test of whether that is an IPv6 address compiles a regular
 * expression that took 7 ms of a 220 ms `repl-lab status`. Engines over tcp keep dockerode's agents;
 * ssh engines get SshEngineAgent.
 */
function localDocker(): Docker {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith("unix://")) {
    try {
      if (host.startsWith("ssh://")) return new Docker({ protocol: "http", agent: new SshEngineAgent(host) } as Docker.DockerOptions);
      // docker-modem reads DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem here, when DOCKER_TLS_VERIFY is set.
      return new Docker();
    } catch (error) {
      throw new EngineUnreachableError(`cannot use the Docker engine at ${host} (${engineMessage(error)})`, {
        hint: "check DOCKER_HOST, and DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (a folder with the engine's ca.pem, cert.pem and key.pem)",
        cause: error,
      });
    }
  }
  // docker-modem takes an agent; dockerode's types and Node's leave out the option and the field.
  // Connections are kept between requests, as with Node's global agent that dockerode uses otherwise.
  const agent = new Agent({ keepAlive: true, servername: "" } as ConstructorParameters<typeof Agent>[0]);
  return new Docker({ agent } as Docker.DockerOptions);
}

/**
 * A client of the engine at `url`, written as DOCKER_HOST takes it: unix:///path, tcp://host:port
 * (TLS when DOCKER_TLS_VERIFY is set, with DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem, as the
 * docker CLI does) or ssh://user@host. One lab's hosts each get one (engine/hosts.ts).
 */
export function dockerAt(url: string): Docker {
  try {
    if (url.startsWith("ssh://")) return new Docker({ protocol: "http", agent: new SshEngineAgent(url) } as Docker.DockerOptions);
    if (url.startsWith("unix://")) return new Docker({ socketPath: url.slice("unix://".length) });
    const parsed = new URL(url.replace(/^tcp:/, "http:"));
    const tls = Boolean(process.env.DOCKER_TLS_VERIFY) || parsed.protocol === "https:";
    const certs = process.env.DOCKER_CERT_PATH;
    return new Docker({
      protocol: tls ? "https" : "http",
      host: parsed.hostname.replace(/^\[|\]$/g, ""),
      port: Number(parsed.port || (tls ? 2376 : 2375)),
      ...(tls && certs ? { ca: readFileSync(join(certs, "ca.pem")), cert: readFileSync(join(certs, "cert.pem")), key: readFileSync(join(certs, "key.pem")) } : {}),
    });
  } catch (error) {
    throw new EngineUnreachableError(`cannot use the Docker engine at ${url} (${engineMessage(error)})`, {
      hint: "an engine URL is unix:///path, tcp://host:port or ssh://user@host; with TLS, set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH",
      cause: error,
    });
  }
}

/** An engine's place in a swarm, from its `docker info`. */
export interface SwarmState {
  /** inactive, pending, active, error, locked */
  state: string;
  nodeId: string;
  /** A manager: it can create overlay networks. */
  manager: boolean;
  /** The swarm's id (managers only know it). */
  clusterId: string | undefined;
  /** Address:port of the managers it knows. */
  managers: string[];
}

export class DockerEngine implements ContainerEngine {
  constructor(private readonly docker: Docker = localDocker()) {}

  /** This engine's swarm membership (engine/hosts.ts checks a lab's hosts share one). */
  async swarm(): Promise<SwarmState> {
    const info = (await this.call("engine info", () => this.docker.info())) as {
      Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean; Cluster?: { ID?: string }; RemoteManagers?: { Addr?: string }[] | null };
    };
    const swarm = info.Swarm ?? {};
    return {
      state: swarm.LocalNodeState ?? "inactive",
      nodeId: swarm.NodeID ?? "",
      manager: swarm.ControlAvailable === true,
      clusterId: swarm.Cluster?.ID || undefined,
      managers: (swarm.RemoteManagers ?? []).map((manager) => manager.Addr ?? "").filter(Boolean),
    };
  }

  /** On a manager: the ids of the swarm's nodes (`docker node ls`). */
  async swarmNodeIds(): Promise<string[]> {
    const nodes = (await this.call("list swarm nodes", () => this.docker.listNodes())) as { ID?: string }[];
    return nodes.map((node) => node.ID ?? "").filter(Boolean);
  }

  /** `docker swarm init`: this engine becomes a swarm's first manager; returns the worker join token. */
  async swarmInit(advertiseAddr: string | undefined): Promise<string> {
    return this.call("swarm init", async () => {
      await this.docker.swarmInit({ ListenAddr: "0.0.0.0:2377", ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}) });
      const swarm = (await this.docker.swarmInspect()) as { JoinTokens?: { Worker?: string } };
      return swarm.JoinTokens?.Worker ?? "";
    });
  }

  /** The worker join token of the swarm this engine manages. */
  async swarmWorkerToken(): Promise<string> {
    return this.call("swarm inspect", async () => ((await this.docker.swarmInspect()) as { JoinTokens?: { Worker?: string } }).JoinTokens?.Worker ?? "");
  }

  /** `docker swarm join` as a worker of the swarm whose manager is at `manager` (host:2377). */
  async swarmJoin(manager: string, token: string, advertiseAddr: string | undefined): Promise<void> {
    await this.call(`swarm join ${manager}`, () =>
      this.docker.swarmJoin({ ListenAddr: "0.0.0.0:2377", RemoteAddrs: [manager], JoinToken: token, ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}) }),
    );
  }

  /** An image as `docker save` writes it (a tar stream), for another engine's loadImage. */
  async saveImage(image: string): Promise<Readable> {
    return this.call(`save image ${image}`, () => this.docker.getImage(image).get() as Promise<Readable>);
  }

  /** Loads what saveImage wrote (`docker load`). */
  async loadImage(tarball: Readable): Promise<void> {
    await this.call("load image", async () => {
      const stream = (await this.docker.loadImage(tarball as never, { quiet: true } as never)) as unknown as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
    });
  }

  /**
   * Runs one engine call with debug lines around it and maps its failure: no engine is
   * EngineUnreachableError, a refusal is a LabError in the engine's words, ours pass through.
   */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    debug(`${what}…`);
    try {
      const result = await run();
      debug(`${what}: done in ${Date.now() - started} ms`);
      return result;
    } catch (error) {
      debug(`${what}: failed after ${Date.now() - started} ms: ${engineMessage(error)}`);
      if (error instanceof ReplLabError) throw error;
      if (isConnectionError(error)) {
        throw new EngineUnreachableError(`cannot reach the Docker engine (${engineMessage(error)})`, { hint: ENGINE_HINT, cause: error });
      }
      if (statusCode(error) !== undefined) throw new LabError(`Docker engine: ${what}: ${engineMessage(error)}`, { cause: error });
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.call("ping engine", async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("no answer within 5 s"), { code: "ETIMEDOUT" })), 5000);
      });
      try {
        await Promise.race([this.docker.ping(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    });
  }

  async inspectImage(image: string): Promise<ImageDetails | undefined> {
    return this.call(`inspect image ${image}`, async () => {
      try {
        const info = await this.docker.getImage(image).inspect();
        return { env: envRecord(info.Config?.Env), volumes: Object.keys(info.Config?.Volumes ?? {}) };
      } catch (error) {
        if (statusCode(error) === 404) return undefined;
        throw error;
      }
    });
  }

  async pullImage(image: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<boolean> {
    return this.call(`pull ${image}`, async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      const onAbort = () => controller.abort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const stream = await this.docker.pull(image, { abortSignal: controller.signal });
        await new Promise<void>((resolve, reject) => {
          // An abort ends the HTTP request; the progress stream may never say so itself.
          controller.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
          this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
        });
        return true;
      } catch (error) {
        if (options.signal?.aborted) throw new InterruptedError(`interrupted while pulling ${image}`);
        if (isConnectionError(error) && !controller.signal.aborted) throw error;
        debug(`pull ${image} failed: ${engineMessage(error)}`);
        return false;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      }
    });
  }

  async importImage(tarball: Readable, repo: string, tag: string, changes: string[]): Promise<void> {
    await this.call(`import image ${repo}:${tag}`, async () => {
      const stream = (await this.docker.importImage(tarball as never, { repo, tag, changes } as never)) as unknown as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
      );
    });
  }

  async createNetwork(name: string, labels: Record<string, string>, options: { driver?: "bridge" | "overlay" } = {}): Promise<void> {
    await this.call(`create network ${name}`, async () => {
      try {
        const overlay = options.driver === "overlay";
        // An overlay network is attachable: containers that plain engines of the swarm create join it.
        await this.docker.createNetwork({ Name: name, Driver: overlay ? "overlay" : "bridge", ...(overlay ? { Attachable: true } : {}), Labels: labels, CheckDuplicate: true });
      } catch (error) {
        if (statusCode(error) === 409) throw new LabError(`network ${name} already exists`, { cause: error });
        throw error;
      }
    });
  }

  async listNetworks(labels: Record<string, string>): Promise<(NamedResource & { id: string })[]> {
    const found = await this.call(`list networks ${labelFilter(labels)}`, () => this.docker.listNetworks({ filters: labelFilter(labels) }));
    return found.map((network) => ({ id: network.Id, name: network.Name, labels: network.Labels ?? {} }));
  }

  async removeNetwork(id: string): Promise<void> {
    const what = `remove network ${short(id)}`;
    await this.call(what, async () => {
      const network = this.docker.getNetwork(id);
      let busy: unknown;
      const removed = async (): Promise<true | undefined> => {
        try {
          await network.remove();
          return true;
        } catch (error) {
          if (statusCode(error) === 404) return true;
          if (!/active endpoints/.test(engineMessage(error))) throw error;
          busy = error;
          return undefined;
        }
      };
      // The engine may still be detaching a container that was just removed ("has active endpoints").
      const patience = performance.now() + 2000;
      const detached = await retryUntil(async () => (await removed()) ?? (performance.now() > patience ? false : undefined), {
        timeoutMs: 5000,
        intervalMs: 250,
        onTimeout: () => busy as Error,
      });
      if (detached) return;
      // Still attached after that: a container from outside the lab (one a user connected to the lab's
      // network), disconnected by force. An endpoint the engine lists on no container (Docker 20.10
      // kept one once after a seventeen-node lab's removal) cannot be disconnected, and only a restart
      // of the engine clears it: the error says so.
      const details = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, { Name?: string }> } | undefined;
      await Promise.all(Object.entries(details?.Containers ?? {}).map(([endpoint, entry]) => network.disconnect({ Container: entry.Name ?? endpoint, Force: true }).catch(() => undefined)));
      await retryUntil(removed, {
        timeoutMs: 8000,
        intervalMs: 250,
        onTimeout: () =>
          new LabError(`Docker engine: ${what}: ${engineMessage(busy)}`, {
            hint: "no container is attached to it any more: the engine kept a stale endpoint; restarting the Docker engine clears it, then run `repl-lab down` again",
            cause: busy,
          }),
      });
    });
  }

  async connectNetwork(network: string, container: string, aliases: string[]): Promise<void> {
    await this.call(`connect ${short(container)} to ${network}`, () =>
      this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: aliases } }),
    );
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    await this.call(`disconnect ${short(container)} from ${network}`, () =>
      this.docker.getNetwork(network).disconnect({ Container: container, Force: true }),
    );
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.call(`create volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: labels }));
  }

  async listVolumes(labels: Record<string, string>): Promise<NamedResource[]> {
    const found = await this.call(`list volumes ${labelFilter(labels)}`, () => this.docker.listVolumes({ filters: labelFilter(labels) }));
    return (found.Volumes ?? []).map((volume) => ({ name: volume.Name, labels: volume.Labels ?? {} }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(`remove volume ${name}`, async () => {
      try {
        await this.docker.getVolume(name).remove();
      } catch (error) {
        if (statusCode(error) !== 404) throw error;
      }
    });
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const container = await this.call(`create container ${spec.name}`, async () => {
      try {
        return await this.docker.createContainer(createBody(spec));
      } catch (error) {
        if (statusCode(error) === 404 && /image/i.test(engineMessage(error))) {
          throw new LabError(`image ${spec.image} is not on this engine`, {
            hint: "build it with `repl-lab image build --pg 17`, or choose another with --image",
            cause: error,
          });
        }
        if (statusCode(error) === 409) throw new LabError(`a container named ${spec.name} already exists`, { cause: error });
        throw error;
      }
    });
    return container.id;
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const found = await this.call(`list containers ${labelFilter(labels)}`, () =>
      this.docker.listContainers({ all: true, filters: labelFilter(labels) }),
    );
    return found.map((info) => ({
      id: info.Id,
      name: (info.Names[0] ?? info.Id).replace(/^\//, ""),
      labels: info.Labels ?? {},
      state: info.State as ContainerState,
      status: info.Status,
      ports: info.Ports.filter((port) => port.PublicPort).map((port) => ({
        containerPort: port.PrivatePort,
        hostIp: port.IP ?? "",
        hostPort: port.PublicPort,
      })),
      networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
      addresses: Object.fromEntries(
        Object.entries(info.NetworkSettings?.Networks ?? {})
          .filter(([, endpoint]) => endpoint.IPAddress)
          .map(([network, endpoint]) => [network, endpoint.IPAddress]),
      ),
    }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails> {
    const info = await this.call(`inspect container ${short(id)}`, () => this.docker.getContainer(id).inspect());
    const config = info.Config as Docker.ContainerInspectInfo["Config"] & { StopSignal?: string; StopTimeout?: number };
    const ports = Object.entries(info.HostConfig.PortBindings ?? {}).flatMap(([key, bindings]) =>
      ((bindings ?? []) as { HostIp?: string; HostPort?: string }[]).map((binding) => ({
        containerPort: Number(key.split("/")[0]),
        hostIp: binding.HostIp ?? "",
        hostPort: binding.HostPort ? Number(binding.HostPort) : undefined,
      })),
    );
    const [networkName, endpoint] = Object.entries(info.NetworkSettings.Networks ?? {})[0] ?? [];
    const spec: ContainerSpec = {
      name: info.Name.replace(/^\//, ""),
      image: config.Image,
      entrypoint: typeof config.Entrypoint === "string" ? [config.Entrypoint] : config.Entrypoint ?? undefined,
      cmd: config.Cmd ?? undefined,
      env: envRecord(config.Env),
      labels: config.Labels ?? {},
      user: config.User || undefined,
      mounts: (info.Mounts ?? [])
        .filter((mount) => mount.Type === "volume" && mount.Name)
        .map((mount) => ({ volume: mount.Name!, target: mount.Destination })),
      // Docker adds the container's short id as an alias; keep only the names given.
      network: networkName ? { name: networkName, aliases: ((endpoint?.Aliases ?? []) as string[]).filter((alias) => !info.Id.startsWith(alias)) } : undefined,
      ports,
      stopSignal: config.StopSignal,
      stopTimeoutSeconds: config.StopTimeout,
      shmSizeBytes: info.HostConfig.ShmSize,
      capAdd: info.HostConfig.CapAdd ?? undefined,
    };
    return {
      id: info.Id,
      spec,
      state: info.State.Status as ContainerState,
      exitCode: info.State.Running ? undefined : info.State.ExitCode,
    };
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${short(id)}`, async () => {
      try {
        await this.docker.getContainer(id).start();
      } catch (error) {
        const message = engineMessage(error);
        if (/port is already allocated|address already in use/i.test(message)) {
          throw new PortTakenError(`a host port is taken: ${message}`, { hint: "choose another --port, or leave it out", cause: error });
        }
        if (statusCode(error) === 304) return; // already running
        throw error;
      }
    });
  }

  async stopContainer(id: string, timeoutSeconds = 30): Promise<void> {
    await this.call(`stop container ${short(id)}`, async () => {
      try {
        await this.docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (error) {
        if (statusCode(error) !== 304) throw error;
      }
    });
  }

  async restartContainer(id: string, timeoutSeconds = 30): Promise<void> {
    await this.call(`restart container ${short(id)}`, () => this.docker.getContainer(id).restart({ t: timeoutSeconds }));
  }

  async killContainer(id: string): Promise<void> {
    await this.call(`kill container ${short(id)}`, async () => {
      try {
        await this.docker.getContainer(id).kill({ signal: "SIGKILL" });
      } catch (error) {
        if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
      }
    });
  }

  async pauseContainer(id: string): Promise<void> {
    await this.call(`pause container ${short(id)}`, () => this.docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.call(`unpause container ${short(id)}`, () => this.docker.getContainer(id).unpause());
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call(`rename container ${short(id)} to ${name}`, () => this.docker.getContainer(id).rename({ name }));
  }

  async removeContainer(id: string): Promise<void> {
    await this.call(`remove container ${short(id)}`, async () => {
      try {
        await this.docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        if (statusCode(error) !== 404) throw error;
      }
    });
  }

  async fileExists(id: string, path: string): Promise<boolean> {
    return this.call(`stat ${path} in ${short(id)}`, async () => {
      try {
        // HEAD answers with a stream; left open, its socket would keep the process alive for minutes.
        const response = (await this.docker.getContainer(id).infoArchive({ path })) as unknown as { destroy?: () => void };
        response.destroy?.();
        return true;
      } catch (error) {
        if (statusCode(error) === 404) return false;
        throw error;
      }
    });
  }

  async cpuUsageNs(id: string): Promise<number> {
    const stats = (await this.call(`stats of ${short(id)}`, () => this.docker.getContainer(id).stats({ stream: false }))) as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
    return stats.cpu_stats?.cpu_usage?.total_usage ?? 0;
  }

  async logs(id: string, tail: number): Promise<string[]> {
    const buffer = await this.call(`logs of ${short(id)}`, async () => {
      try {
        return (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as Buffer;
      } catch (error) {
        if (statusCode(error) === 404) return Buffer.alloc(0);
        throw error;
      }
    });
    return demultiplex(buffer)
      .split("\n")
      .filter((line) => line.trim() !== "");
  }

  async *streamLogs(id: string, options: { follow: boolean; tail: number | "all" }): AsyncIterable<Buffer> {
    const container = this.docker.getContainer(id);
    const tail = options.tail === "all" ? undefined : options.tail;
    if (!options.follow) {
      const buffer = (await this.call(`logs of ${short(id)}`, () => container.logs({ stdout: true, stderr: true, follow: false, tail }))) as Buffer;
      yield Buffer.from(demultiplex(buffer));
      return;
    }
    const stream = await this.call(`follow logs of ${short(id)}`, () => container.logs({ stdout: true, stderr: true, follow: true, tail }));
    const merged = new PassThrough();
    this.docker.modem.demuxStream(stream, merged, merged);
    stream.on("end", () => merged.end());
    stream.on("close", () => merged.end());
    try {
      for await (const chunk of merged) yield chunk as Buffer;
    } finally {
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
  }

  async exec(id: string, cmd: string[], options: { user?: string; env?: Record<string, string> } = {}): Promise<ExecResult> {
    return this.call(`exec ${cmd[0]} in ${short(id)}`, async () => {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: cmd,
        User: options.user ?? "",
        Env: envList(options.env),
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const out = new PassThrough().on("data", (chunk: Buffer) => stdout.push(chunk));
      const err = new PassThrough().on("data", (chunk: Buffer) => stderr.push(chunk));
      this.docker.modem.demuxStream(stream, out, err);
      await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
      });
      const inspected = await exec.inspect();
      return {
        exitCode: inspected.ExitCode ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
    });
  }

  async execAttached(id: string, cmd: string[], options: { user?: string; stdio: Stdio }): Promise<number> {
    const { stdin, stdout, stderr } = options.stdio;
    const input = stdin as NodeJS.ReadStream;
    const output = stdout as NodeJS.WriteStream;
    const tty = Boolean(input.isTTY && output.isTTY);
    const exec = await this.call(`exec ${cmd[0]} in ${short(id)}`, () =>
      this.docker.getContainer(id).exec({
        Cmd: cmd,
        User: options.user ?? "",
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        Env: [`TERM=${process.env.TERM ?? "xterm"}`],
      }),
    );
    const stream = await exec.start({ hijack: true, stdin: true, Tty: tty });
    const resize = async () => {
      if (tty) await exec.resize({ h: output.rows, w: output.columns }).catch(() => undefined);
    };
    if (tty) {
      input.setRawMode(true);
      stream.pipe(output);
      output.on("resize", resize);
      await resize();
    } else {
      this.docker.modem.demuxStream(stream, stdout, stderr);
    }
    input.resume();
    input.pipe(stream);
    input.on("end", () => (stream as unknown as { end(): void }).end());
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
      });
    } finally {
      input.unpipe(stream);
      input.pause();
      if (tty) input.setRawMode(false);
      output.off("resize", resize);
    }
    const inspected = await exec.inspect();
    return inspected.ExitCode ?? 0;
  }

  async runToCompletion(spec: ContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult> {
    if (options.signal?.aborted) throw new InterruptedError("interrupted");
    const id = await this.createContainer(spec);
    let ended: "timeout" | "interrupted" | undefined;
    const end = (why: "timeout" | "interrupted") => {
      ended ??= why;
      // The wait below returns once the container is gone.
      this.killContainer(id).catch(() => undefined);
    };
    const timer = setTimeout(() => end("timeout"), options.timeoutMs);
    const onAbort = () => end("interrupted");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const container = this.docker.getContainer(id);
      await this.startContainer(id);
      const waited = (await this.call(`wait for ${spec.name}`, () => container.wait())) as { StatusCode: number };
      if (ended === "interrupted") throw new InterruptedError(`interrupted; ${spec.name} was stopped`);
      if (ended === "timeout") throw new LabError(`${spec.name} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped`);
      const buffer = (await this.call(`logs of ${spec.name}`, () => container.logs({ stdout: true, stderr: true, follow: false }))) as Buffer;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      splitMultiplexed(buffer, stdout, stderr);
      return {
        exitCode: waited.StatusCode,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      await this.removeContainer(id);
    }
  }
}

/** Docker multiplexes stdout and stderr of a non-TTY container into frames with an 8-byte header. */
function splitMultiplexed(buffer: Buffer, stdout: Buffer[], stderr: Buffer[]): void {
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    const length = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + length);
    (kind === 2 ? stderr : stdout).push(frame);
    offset += 8 + length;
  }
}

function demultiplex(buffer: Buffer): string {
  const out: Buffer[] = [];
  splitMultiplexed(buffer, out, out);
  return Buffer.concat(out).toString("utf8");
}
