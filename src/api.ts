// The library: `import { Lab } from "repl-lab"`. A Lab is a handle on a lab that lives in the
// engine (its state is in Docker's labels, as for the CLI); every method calls the same command the
// CLI calls and returns the same result the CLI prints with --json.
import { randomBytes } from "node:crypto";
import { durationMs } from "./core/duration.js";
import { LabError, ReplLabError } from "./core/errors.js";
import { progressTo } from "./core/progress.js";
import type { LabStatus, MonitorEvent } from "./core/status.js";
import { buildTopology, type LabSpecInput } from "./core/topology.js";
import type { FaultAction } from "./core/constants.js";
import type { LabAction } from "./core/action.js";
import { check, type CheckResult } from "./operations/check.js";
import { delay, type DelayResult } from "./operations/delay.js";
import { down } from "./operations/down.js";
import { env } from "./operations/env.js";
import { events } from "./operations/events.js";
import { fault, type FaultResult } from "./operations/fault.js";
import { hostFault, type HostFaultResult } from "./operations/host.js";
import { heal, partition, type PartitionResult } from "./operations/partition.js";
import { ls } from "./operations/ls.js";
import { promote, type PromoteResult } from "./operations/promote.js";
import { rejoin, type RejoinResult } from "./operations/rejoin.js";
import { sql } from "./operations/sql.js";
import { status, watchStatus } from "./operations/status.js";
import { switchover, type SwitchoverResult } from "./operations/switchover.js";
import { sync, type SyncResult } from "./operations/sync.js";
import { up, type UpResult } from "./operations/up.js";
import { readLab, requireEndpoint, requireProxyEndpoint, requireNode, type LabSummary, type RemovedResources } from "./lab/context.js";
import { dockerRuntime, type Runtime } from "./lab/runtime.js";
import type { LabTick, TimedLabEvent } from "./lab/watch.js";
import type { QueryResult, Session } from "./postgres.js";

export interface LabOptions extends Omit<LabSpecInput, "lab" | "settings"> {
  /** The lab's name; left out, a unique one ("lab-" and six hex digits). */
  name?: string;
  /** Extra postgresql.conf settings for every node, as with `-c name=value`. */
  settings?: Record<string, string | number | boolean>;
  /** How long to wait until every follower streams (default "120s"; a number is milliseconds). */
  waitTimeout?: string | number;
  /** Told each step of a long operation ("standby1 streaming (1/2)"). */
  onProgress?: (message: string) => void;
  /** Aborting it stops `up` and removes what it created (it then throws InterruptedError). */
  signal?: AbortSignal;
  /** The engine and connections to use; left out, the Docker engine (DOCKER_HOST is honoured). */
  runtime?: Runtime;
}

export interface AttachOptions {
  onProgress?: (message: string) => void;
  runtime?: Runtime;
  /**
   * Whether `await using` (Symbol.asyncDispose) removes the lab at the end of the block. Off by
   * default: a handle on a lab someone else made leaves it as it found it.
   */
  removeOnDispose?: boolean;
}

export interface WatchLabOptions {
  /** How often to look (default 1 s; a string such as "250ms" works too). */
  interval?: string | number;
  /** Ends the iteration; breaking out of the `for await` loop ends it too. */
  signal?: AbortSignal;
}

export class Lab implements AsyncDisposable {
  private downResult: RemovedResources | undefined;

  private constructor(
    /** The lab's name, as `--lab` takes it. */
    readonly name: string,
    private readonly runtime: Runtime,
    /** Each node's URL, then `primary` and `standby` (see url()). */
    private endpoints: Record<string, string>,
    private readonly onProgress: ((message: string) => void) | undefined,
    /** Set for a lab this handle made (Lab.up), or when attach was asked to. */
    private readonly removeOnDispose: boolean,
  ) {}

