// What each node's container is, as plain data: `up` hands it to the engine, `render` to compose.
import { randomBytes } from "node:crypto";
import type { ContainerSpec } from "./engine.js";
import { ENV, ETCD_CLIENT_PORT, LEADER, LINK_STANDBY_END_PORT, PATRONI_PORT, PGDATA, POSTGRES_PORT, PROXY_READER_PORT, PROXY_STATS_PORT, PROXY_WRITER_PORT } from "./constants.js";
import { ETCD_ROLE, LABEL, labLabels, MONITOR_ROLE, names, nodeLabels, PROXY_ROLE } from "./labels.js";
import { keeperEntrypoint, MONITOR, monitorEntrypoint } from "./auto-failover.js";
import { PROXY, proxyEntrypoint } from "./proxy.js";
import { readPackageFile } from "./package-files.js";
import { renderSyncSpec } from "./sync-spec.js";
import { ETCD_MEMBERS, etcdCommand, LINK_FIXED_END_PORT, patroniConfig, patroniEntrypoint } from "./ha.js";
import type { NodeSpec, Topology } from "./topology.js";

export interface LabSecrets {
  superuserPassword: string;
  replicationPassword: string;
  /** HA mode: Patroni's REST API and etcd's root user (empty for a lab made before they had one). */
  patroniPassword: string;
  etcdPassword: string;
  /** pg_auto_failover: the monitor's autoctl_node password (empty otherwise). */
  monitorPassword: string;
}

export function generateSecrets(): LabSecrets {
  const secret = () => randomBytes(12).toString("hex");
  return { superuserPassword: secret(), replicationPassword: secret(), patroniPassword: secret(), etcdPassword: secret(), monitorPassword: secret() };
}

/**
 * A standby's primary_conninfo. With a network delay it goes through the node's own standby end of
 * the link delay, which reads the upstream and the delay (ms) from the options; without, straight
 * to the upstream.
 */
export function primaryConninfo(upstream: string, password: string, networkDelayMs?: number | null): string {
  if (networkDelayMs === undefined || networkDelayMs === null) return `host=${upstream} port=${POSTGRES_PORT} user=replicator password=${password}`;
  return (
    `host=127.0.0.1 port=${LINK_STANDBY_END_PORT} user=replicator password=${password} sslmode=disable gssencmode=disable ` +
    `options=-crepl_lab.link=${upstream}/${networkDelayMs}`
  );
}

/**
 * Where a node's volume is mounted. An image that declares a VOLUME at PGDATA or above it (the
 * official postgres images up to 17 declare /var/lib/postgresql/data, postgres:18 and later
 * /var/lib/postgresql) gets the node's volume exactly there, so Docker creates no anonymous volume
 * beside it; any other image gets it at PGDATA.
 */
export function dataMountTarget(imageVolumes: readonly string[]): string {
  const covering = imageVolumes
    .map((path) => path.replace(/\/+$/, ""))
    .filter((path) => path !== "" && (PGDATA === path || PGDATA.startsWith(`${path}/`)))
    .sort((a, b) => a.length - b.length);
  return covering[0] ?? PGDATA;
}

export interface NodePlan {
  node: NodeSpec;
  volumeName: string;
  /** The container as the engine creates it; its cmd is the node's postgresql.conf settings as name=value. */
  container: ContainerSpec;
}

export interface PlanOptions {
  image: string;
  secrets: LabSecrets;
  /** The host address ports are published on (127.0.0.1 unless the engine is remote). */
  bindIp: string;
  /** Host port per node; a node left out gets one the engine chooses. */
  hostPorts?: Record<string, number>;
  /** Where the volume is mounted (see dataMountTarget); PGDATA when left out. */
  mountTarget?: string;
}

/**
 * postgresql.conf settings for one node. Every node gets the same replication limits, because a hot
 * standby refuses to start with max_wal_senders or max_replication_slots below its primary's.
 * https://www.postgresql.org/docs/current/hot-standby.html#HOT-STANDBY-ADMIN
 */
