// An in-memory container engine and scripted PostgreSQL sessions, for unit tests of the decisions
// in up, faults and failover. They stand in for Docker and PostgreSQL only where those add nothing
// to what is tested; every feature also has an integration test on the real engine.
import { InterruptedError, NodeUnavailableError } from "../src/core/errors.js";
import type { HaClients } from "../src/core/ha-client.js";
import { LABEL } from "../src/core/labels.js";
import { realClock, type Clock } from "../src/core/retry.js";
import type {
  ContainerDetails,
  ContainerEngine,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  ExecResult,
  ImageDetails,
  NamedResource,
} from "../src/core/engine.js";
import type { Runtime } from "../src/lab/runtime.js";
import { FakeHa } from "./fake-ha.js";
import type { Endpoint, Session } from "../src/postgres.js";

interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: ContainerState;
  exitCode: number | undefined;
  networks: Set<string>;
  logs: string[];
}

function matches(labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels?.[key] === value);
}

export class FakeEngine implements ContainerEngine {
  readonly images = new Map<string, ImageDetails>([["repl-lab/postgres:17", { env: {}, volumes: [] }]]);
  readonly networks = new Map<string, { id: string; labels: Record<string, string> }>();
  readonly volumes = new Map<string, Record<string, string>>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every call that changes something, in order: "create repl-lab-x-leader", "start repl-lab-x-leader", … */
  readonly calls: string[] = [];
  /** Makes a call fail: return an error for (operation, container or resource name). */
  failOn: (operation: string, name: string) => Error | undefined = () => undefined;
  /** Called when a container starts, to script what it does (e.g. exit at once). */
  onStart: (container: FakeContainer) => void = () => undefined;
  private nextId = 1;

  private record(operation: string, name: string): void {
    const failure = this.failOn(operation, name);
    if (failure) throw failure;
    this.calls.push(`${operation} ${name}`);
  }