  /**
   * Brings up a lab (a leader and N followers) and resolves once every follower streams with the
   * sync_state its spec implies, as `repl-lab up` does. Bad options throw UsageError before
   * anything is created; a failure removes everything created and throws LabError.
   */
  static async up(options: LabOptions = {}): Promise<Lab> {
    const { name, waitTimeout, onProgress, signal, runtime: given, ...spec } = options;
    const topology = buildTopology({ ...spec, lab: name ?? `lab-${randomBytes(3).toString("hex")}` });
    const waitTimeoutMs = durationMs(waitTimeout ?? "120s", "waitTimeout");
    const runtime = given ?? (await dockerRuntime());
    const result: UpResult = await up(runtime, { topology, waitTimeoutMs, signal }, progressTo(onProgress));
    let endpoints: Record<string, string>;
    try {
      endpoints = await env(runtime, { lab: result.lab });
    } catch (error) {
      // The lab is up but the caller would get no handle to remove it with: remove it here.
      await down(runtime, { lab: result.lab, keepVolumes: false }).catch((cleanup: Error) => {
        if (error instanceof ReplLabError) error.details.push(`and removing lab "${result.lab}" failed: ${cleanup.message}; run \`repl-lab down --lab ${result.lab}\``);
      });
      throw error;
    }
    return new Lab(result.lab, runtime, endpoints, onProgress, true);
  }

  /** A handle on a lab that already runs (made by `repl-lab up`, a rendered compose file, or another process). */
  static async attach(name: string, options: AttachOptions = {}): Promise<Lab> {
    const runtime = options.runtime ?? (await dockerRuntime());
    await readLab(runtime, name);
    return new Lab(name, runtime, await env(runtime, { lab: name }), options.onProgress, options.removeOnDispose ?? false);
  }

  /** The labs on the engine. */
  static async list(options: { runtime?: Runtime } = {}): Promise<LabSummary[]> {
    return ls(options.runtime ?? (await dockerRuntime()));
  }

  /** The lab's nodes: leader, standby1, … */
  get nodes(): string[] {
    return Object.keys(this.endpoints).filter((name) => !["primary", "standby", "writer", "reader"].includes(name));
  }

  /**
   * A node's postgresql:// URL, as `repl-lab env` prints it; ports are fixed when the lab is made,
   * so the URL holds across kill, stop and start. "primary" and "standby" give one URL naming every
   * node with target_session_attrs=read-write or prefer-standby, for clients that honour it (libpq,
   * pgx, JDBC; node-postgres does not). With --proxy, "writer" and "reader" go through HAProxy,
   * which sends the writer to the leader whatever the client: node-postgres included.
   */
  url(node: string): string {
    const url = this.endpoints[node];
    if (url === undefined) throw new LabError(`lab "${this.name}" has no node "${node}"`, { hint: `its nodes are ${this.nodes.join(", ")}` });
    return url;
  }

  /** Every node's URL by node name, then `primary` and `standby`. */
  urls(): Record<string, string> {
    return { ...this.endpoints };
  }

  /** Re-reads the nodes and their URLs (after a change made outside this handle). */
  async refresh(): Promise<void> {
    this.endpoints = await env(this.runtime, { lab: this.name });
  }