export function nodeSettings(topology: Topology, node: NodeSpec): [string, string][] {
  const followers = topology.followers.length;
  const settings: [string, string][] = [
    ["listen_addresses", "*"],
    ["cluster_name", node.name],
    ["wal_level", "replica"],
    // A base backup with -X stream holds two walsenders while it runs, and all followers bootstrap at once.
    ["max_wal_senders", String(Math.max(10, 2 * followers + 2))],
    ["max_replication_slots", String(Math.max(10, followers + 2))],
    ["hot_standby", "on"],
    ["synchronous_standby_names", node.role === "primary" ? renderSyncSpec(topology.sync) : ""],
    ["synchronous_commit", topology.syncCommit],
  ];
  if (!topology.slots) {
    // Without slots nothing holds WAL for a follower that falls behind or is still bootstrapping
    // (parallel base backups each force a checkpoint): keep some, as wal_keep_segments did before slots.
    settings.push(["wal_keep_size", `${Math.max(256, 32 * followers)}MB`]);
  }
  if (topology.walSenderTimeout !== undefined) settings.push(["wal_sender_timeout", topology.walSenderTimeout]);
  settings.push(...Object.entries(topology.settings));
  return settings;
}

let entrypointScript: string | undefined;

/** The node entrypoint with the link-delay proxy (templates/link-delay.pl) written into it. */
function nodeEntrypointScript(): string {
  entrypointScript ??= readPackageFile("templates/node-entrypoint.sh").replace("@LINK_DELAY_PL@", () =>
    readPackageFile("templates/link-delay.pl").trimEnd(),
  );
  return entrypointScript;
}

export function nodeEntrypoint(): string[] {
  return ["bash", "-c", nodeEntrypointScript(), "repl-lab-node"];
}

function planNode(topology: Topology, node: NodeSpec, options: PlanOptions): NodePlan {
  const hostPort = options.hostPorts?.[node.name] ?? node.hostPort;
  const labels = {
    ...nodeLabels(topology.lab, node.name, node.role),
    [LABEL.slots]: String(topology.slots),
    ...(hostPort === undefined ? {} : { [LABEL.hostPort]: String(hostPort) }),
  };
  const volumeName = names.volume(topology.lab, node.name);
  return {
    node,
    volumeName,
    container: {
      name: names.container(topology.lab, node.name),
      image: options.image,
      entrypoint: nodeEntrypoint(),
      cmd: nodeSettings(topology, node).map(([name, value]) => `${name}=${value}`),
      env: {
        PGDATA,
        [ENV.node]: node.name,
        [ENV.role]: node.role,
        [ENV.primaryHost]: LEADER,
        [ENV.slot]: node.role === "standby" && topology.slots ? node.name : "",
        [ENV.superuserPassword]: options.secrets.superuserPassword,
        [ENV.replicationPassword]: options.secrets.replicationPassword,
        ...(node.role === "standby" && topology.networkDelayMs !== undefined ? { [ENV.networkDelay]: String(topology.networkDelayMs) } : {}),
        // Published beyond loopback, a node's clients come from other machines' addresses (a port
        // published by a host's engine keeps the client's own address), not from its own subnets.
        ...(options.bindIp !== "127.0.0.1" || topology.hosts ? { [ENV.clientsFrom]: "all" } : {}),
      },
      labels,
      mounts: [{ volume: volumeName, target: options.mountTarget ?? PGDATA }],
      network: { name: names.network(topology.lab), aliases: [node.name] },
      ports: [{ containerPort: POSTGRES_PORT, hostIp: options.bindIp, hostPort }],
      // Fast shutdown: SIGTERM would wait for every client to disconnect (smart shutdown).
      stopSignal: "SIGINT",
      stopTimeoutSeconds: 30,
      shmSizeBytes: 256 * 1024 * 1024,
      // No added capabilities: the link delay runs in user space, and nothing in a node changes its network.
    },
  };
}

