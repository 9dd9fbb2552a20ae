// Names and limits the command line needs before anything heavy is loaded: this module imports nothing.

export const LEADER = "leader";
export const MAX_FOLLOWERS = 16;
export const DEFAULT_FOLLOWERS = 2;

export const SYNC_COMMIT_LEVELS = ["off", "local", "remote_write", "on", "remote_apply"] as const;
export type SyncCommit = (typeof SYNC_COMMIT_LEVELS)[number];

export type Role = "primary" | "standby";

/** The HA managers a lab can run (`up --ha --manager`). */
export const HA_MANAGERS = ["patroni", "pg_auto_failover"] as const;
export type HaManager = (typeof HA_MANAGERS)[number];

/** Faults and their repairs, each one Docker operation on one of the lab's containers. */
export const FAULT_ACTIONS = ["kill", "stop", "start", "restart", "pause", "unpause"] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

/** Cuts between lab members (packet filters, or a node off the network) and their repair: operations/partition.ts. */
export const PARTITION_ACTIONS = ["partition", "heal"] as const;

export const DEFAULT_LAB = "default";

/** The lab named by REPL_LAB_NAME, else "default". */
export function defaultLabName(): string {
  return process.env.REPL_LAB_NAME || DEFAULT_LAB;
}

/** Where every node keeps its data, in the official images and in repl-lab/postgres alike. */
export const PGDATA = "/var/lib/postgresql/data";
export const POSTGRES_PORT = 5432;
/** Where a standby's end of its link delay listens (templates/link-delay.pl, on loopback); the primary end is 5433 on the lab network. */
export const LINK_STANDBY_END_PORT = 5434;
/** Where etcd and Patroni listen in the HA mode. */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const PATRONI_PORT = 8008;
/** Where the HA proxy (HAProxy) takes writers and readers, and serves its statistics page. */
export const PROXY_WRITER_PORT = 5000;
export const PROXY_READER_PORT = 5001;
export const PROXY_STATS_PORT = 8404;

/** What a node's entrypoint reads from its environment. */
export const ENV = {
  node: "REPL_LAB_NODE",
  role: "REPL_LAB_ROLE",
  primaryHost: "REPL_LAB_PRIMARY_HOST",
  slot: "REPL_LAB_SLOT",
  superuserPassword: "REPL_LAB_SUPERUSER_PASSWORD",
  replicationPassword: "REPL_LAB_REPLICATION_PASSWORD",
  /** HA mode: the password of Patroni's REST API (its unsafe requests) and of etcd's root user. */
  patroniPassword: "REPL_LAB_PATRONI_PASSWORD",
  etcdPassword: "REPL_LAB_ETCD_PASSWORD",
  /** pg_auto_failover: the password keepers log in to the monitor with (its autoctl_node role). */
  monitorPassword: "REPL_LAB_MONITOR_PASSWORD",
  networkDelay: "REPL_LAB_NETWORK_DELAY",
  /** "all" when clients reach the nodes from other machines (a lab across engines, a remote engine): pg_hba.conf then takes passwords from any address. */
  clientsFrom: "REPL_LAB_CLIENTS_FROM",
} as const;