  /**
   * Whether the lab is healthy, as `repl-lab check` asks: one primary, every follower streaming with
   * the sync_state its spec implies and lag under `maxLagBytes` (16 MB), every slot active, and a
   * marker row written on the primary read on every follower, all within `timeoutMs` (30 s).
   */
  check(options: { maxLagBytes?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CheckResult> {
    return check(this.runtime, { lab: this.name, ...options });
  }

  /** Nodes, pg_stat_replication and pg_replication_slots, as `repl-lab status --json`. */
  status(): Promise<LabStatus> {
    return status(this.runtime, { lab: this.name });
  }

  /**
   * A session with a node's server, for a workload: each query waits up to `timeoutMs` (default
   * 120 s, long enough for a commit that waits on a synchronous standby). The caller closes it.
   */
  async session(node: string, options: { timeoutMs?: number } = {}): Promise<Session> {
    const lab = await readLab(this.runtime, this.name);
    const endpoint = node === "writer" || node === "reader" ? requireProxyEndpoint(lab, node) : requireEndpoint(lab, node);
    return this.runtime.connect(endpoint, { timeoutMs: options.timeoutMs ?? 120_000 });
  }

  /** Runs SQL on a node (several statements allowed); the rows of the last one. */
  sql(node: string, query: string): Promise<QueryResult> {
    return sql(this.runtime, { lab: this.name, node, query });
  }

  private fault(action: FaultAction, node: string): Promise<FaultResult> {
    return fault(this.runtime, { lab: this.name, node, action }, progressTo(this.onProgress));
  }

  /** SIGKILL: the node's connections drop at once, so the primary notices immediately. */
  kill(node: string): Promise<FaultResult> {
    return this.fault("kill", node);
  }
  stop(node: string): Promise<FaultResult> {
    return this.fault("stop", node);
  }
  /** Starts a stopped node and resolves once its server accepts connections. */
  start(node: string): Promise<FaultResult> {
    return this.fault("start", node);
  }
  restart(node: string): Promise<FaultResult> {
    return this.fault("restart", node);
  }
  /** Freezes the node with its connections open: the primary notices only after wal_sender_timeout. */
  pause(node: string): Promise<FaultResult> {
    return this.fault("pause", node);
  }
  unpause(node: string): Promise<FaultResult> {
    return this.fault("unpause", node);
  }
  /** A lab across engines: kills everything of the lab on a host at once, as a machine losing power. */
  hostDown(host: string): Promise<HostFaultResult> {
    return hostFault(this.runtime, { lab: this.name, host, action: "down" }, progressTo(this.onProgress));
  }
  /** Starts again everything of the lab on a host that was taken down. */
  hostUp(host: string): Promise<HostFaultResult> {
    return hostFault(this.runtime, { lab: this.name, host, action: "up" }, progressTo(this.onProgress));
  }
  /**
   * A network partition by packet filter: `partition("leader")` cuts the node from every other
   * member, `partition({ groups: "leader,etcd1 | standby1,standby2", oneWay?: true })` splits the
   * lab into groups; clients and DNS still reach every node. `partition("leader", { isolate: true })`
   * takes the node off the lab network instead.
   */
  partition(target: string | { groups: string; oneWay?: boolean }, options: { isolate?: boolean } = {}): Promise<PartitionResult> {
    const cut = typeof target === "string" ? { node: target, isolate: options.isolate } : { groups: target.groups, oneWay: target.oneWay };
    return partition(this.runtime, { lab: this.name, ...cut }, progressTo(this.onProgress));
  }
  /** Removes the cut (and puts isolated nodes back); with a node, only what concerns it. */
  heal(node?: string): Promise<PartitionResult> {
    return heal(this.runtime, { lab: this.name, node }, progressTo(this.onProgress));
  }

  /** Lag on demand on a standby: `{ apply: "2s" }` (recovery_min_apply_delay), `{ network: "50ms" }`, or `{ clear: true }`. */
  delay(node: string, options: { apply?: string; network?: string; clear?: boolean }): Promise<DelayResult> {
    return delay(this.runtime, { lab: this.name, node, ...options });
  }

  /** pg_promote on a standby; the other standbys follow it. The signal stops it at its next safe point. */
  async promote(node: string, options: { signal?: AbortSignal } = {}): Promise<PromoteResult> {
    return promote(this.runtime, { lab: this.name, node, signal: options.signal }, progressTo(this.onProgress));
  }

  /** A former primary (or any diverged node) back as a follower, by pg_rewind or a fresh base backup. */
  async rejoin(node: string, options: { reclone?: boolean; signal?: AbortSignal } = {}): Promise<RejoinResult> {
    return rejoin(this.runtime, { lab: this.name, node, reclone: options.reclone, signal: options.signal }, progressTo(this.onProgress));
  }

  /** A planned change of primary that loses no acknowledged write. */
  async switchover(node: string, options: { signal?: AbortSignal } = {}): Promise<SwitchoverResult> {
    return switchover(this.runtime, { lab: this.name, node, signal: options.signal }, progressTo(this.onProgress));
  }

  /** HA mode: the member holding Patroni's leader lock in etcd right now; null while nobody does. */
  async leaderLock(): Promise<string | null> {
    const { leaderLock } = await import("./operations/ha.js");
    return leaderLock(this.runtime, { lab: this.name });
  }

  /** HA mode, either manager: who it says leads now (Patroni's leader lock, pg_auto_failover's monitor's primary); null while nobody does. */
  async haLeader(): Promise<string | null> {
    const { haLeader } = await import("./operations/ha.js");
    return haLeader(this.runtime, { lab: this.name });
  }

  /** HA mode on pg_auto_failover: every event its monitor logged at or after `since` (as `pg_autoctl show events`), oldest first. */
  async monitorEvents(since: Date): Promise<MonitorEvent[]> {
    const { monitorEvents } = await import("./operations/ha.js");
    return monitorEvents(this.runtime, { lab: this.name, since });
  }

  /** HA mode: a change to Patroni's dynamic configuration, as PATCH /config, e.g. `{ ttl: 30, loop_wait: 10 }`. */
  async configurePatroni(change: Record<string, unknown>): Promise<void> {
    const { configurePatroni } = await import("./operations/ha.js");
    return configurePatroni(this.runtime, { lab: this.name, change });
  }

  /** Synchronous replication on the running primary, by ALTER SYSTEM and a reload (in HA mode, through Patroni). */
  readonly sync = {
    /** synchronous_standby_names, e.g. "ANY 1 (standby1, standby2)". */
    set: (spec: string): Promise<SyncResult> => sync(this.runtime, { lab: this.name, change: { kind: "standbys", spec } }),
    /** synchronous_standby_names = '': waiting commits complete, replication becomes asynchronous. */
    off: (): Promise<SyncResult> => sync(this.runtime, { lab: this.name, change: { kind: "standbys", spec: null } }),
    /** synchronous_commit: off, local, remote_write, on or remote_apply. */
    commit: (level: string): Promise<SyncResult> => sync(this.runtime, { lab: this.name, change: { kind: "commit", level } }),
  };

  /**
   * Carries out one action, as a scenario step or the dashboard's POST /api/actions/<verb> does:
   * `{ verb: "kill", node: "standby1" }`, `{ verb: "delay", node: "standby1", apply: "2s" }`,
   * `{ verb: "sync", set: "ANY 1 (*)" }`. Check untrusted input with parseAction() first. Resolves
   * to the operation's own result (the object its CLI command prints with --json).
   */
  async act(action: LabAction): Promise<unknown> {
    switch (action.verb) {
      case "promote":
        return this.promote(action.node);
      case "switchover":
        return this.switchover(action.node);
      case "rejoin":
        return this.rejoin(action.node, { reclone: action.reclone ?? false });
      case "delay":
        return this.delay(action.node, { apply: action.apply, network: action.network, clear: action.clear });
      case "partition":
        return action.groups !== undefined ? this.partition({ groups: action.groups, oneWay: action.one_way }) : this.partition(action.node!, { isolate: action.isolate });
      case "heal":
        return this.heal(action.node);
      case "sync":
        if (action.set !== undefined) return this.sync.set(action.set);
        if (action.off) return this.sync.off();
        return this.sync.commit(action.commit!);
      case "host-down":
        return this.hostDown(action.host);
      case "host-up":
        return this.hostUp(action.host);
      default:
        return this.fault(action.verb, action.node);
    }
  }

  /** One event per change (container state, role, timeline, walsender, sync_state), as `repl-lab events --json`. */
  events(options: WatchLabOptions = {}): AsyncIterable<TimedLabEvent> {
    return events(this.runtime, { lab: this.name, intervalMs: durationMs(options.interval ?? 250, "interval"), signal: options.signal });
  }

  /** A status snapshot every interval, with the events since the previous one. */
  watch(options: WatchLabOptions = {}): AsyncIterable<LabTick> {
    return watchStatus(this.runtime, { lab: this.name, intervalMs: durationMs(options.interval ?? 1000, "interval"), signal: options.signal });
  }

  /** The last lines of a node's output (the entrypoint's lines and the server log). */
  async logs(node: string, options: { tail?: number } = {}): Promise<string[]> {
    const lab = await readLab(this.runtime, this.name);
    return this.runtime.engine.logs(requireNode(lab, node).id, options.tail ?? 100);
  }

  /** Removes the lab's containers, network and volumes. Calling it again does nothing. */
  async down(options: { keepVolumes?: boolean } = {}): Promise<RemovedResources> {
    this.downResult ??= await down(this.runtime, { lab: this.name, keepVolumes: Boolean(options.keepVolumes) });
    return this.downResult;
  }

  /**
   * `await using lab = await Lab.up(…)` removes the lab when the block ends; a handle from
   * Lab.attach leaves it in place (unless attached with `removeOnDispose: true`).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.removeOnDispose && !this.downResult) await this.down();
  }
}