/**
 * An HA node: Patroni writes postgresql.conf, pg_hba.conf and primary_conninfo itself, so the
 * settings go into its configuration (synchronous_standby_names is Patroni's to set). Its REST API
 * is published beside the server.
 */
function planPatroniNode(topology: Topology, node: NodeSpec, options: PlanOptions, plan: NodePlan): NodePlan {
  const ha = topology.ha!;
  // cluster_name is each node's own (local); the rest is the cluster's, kept by Patroni in etcd.
  const parameters = Object.fromEntries([
    // A standby whose primary is gone retries every wal_retrieve_retry_interval (5 s by default), and
    // a promotion that arrives during the wait was measured to wait it out too: 1 s keeps that out of
    // the failover time. -c wal_retrieve_retry_interval=5s puts PostgreSQL's default back.
    ["wal_retrieve_retry_interval", "1s"],
    ...nodeSettings(topology, node).filter(([name]) => !["listen_addresses", "synchronous_standby_names", "hot_standby", "cluster_name"].includes(name)),
  ]);
  const container = plan.container;
  return {
    ...plan,
    container: {
      ...container,
      entrypoint: patroniEntrypoint(readPackageFile("templates/link-delay.pl")),
      cmd: [],
      env: {
        PGDATA,
        [ENV.node]: node.name,
        // Every node may become the leader, so every node runs the fixed link delay when there is one.
        ...(topology.networkDelayMs !== undefined ? { [ENV.networkDelay]: String(topology.networkDelayMs) } : {}),
        [ENV.superuserPassword]: options.secrets.superuserPassword,
        [ENV.replicationPassword]: options.secrets.replicationPassword,
        [ENV.patroniPassword]: options.secrets.patroniPassword,
        [ENV.etcdPassword]: options.secrets.etcdPassword,
        PATRONI_CONFIGURATION: patroniConfig({
          lab: topology.lab,
          node: node.name,
          ha,
          ...options.secrets,
          dataDir: PGDATA,
          parameters,
          localParameters: { cluster_name: node.name },
          connectPort: topology.networkDelayMs !== undefined ? LINK_FIXED_END_PORT : POSTGRES_PORT,
        }),
      },
      labels: { ...container.labels, [LABEL.ha]: "patroni" },
      ports: [...(container.ports ?? []), { containerPort: PATRONI_PORT, hostIp: options.bindIp }],
      // Patroni stops PostgreSQL (fast) and releases the leader lock on SIGTERM.
      stopSignal: "SIGTERM",
    },
  };
}

/** An etcd member: no volume (its data lives in the container, which a stop and start keep). */
function planEtcdMember(topology: Topology, member: string, options: PlanOptions): ContainerSpec {
  return {
    name: names.container(topology.lab, member),
    image: options.image,
    entrypoint: etcdCommand(topology.lab, member),
    labels: { ...labLabels(topology.lab), [LABEL.node]: member, [LABEL.role]: ETCD_ROLE, [LABEL.ha]: "etcd" },
    network: { name: names.network(topology.lab), aliases: [member] },
    ports: [{ containerPort: ETCD_CLIENT_PORT, hostIp: options.bindIp }],
    stopSignal: "SIGTERM",
    stopTimeoutSeconds: 10,
  };
}

/** The postgres user's home in the Debian-built images, where a keeper node's volume is mounted. */
const KEEPER_HOME = "/var/lib/postgresql";

/**
 * A pg_auto_failover node: its keeper (`pg_autoctl run`) is PID 1 and starts, stops and configures
 * PostgreSQL itself, so the lab's settings are not on its command line: pg_autoctl writes its own
 * postgresql-auto-failover.conf, and the user's -c settings are refused at `up` (topology.ts).
 */
