// The only module that knows dockerode. Every call is logged around (with DEBUG) and every
// failure becomes one of repl-lab's errors.
import Docker from "dockerode";
import { PassThrough, type Readable } from "node:stream";
import { EngineUnreachableError, LabError } from "./errors.js";
import { LABEL } from "./labels.js";
import { debug } from "./output.js";
import { POSTGRES_PORT, type NodePlan } from "./node-plan.js";

export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface LabContainer {
  id: string;
  name: string;
  lab: string;
  node: string;
  role: string;
  state: ContainerState;
  /** Human text from Docker, e.g. "Exited (1) 3 seconds ago". */
  status: string;
  hostPort: number | undefined;
  labels: Record<string, string>;
  /** Names of the networks the container is attached to (a partitioned node has lost its lab network). */
  networks: string[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const ENGINE_HINT =
  "start a Docker engine (on Debian as root, `npm run setup` installs and starts one) or set DOCKER_HOST";

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || code === "ECONNRESET" || code === "ETIMEDOUT";
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

export class DockerEngine {
  constructor(private readonly docker: Docker = new Docker()) {}

  /** Runs one engine call with debug lines around it and maps transport errors to EngineUnreachableError. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    debug(`${what}…`);
    try {
      const result = await run();
      debug(`${what}: done in ${Date.now() - started} ms`);
      return result;
    } catch (error) {
      debug(`${what}: failed after ${Date.now() - started} ms: ${engineMessage(error)}`);
      if (isConnectionError(error)) {
        throw new EngineUnreachableError(`cannot reach the Docker engine (${engineMessage(error)})`, {
          hint: ENGINE_HINT,
          cause: error,
        });
      }
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.call("ping engine", async () => {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(Object.assign(new Error("no answer within 5 s"), { code: "ETIMEDOUT" })), 5000).unref(),
      );
      await Promise.race([this.docker.ping(), timeout]);
    });
  }

  async imageExists(image: string): Promise<boolean> {
    return this.call(`inspect image ${image}`, async () => {
      try {
        await this.docker.getImage(image).inspect();
        return true;
      } catch (error) {
        if (statusCode(error) === 404) return false;
        throw error;
      }
    });
  }

  /** Pulls an image; resolves false (never throws) when no registry answers within the time given. */
  async tryPull(image: string, timeoutMs: number): Promise<boolean> {
    return this.call(`pull ${image}`, async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const stream = await this.docker.pull(image, { abortSignal: controller.signal });
        await new Promise<void>((resolve, reject) =>
          this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
        );
        return true;
      } catch (error) {
        if (isConnectionError(error) && !controller.signal.aborted) throw error;
        debug(`pull ${image} failed: ${engineMessage(error)}`);
        return false;
      } finally {
        clearTimeout(timer);
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

  async createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    await this.call(`create network ${name}`, () =>
      this.docker.createNetwork({ Name: name, Driver: "bridge", Labels: labels, CheckDuplicate: true }),
    );
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.call(`create volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: labels }));
  }

  /** Creates a node's container on the lab network, its data on its volume, its port on 127.0.0.1 only. */
  async createNodeContainer(plan: NodePlan, network: string): Promise<string> {
    const port = `${POSTGRES_PORT}/tcp`;
    const container = await this.call(`create container ${plan.containerName}`, async () => {
      try {
        return await this.docker.createContainer({
          name: plan.containerName,
          Image: plan.image,
          Entrypoint: plan.entrypoint,
          Cmd: plan.command,
          Env: Object.entries(plan.env).map(([key, value]) => `${key}=${value}`),
          Labels: plan.labels,
          // Fast shutdown: SIGTERM would wait for every client to disconnect (smart shutdown).
          StopSignal: "SIGINT",
          StopTimeout: 30,
          ExposedPorts: { [port]: {} },
          HostConfig: {
            Binds: [`${plan.volumeName}:/var/lib/postgresql/data`],
            PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: plan.node.hostPort ? String(plan.node.hostPort) : "" }] },
            NetworkMode: network,
            ShmSize: 256 * 1024 * 1024,
            // Lets `delay --network` add latency with tc/netem where the image and kernel have them.
            CapAdd: ["NET_ADMIN"],
          },
          NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [plan.node.name] } } },
        });
      } catch (error) {
        if (statusCode(error) === 404) {
          throw new LabError(`image ${plan.image} is not on this engine`, {
            hint: "build it with `repl-lab image build --pg 17`, or choose another with --image",
          });
        }
        throw error;
      }
    });
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).start();
      } catch (error) {
        const message = engineMessage(error);
        if (/port is already allocated|address already in use/i.test(message)) {
          throw new LabError(`a host port is taken: ${message}`, { hint: "choose another --port, or leave it out" });
        }
        throw error;
      }
    });
  }

  /** Every container carrying all of these labels, running or not. */
  async listContainers(labels: Record<string, string>): Promise<LabContainer[]> {
    const found = await this.call(`list containers ${labelFilter(labels)}`, () =>
      this.docker.listContainers({ all: true, filters: labelFilter(labels) }),
    );
    return found.map((info) => {
      const published = info.Ports.find((port) => port.PrivatePort === POSTGRES_PORT && port.PublicPort);
      const containerLabels = info.Labels ?? {};
      return {
        id: info.Id,
        name: (info.Names[0] ?? info.Id).replace(/^\//, ""),
        lab: containerLabels[LABEL.lab] ?? "",
        node: containerLabels[LABEL.node] ?? "",
        role: containerLabels[LABEL.role] ?? "",
        state: info.State as ContainerState,
        status: info.Status,
        hostPort: published?.PublicPort,
        labels: containerLabels,
        networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
      };
    });
  }

  async listVolumes(labels: Record<string, string>): Promise<{ name: string; labels: Record<string, string> }[]> {
    const found = await this.call(`list volumes ${labelFilter(labels)}`, () =>
      this.docker.listVolumes({ filters: labelFilter(labels) }),
    );
    return (found.Volumes ?? []).map((volume) => ({ name: volume.Name, labels: volume.Labels ?? {} }));
  }

  async listNetworks(labels: Record<string, string>): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const found = await this.call(`list networks ${labelFilter(labels)}`, () =>
      this.docker.listNetworks({ filters: labelFilter(labels) }),
    );
    return found.map((network) => ({ id: network.Id, name: network.Name, labels: network.Labels ?? {} }));
  }

  /** What repl-lab reads from a node's container config: one inspect. */
  async inspectNode(id: string): Promise<{ env: Record<string, string>; image: string; exitCode: number | undefined }> {
    const info = await this.call(`inspect container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).inspect());
    const env: Record<string, string> = {};
    for (const entry of info.Config.Env ?? []) {
      const at = entry.indexOf("=");
      if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    return { env, image: info.Config.Image, exitCode: info.State.Running ? undefined : info.State.ExitCode };
  }

  /** A clean stop: the container's stop signal (SIGINT, PostgreSQL's fast shutdown), SIGKILL after the timeout. */
  async stopContainer(id: string, timeoutSeconds = 30): Promise<void> {
    await this.call(`stop container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (error) {
        if (statusCode(error) !== 304) throw error;
      }
    });
  }

  async restartContainer(id: string): Promise<void> {
    await this.call(`restart container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).restart({ t: 30 }));
  }

  async pauseContainer(id: string): Promise<void> {
    await this.call(`pause container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.call(`unpause container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).unpause());
  }

  async disconnectNetwork(network: string, id: string): Promise<void> {
    await this.call(`disconnect ${id.slice(0, 12)} from ${network}`, () =>
      this.docker.getNetwork(network).disconnect({ Container: id, Force: true }),
    );
  }

  async connectNetwork(network: string, id: string, aliases: string[]): Promise<void> {
    await this.call(`connect ${id.slice(0, 12)} to ${network}`, () =>
      this.docker.getNetwork(network).connect({ Container: id, EndpointConfig: { Aliases: aliases } }),
    );
  }

  /** Whether a file exists in a container, running or not (stopped containers' volumes are read too). */
  async fileExists(id: string, path: string): Promise<boolean> {
    return this.call(`stat ${path} in ${id.slice(0, 12)}`, async () => {
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

  /**
   * Replaces a stopped node's container with one that differs only in what `change` says (labels and
   * environment), on the same volume, network alias and host port. Labels cannot change on a
   * container, so this is how a node's role label follows the server when repl-lab rebuilds it.
   */
  async recreateContainer(
    id: string,
    change: { labels?: Record<string, string>; env?: Record<string, string>; settings?: Record<string, string> },
  ): Promise<string> {
    const info = await this.call(`inspect container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).inspect());
    const env = new Map((info.Config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
    for (const [key, value] of Object.entries(change.env ?? {})) env.set(key, value);
    const port = `${POSTGRES_PORT}/tcp`;
    const previousPort = info.NetworkSettings.Ports?.[port]?.[0]?.HostPort ?? info.HostConfig.PortBindings?.[port]?.[0]?.HostPort ?? "";
    const networks = Object.entries(info.NetworkSettings.Networks ?? {});
    const name = info.Name.replace(/^\//, "");
    await this.removeContainer(id);
    const created = await this.call(`create container ${name}`, () =>
      this.docker.createContainer({
        name,
        Image: info.Config.Image,
        Entrypoint: info.Config.Entrypoint as string[],
        // The entrypoint's arguments are the node's postgresql.conf settings, as name=value.
        Cmd: (info.Config.Cmd ?? []).map((argument) => {
          const name = argument.slice(0, argument.indexOf("="));
          return change.settings && name in change.settings ? `${name}=${change.settings[name]}` : argument;
        }),
        Env: [...env].map(([key, value]) => `${key}=${value}`),
        Labels: { ...info.Config.Labels, ...change.labels },
        StopSignal: (info.Config as { StopSignal?: string }).StopSignal,
        StopTimeout: (info.Config as { StopTimeout?: number }).StopTimeout,
        ExposedPorts: info.Config.ExposedPorts,
        HostConfig: { ...info.HostConfig, PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: previousPort }] } },
        NetworkingConfig: {
          EndpointsConfig: Object.fromEntries(networks.map(([network, endpoint]) => [
            network,
            // Docker adds the old container's short id as an alias; keep only the node's own names.
            { Aliases: (endpoint.Aliases ?? []).filter((alias: string) => !info.Id.startsWith(alias)) },
          ])),
        },
      }),
    );
    return created.id;
  }

  /** SIGKILL, the way a crash or `kill -9` ends a server; a container that is already stopped is fine. */
  async killContainer(id: string): Promise<void> {
    await this.call(`kill container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).kill({ signal: "SIGKILL" });
      } catch (error) {
        if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
      }
    });
  }

  async removeContainer(id: string): Promise<void> {
    await this.call(`remove container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        if (statusCode(error) !== 404) throw error;
      }
    });
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

  async removeNetwork(id: string): Promise<void> {
    await this.call(`remove network ${id.slice(0, 12)}`, async () => {
      // The engine may still be detaching a container that was just removed ("has active endpoints").
      for (let attempt = 1; ; attempt++) {
        try {
          await this.docker.getNetwork(id).remove();
          return;
        } catch (error) {
          if (statusCode(error) === 404) return;
          if (attempt >= 20 || !/active endpoints/.test(engineMessage(error))) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    });
  }

  /** The last lines of a container's output (stdout and stderr merged). */
  async logs(id: string, tail: number): Promise<string[]> {
    const buffer = await this.call(`logs of ${id.slice(0, 12)}`, async () => {
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

  /** Writes a container's output (stdout and stderr, in order) to `out`; with follow, until it stops. */
  async streamLogs(id: string, options: { follow: boolean; tail: number | "all" }, out: NodeJS.WritableStream): Promise<void> {
    const container = this.docker.getContainer(id);
    const tail = options.tail === "all" ? undefined : options.tail;
    if (!options.follow) {
      const buffer = (await this.call(`logs of ${id.slice(0, 12)}`, () =>
        container.logs({ stdout: true, stderr: true, follow: false, tail }),
      )) as Buffer;
      out.write(demultiplex(buffer));
      return;
    }
    const stream = await this.call(`follow logs of ${id.slice(0, 12)}`, () =>
      container.logs({ stdout: true, stderr: true, follow: true, tail }),
    );
    this.docker.modem.demuxStream(stream, out, out);
    await new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
    });
  }

  /** Runs a command in a container and collects its output. */
  async exec(id: string, cmd: string[], options: { user?: string; env?: string[] } = {}): Promise<ExecResult> {
    return this.call(`exec ${cmd[0]} in ${id.slice(0, 12)}`, async () => {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: cmd,
        User: options.user ?? "",
        Env: options.env,
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

  /** Runs a command attached to this terminal (stdin, stdout, TTY when there is one); resolves its exit code. */
  async execAttached(id: string, cmd: string[], options: { user?: string }): Promise<number> {
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const exec = await this.call(`exec ${cmd[0]} in ${id.slice(0, 12)}`, () =>
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
      if (tty) await exec.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => undefined);
    };
    if (tty) {
      process.stdin.setRawMode(true);
      stream.pipe(process.stdout);
      process.stdout.on("resize", resize);
      await resize();
    } else {
      this.docker.modem.demuxStream(stream, process.stdout, process.stderr);
    }
    process.stdin.resume();
    process.stdin.pipe(stream);
    process.stdin.on("end", () => (stream as unknown as { end(): void }).end());
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
      });
    } finally {
      process.stdin.unpipe(stream);
      process.stdin.pause();
      if (tty) process.stdin.setRawMode(false);
      process.stdout.off("resize", resize);
    }
    const inspected = await exec.inspect();
    return inspected.ExitCode ?? 0;
  }

  /** Runs a throwaway container to completion and returns its output; it is removed whatever happens. */
  async runToCompletion(options: {
    name: string;
    image: string;
    cmd: string[];
    labels: Record<string, string>;
    env?: Record<string, string>;
    binds?: string[];
    network?: string;
    user?: string;
  }): Promise<ExecResult> {
    const container = await this.call(`create container ${options.name}`, () =>
      this.docker.createContainer({
        name: options.name,
        Image: options.image,
        Entrypoint: options.cmd,
        Labels: options.labels,
        User: options.user ?? "postgres",
        Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
        HostConfig: { Binds: options.binds, NetworkMode: options.network },
      }),
    );
    try {
      await this.call(`start container ${options.name}`, () => container.start());
      const waited = (await this.call(`wait for ${options.name}`, () => container.wait())) as { StatusCode: number };
      const buffer = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      splitMultiplexed(buffer, stdout, stderr);
      return {
        exitCode: waited.StatusCode,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
    } finally {
      await this.removeContainer(container.id);
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