  private container(id: string): FakeContainer {
    const found = this.containers.get(id);
    if (!found) throw new Error(`no container ${id}`);
    return found;
  }

  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((container) => container.spec.name === name);
  }

  async ping(): Promise<void> {}

  async inspectImage(image: string): Promise<ImageDetails | undefined> {
    return this.images.get(image);
  }

  async pullImage(): Promise<boolean> {
    return false;
  }

  async importImage(): Promise<void> {}

  async createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    this.record("create-network", name);
    this.networks.set(name, { id: `net-${name}`, labels });
  }

  async listNetworks(labels: Record<string, string>): Promise<(NamedResource & { id: string })[]> {
    return [...this.networks.entries()].filter(([, network]) => matches(network.labels, labels)).map(([name, network]) => ({ name, ...network }));
  }

  async removeNetwork(id: string): Promise<void> {
    for (const [name, network] of this.networks) if (network.id === id) this.networks.delete(name);
  }

  async connectNetwork(network: string, container: string): Promise<void> {
    this.record("connect", `${this.container(container).spec.name} ${network}`);
    this.container(container).networks.add(network);
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    this.record("disconnect", `${this.container(container).spec.name} ${network}`);
    this.container(container).networks.delete(network);
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.record("create-volume", name);
    this.volumes.set(name, labels);
  }

  async listVolumes(labels: Record<string, string>): Promise<NamedResource[]> {
    return [...this.volumes.entries()].filter(([, volumeLabels]) => matches(volumeLabels, labels)).map(([name, volumeLabels]) => ({ name, labels: volumeLabels }));
  }

  async removeVolume(name: string): Promise<void> {
    this.volumes.delete(name);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.record("create", spec.name);
    if (this.byName(spec.name)) throw new Error(`a container named ${spec.name} already exists`);
    const id = `c${String(this.nextId++).padStart(11, "0")}`;
    this.containers.set(id, { id, spec, state: "created", exitCode: undefined, networks: new Set(spec.network ? [spec.network.name] : []), logs: [] });
    return id;
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return [...this.containers.values()]
      .filter((container) => matches(container.spec.labels, labels))
      .map((container) => ({
        id: container.id,
        name: container.spec.name,
        labels: container.spec.labels ?? {},
        state: container.state,
        status: container.state,
        ports:
          container.state === "running" || container.state === "paused"
            ? (container.spec.ports ?? []).map((port) => ({ containerPort: port.containerPort, hostIp: port.hostIp, hostPort: port.hostPort ?? 40000 + Number(container.id.slice(1)) }))
            : [],
        networks: container.state === "running" || container.state === "paused" ? [...container.networks] : [],
        addresses:
          container.state === "running" || container.state === "paused"
            ? Object.fromEntries([...container.networks].map((network) => [network, `10.0.0.${Number(container.id.slice(1)) % 250}`]))
            : {},
      }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails> {
    const container = this.container(id);
    return { id, spec: structuredClone(container.spec), state: container.state, exitCode: container.exitCode };
  }

  async startContainer(id: string): Promise<void> {
    const container = this.container(id);
    this.record("start", container.spec.name);
    container.state = "running";
    this.onStart(container);
  }

  async stopContainer(id: string): Promise<void> {
    const container = this.container(id);
    this.record("stop", container.spec.name);
    container.state = "exited";
    container.exitCode = 0;
  }

  async restartContainer(id: string): Promise<void> {
    this.record("restart", this.container(id).spec.name);
    this.container(id).state = "running";
  }

  async killContainer(id: string): Promise<void> {
    const container = this.container(id);
    this.record("kill", container.spec.name);
    container.state = "exited";
    container.exitCode = 137;
  }

  async pauseContainer(id: string): Promise<void> {
    this.record("pause", this.container(id).spec.name);
    this.container(id).state = "paused";
  }

  async unpauseContainer(id: string): Promise<void> {
    this.record("unpause", this.container(id).spec.name);
    this.container(id).state = "running";
  }

  async renameContainer(id: string, name: string): Promise<void> {
    this.record("rename", `${this.container(id).spec.name} ${name}`);
    this.container(id).spec.name = name;
  }

  async removeContainer(id: string): Promise<void> {
    const container = this.containers.get(id);
    if (!container) return;
    this.record("remove", container.spec.name);
    this.containers.delete(id);
  }

  async fileExists(): Promise<boolean> {
    return false;
  }

  async cpuUsageNs(): Promise<number> {
    return 0;
  }

  async logs(id: string, tail: number): Promise<string[]> {
    return this.container(id).logs.slice(-tail);
  }

  async *streamLogs(id: string): AsyncIterable<Buffer> {
    yield Buffer.from(this.container(id).logs.join("\n"));
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, stdout: "", stderr: "" };
  }

  async execAttached(): Promise<number> {
    return 0;
  }

  /** Scripted by `jobs`: what a one-off container (pg_rewind, wipe, settings check) returns. */
  jobs: (spec: ContainerSpec) => ExecResult = () => ({ exitCode: 0, stdout: "", stderr: "" });

  async runToCompletion(spec: ContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult> {
    if (options.signal?.aborted) throw new InterruptedError("interrupted");
    this.record("run", spec.name);
    return this.jobs(spec);
  }
}

/** Answers a node's SQL: rows, or an error to throw; the default refuses every connection. */
export type SqlScript = (node: string, sql: string, params?: unknown[]) => object[] | Error;

export function fakeRuntime(
  engine: FakeEngine,
  script: SqlScript = (node) => refused(node),
  options: { ha?: HaClients; clock?: Clock } = {},
): Runtime & { queries: string[] } {
  const queries: string[] = [];
  return {
    engine,
    host: { host: "127.0.0.1", bindIp: "127.0.0.1" },
    // Without one handed in, a cluster with no members: every Patroni and etcd request finds nobody.
    ha: options.ha ?? new FakeHa(),
    clock: options.clock ?? realClock,
    queries,
    async connect(endpoint: Endpoint): Promise<Session> {
      const probe = script(endpoint.node, "<connect>");
      if (probe instanceof Error) throw probe;
      return {
        node: endpoint.node,
        async query<Row extends object>(sql: string, params?: unknown[]): Promise<Row[]> {
          queries.push(`${endpoint.node}: ${sql.replace(/\s+/g, " ").trim().slice(0, 60)}`);
          const rows = script(endpoint.node, sql, params);
          if (rows instanceof Error) throw rows;
          return rows as Row[];
        },
        async close() {},
      };
    },
  };
}

export function refused(node: string): NodeUnavailableError {
  return new NodeUnavailableError(node, `${node}: connection refused`, "ECONNREFUSED");
}

export const streaming = (names: string[], sync: Record<string, [string, number]> = {}) =>
  names.map((application_name) => ({
    application_name,
    state: "streaming",
    sync_state: sync[application_name]?.[0] ?? "async",
    sync_priority: sync[application_name]?.[1] ?? 0,
  }));

/** A lab whose servers answer like a healthy leader with streaming followers. */
export function healthy(followers: string[], sync: Record<string, [string, number]> = {}): SqlScript {
  return (node, sql) => {
    if (sql.includes("FROM pg_stat_replication ORDER BY application_name")) return streaming(followers, sync);
    const primary = node === "leader";
    if (sql.includes("pg_is_in_recovery() AS in_recovery,")) {
      return [{
        in_recovery: !primary, current_lsn: primary ? "0/5000000" : null, receive_lsn: primary ? null : "0/5000000", replay_lsn: primary ? null : "0/5000000",
        replay_delay: null, timeline: 1, upstream: primary ? null : "leader", receiver_status: primary ? null : "streaming",
      }];
    }
    if (sql.includes("AS replication")) {
      if (!primary) return new Error(`ERROR: recovery is in progress (${node} was asked for its pg_stat_replication)`);
      return [{ replication: streaming(followers, sync).map((row) => ({ ...row, pid: 1, usename: "replicator", client_addr: null })), slots: [] }];
    }
    return [];
  };
}

export function resources(engine: FakeEngine, lab: string) {
  return {
    containers: [...engine.containers.values()].filter((container) => container.spec.labels?.[LABEL.lab] === lab).length,
    volumes: [...engine.volumes.values()].filter((labels) => labels[LABEL.lab] === lab).length,
    networks: [...engine.networks.values()].filter((network) => network.labels[LABEL.lab] === lab).length,
  };
}

export const none = { containers: 0, volumes: 0, networks: 0 };
