// What repl-lab asks of a container engine, in generic terms: images, networks, volumes and
// containers described by plain specs. Nothing here knows PostgreSQL. The Docker adapter
// (engine/docker.ts) implements it; unit tests hand in a fake.
import type { Readable, Writable } from "node:stream";

export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface VolumeMount {
  volume: string;
  /** Where the volume appears inside the container. */
  target: string;
}

export interface PortBinding {
  containerPort: number;
  /** The host address the port is published on (127.0.0.1 for a local engine). */
  hostIp: string;
  /** Undefined lets the engine choose a free port. */
  hostPort?: number;
}

/** Everything needed to create a container, and what inspecting one gives back. */
export interface ContainerSpec {
  name: string;
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  user?: string;
  mounts?: VolumeMount[];
  network?: { name: string; aliases: string[] };
  /** Join this container's network namespace instead of a network (a helper that acts on a node's network, such as its packet filter). */
  networkOf?: string;
  ports?: PortBinding[];
  /** The signal `stop` sends before it kills. */
  stopSignal?: string;
  stopTimeoutSeconds?: number;
  shmSizeBytes?: number;
  capAdd?: string[];
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: ContainerState;
  /** The engine's own words, e.g. "Exited (1) 3 seconds ago". */
  status: string;
  /** Ports published while the container runs. */
  ports: { containerPort: number; hostIp: string; hostPort: number }[];
  /** Networks the container is attached to. */
  networks: string[];
  /** Its IPv4 address on each of them. */
  addresses: Record<string, string>;
  /** A lab across engines: the host it runs on, and the address its published ports are reached at. */
  host?: { name: string; address: string };
}

export interface ContainerDetails {
  id: string;
  spec: ContainerSpec;
  state: ContainerState;
  /** Set once the container has stopped. */
  exitCode: number | undefined;
}

export interface ImageDetails {
  env: Record<string, string>;
  /** Paths the image declares as volumes: each gets an anonymous volume unless something is mounted there. */
  volumes: string[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface NamedResource {
  name: string;
  labels: Record<string, string>;
}

export interface Stdio {
  stdin: NodeJS.ReadStream | Readable;
  stdout: NodeJS.WriteStream | Writable;
  stderr: NodeJS.WriteStream | Writable;
}

export interface ContainerEngine {
  /** Resolves when the engine answers; throws EngineUnreachableError otherwise. */
  ping(): Promise<void>;

  /** Undefined when the image is not on this engine. */
  inspectImage(image: string): Promise<ImageDetails | undefined>;
  /** Pulls an image; false when no registry gave it. Aborting the signal stops the pull and throws InterruptedError. */
  pullImage(image: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<boolean>;
  importImage(tarball: Readable, repo: string, tag: string, changes: string[]): Promise<void>;

  /** A bridge network on this engine, or with driver "overlay" an attachable overlay network of its swarm (a manager's). */
  createNetwork(name: string, labels: Record<string, string>, options?: { driver?: "bridge" | "overlay" }): Promise<void>;
  listNetworks(labels: Record<string, string>): Promise<(NamedResource & { id: string })[]>;
  removeNetwork(id: string): Promise<void>;
  connectNetwork(network: string, container: string, aliases: string[]): Promise<void>;
  disconnectNetwork(network: string, container: string): Promise<void>;

  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  listVolumes(labels: Record<string, string>): Promise<NamedResource[]>;
  removeVolume(name: string): Promise<void>;

  createContainer(spec: ContainerSpec): Promise<string>;
  /** Every container carrying all of these labels, running or not. */
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerDetails>;
  startContainer(id: string): Promise<void>;
  /** The container's stop signal, then SIGKILL after the timeout; a stopped container is fine. */
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  restartContainer(id: string, timeoutSeconds?: number): Promise<void>;
  /** SIGKILL; a container that is already stopped is fine. */
  killContainer(id: string): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  /** Removes a container and its anonymous volumes; a missing one is fine. */
  removeContainer(id: string): Promise<void>;

  /** Whether a path exists in a container, running or not. */
  fileExists(id: string, path: string): Promise<boolean>;
  /** The last lines of a container's output, stdout and stderr merged. */
  logs(id: string, tail: number): Promise<string[]>;
  /** The CPU time a running container has used, in ns (the engine's stats; the bench's idle figures). */
  cpuUsageNs(id: string): Promise<number>;
  /** A container's output as it comes (stdout and stderr merged, in order); with follow, until it stops. */
  streamLogs(id: string, options: { follow: boolean; tail: number | "all" }): AsyncIterable<Buffer>;
  exec(id: string, cmd: string[], options?: { user?: string; env?: Record<string, string> }): Promise<ExecResult>;
  /** Runs a command attached to the given streams (a TTY when both ends are terminals); resolves its exit code. */
  execAttached(id: string, cmd: string[], options: { user?: string; stdio: Stdio }): Promise<number>;
  /**
   * Creates, starts and waits for a throwaway container, returns its output, and removes it whatever
   * happens. Past `timeoutMs` it is killed and a LabError says so; the signal kills it at once
   * (InterruptedError).
   */
  runToCompletion(spec: ContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult>;
}