function planKeeperNode(topology: Topology, node: NodeSpec, options: PlanOptions, plan: NodePlan): NodePlan {
  const spec = topology.autoFailover!;
  const follower = spec.sync.followers[node.name];
  const container = plan.container;
  return {
    ...plan,
    container: {
      ...container,
      entrypoint: keeperEntrypoint({
        node: node.name,
        candidatePriority: follower?.candidate_priority ?? 50,
        replicationQuorum: follower?.replication_quorum ?? true,
        networkPartitionTimeout: spec.settings.network_partition_timeout,
        walSenderTimeoutMs: spec.settings.wal_sender_timeout,
      }),
      cmd: [],
      env: {
        PGDATA,
        [ENV.node]: node.name,
        [ENV.superuserPassword]: options.secrets.superuserPassword,
        [ENV.replicationPassword]: options.secrets.replicationPassword,
        [ENV.monitorPassword]: options.secrets.monitorPassword,
      },
      labels: { ...container.labels, [LABEL.ha]: "pg_auto_failover" },
      // pg_autoctl takes a standby's base backup beside PGDATA and renames it into place, which a
      // volume mounted at PGDATA itself refuses ("Device or resource busy"): the volume holds the
      // postgres user's home, PGDATA and the backup directory (and pg_autoctl's own state) in it.
      mounts: [{ volume: plan.volumeName, target: KEEPER_HOME }],
      // The keeper stops PostgreSQL (fast) on SIGTERM; it does not tell the monitor (ENVIRONMENT.md).
      stopSignal: "SIGTERM",
    },
  };
}

/** pg_auto_failover's monitor: a PostgreSQL server of its own, published so repl-lab can read its state. */
function planMonitor(topology: Topology, options: PlanOptions): ContainerSpec {
  return {
    name: names.container(topology.lab, MONITOR),
    image: options.image,
    entrypoint: monitorEntrypoint(topology.autoFailover!.settings),
    env: { PGDATA, [ENV.superuserPassword]: options.secrets.superuserPassword, [ENV.monitorPassword]: options.secrets.monitorPassword },
    labels: { ...labLabels(topology.lab), [LABEL.node]: MONITOR, [LABEL.role]: MONITOR_ROLE, [LABEL.ha]: "monitor" },
    network: { name: names.network(topology.lab), aliases: [MONITOR] },
    ports: [{ containerPort: POSTGRES_PORT, hostIp: options.bindIp }],
    stopSignal: "SIGTERM",
    stopTimeoutSeconds: 10,
    shmSizeBytes: 128 * 1024 * 1024,
  };
}

/** The HA proxy (core/proxy.ts): HAProxy with the writer and reader ports published. */
export function planProxy(topology: Topology, options: PlanOptions): ContainerSpec {
  return {
    name: names.container(topology.lab, PROXY),
    image: options.image,
    entrypoint: proxyEntrypoint(topology.manager!, topology.nodes.map((node) => node.name)),
    labels: { ...labLabels(topology.lab), [LABEL.node]: PROXY, [LABEL.role]: PROXY_ROLE, [LABEL.ha]: "proxy" },
    network: { name: names.network(topology.lab), aliases: [PROXY] },
    ports: [
      { containerPort: PROXY_WRITER_PORT, hostIp: options.bindIp },
      { containerPort: PROXY_READER_PORT, hostIp: options.bindIp },
      { containerPort: PROXY_STATS_PORT, hostIp: options.bindIp },
    ],
    stopSignal: "SIGUSR1",
    stopTimeoutSeconds: 5,
  };
}

export function planLab(topology: Topology, options: PlanOptions): NodePlan[] {
  return topology.nodes.map((node) => {
    const plan = planNode(topology, node, options);
    if (topology.manager === "pg_auto_failover") return planKeeperNode(topology, node, options, plan);
    return topology.ha ? planPatroniNode(topology, node, options, plan) : plan;
  });
}

/**
 * The containers an HA lab runs beside its PostgreSQL nodes, started before them: etcd's three
 * members for Patroni, the monitor for pg_auto_failover (none otherwise).
 */
export function planEtcd(topology: Topology, options: PlanOptions): ContainerSpec[] {
  if (topology.manager === "pg_auto_failover") return [planMonitor(topology, options)];
  return topology.ha ? ETCD_MEMBERS.map((member) => planEtcdMember(topology, member, options)) : [];
}
