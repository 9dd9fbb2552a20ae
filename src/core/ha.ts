// The HA mode as plain data: three etcd members (Raft) and a Patroni configuration per PostgreSQL
// node. Patroni elects the leader through etcd, builds the followers with pg_basebackup and fails
// over by itself; repl-lab only writes their configuration and reads what they report.
// https://patroni.readthedocs.io/en/latest/yaml_configuration.html
import { stringify } from "yaml";
import { ENV, ETCD_CLIENT_PORT, ETCD_PEER_PORT, PATRONI_PORT } from "./constants.js";
import type { SyncSpec } from "./sync-spec.js";

export const ETCD_MEMBERS = ["etcd1", "etcd2", "etcd3"] as const;
/** Patroni's key prefix in etcd (its default); the cluster's keys live under /service/<lab>/. */
export const PATRONI_NAMESPACE = "/service/";

/**
 * Who may change things through the APIs published on the host: Patroni's REST API asks this user
 * for every POST, PATCH, PUT and DELETE (its reads stay open), and etcd, with authentication on,
 * this user for every key read or written (the lab's own secrets, see node-plan.ts).
 * https://patroni.readthedocs.io/en/latest/yaml_configuration.html#rest-api
 * https://etcd.io/docs/v3.5/op-guide/authentication/rbac/
 */
export const PATRONI_API_USER = "repl-lab";
export const ETCD_ROOT_USER = "root";

export type PatroniSyncMode = "off" | "on" | "strict" | "quorum";

/** Patroni's own settings a user may change, in Patroni's words. */
export interface HaSpec {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
  maximum_lag_on_failover: number;
  synchronous_mode: PatroniSyncMode;
  synchronous_node_count: number;
  /** Followers tagged nosync: Patroni never picks them as synchronous (the sync spec's names, mapped). */
  nosync: string[];
}

/** Patroni's defaults, and the lab's: the floor Patroni accepts (it raises a ttl under 20 to 20). */
export const PATRONI_DEFAULTS = { ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576 } as const;
export const LAB_HA_DEFAULTS = { ttl: 20, loop_wait: 1, retry_timeout: 3, maximum_lag_on_failover: 1048576 } as const;

/**
 * How a PostgreSQL sync spec maps to Patroni's synchronous mode: Patroni writes
 * synchronous_standby_names itself, so it takes the number of synchronous standbys (FIRST n → on,
 * ANY n → quorum) and the names become the candidates: every other follower is tagged nosync.
 */
export function haSyncFromSpec(spec: SyncSpec | null, followers: readonly string[], mode: PatroniSyncMode | undefined): Pick<HaSpec, "synchronous_mode" | "synchronous_node_count" | "nosync"> {
  if (!spec) return { synchronous_mode: mode ?? "off", synchronous_node_count: 1, nosync: [] };
  const names = spec.names.includes("*") ? [...followers] : spec.names;
  return {
    synchronous_mode: mode ?? (spec.method === "ANY" ? "quorum" : "on"),
    synchronous_node_count: spec.num,
    nosync: followers.filter((follower) => !names.includes(follower)),
  };
}

/**
 * How many synchronous standbys Patroni makes among the replicas it may choose (streaming, not
 * tagged nosync): in synchronous mode on or strict (FIRST n) n of them; in quorum mode (ANY n) every
 * one, since it writes synchronous_standby_names as ANY n over all of them; none when off.
 */
export function expectedSynchronousStandbys(mode: PatroniSyncMode, count: number, eligible: number): number {
  if (mode === "off") return 0;
  return mode === "quorum" ? eligible : Math.min(count, eligible);
}

const etcdHosts = () => ETCD_MEMBERS.map((member) => `${member}:${ETCD_CLIENT_PORT}`);

/**
 * etcd has no setting that starts it with authentication on: each HA node's entrypoint turns it on
 * before Patroni starts, with the root user and the lab's etcd password, whichever node gets there
 * first (it waits for the three members' quorum; once it is on, the others see it and go on).
 */
function etcdAuthScript(): string[] {
  const password = `"$${ENV.etcdPassword}"`;
  return [
    `if [ -n "\${${ENV.etcdPassword}:-}" ]; then`,
    `  export ETCDCTL_ENDPOINTS=${etcdHosts().join(",")} ETCDCTL_DIAL_TIMEOUT=1s ETCDCTL_COMMAND_TIMEOUT=3s`,
    `  until etcdctl --user "${ETCD_ROOT_USER}:$${ENV.etcdPassword}" auth status 2>/dev/null | grep -q 'Status: true'; do`,
    `    etcdctl user add ${ETCD_ROOT_USER} --new-user-password=${password} --interactive=false >/dev/null 2>&1 || true`,
    `    etcdctl user grant-role ${ETCD_ROOT_USER} root >/dev/null 2>&1 || true`,
    "    etcdctl auth enable >/dev/null 2>&1 || sleep 0.2",
    "  done",
    "fi",
  ];
}

/** etcd's command line for one member of the lab's three-member cluster. */
export function etcdCommand(lab: string, member: string): string[] {
  const peers = ETCD_MEMBERS.map((name) => `${name}=http://${name}:${ETCD_PEER_PORT}`).join(",");
  return [
    "etcd",
    `--name=${member}`,
    "--data-dir=/var/lib/etcd-lab",
    `--listen-client-urls=http://0.0.0.0:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls=http://${member}:${ETCD_CLIENT_PORT}`,
    `--listen-peer-urls=http://0.0.0.0:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls=http://${member}:${ETCD_PEER_PORT}`,
    `--initial-cluster=${peers}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=repl-lab-${lab}`,
    // etcd's defaults, written out because they are what an election takes: a follower that hears no
    // heartbeat (every 100 ms) for the election timeout (1 s) starts an election.
    "--heartbeat-interval=100",
    "--election-timeout=1000",
    "--log-level=warn",
  ];
}

export interface PatroniNodeOptions {
  lab: string;
  node: string;
  ha: HaSpec;
  superuserPassword: string;
  replicationPassword: string;
  patroniPassword: string;
  etcdPassword: string;
  dataDir: string;
  /** postgresql.conf settings every node runs with (replication limits, the user's -c): Patroni's dynamic configuration. */
  parameters: Record<string, string>;
  /** Settings of this node alone (cluster_name). */
  localParameters: Record<string, string>;
  /** The port others reach this node's server on: 5432, or the fixed link delay's. */
  connectPort: number;
}

function patroniSyncKeys(mode: PatroniSyncMode): Record<string, unknown> {
  switch (mode) {
    case "off":
      return { synchronous_mode: false };
    case "on":
      return { synchronous_mode: true, synchronous_mode_strict: false };
    case "strict":
      return { synchronous_mode: true, synchronous_mode_strict: true };
    case "quorum":
      return { synchronous_mode: "quorum", synchronous_mode_strict: false };
  }
}

/** One node's Patroni configuration, as YAML (passed to Patroni in PATRONI_CONFIGURATION). */
export function patroniConfig(options: PatroniNodeOptions): string {
  const { ha } = options;
  const config = {
    scope: options.lab,
    namespace: PATRONI_NAMESPACE,
    name: options.node,
    log: { level: "INFO" },
    restapi: {
      listen: `0.0.0.0:${PATRONI_PORT}`,
      connect_address: `${options.node}:${PATRONI_PORT}`,
      authentication: { username: PATRONI_API_USER, password: options.patroniPassword },
    },
    etcd3: { hosts: etcdHosts(), username: ETCD_ROOT_USER, password: options.etcdPassword },
    bootstrap: {
      dcs: {
        ttl: ha.ttl,
        loop_wait: ha.loop_wait,
        retry_timeout: ha.retry_timeout,
        maximum_lag_on_failover: ha.maximum_lag_on_failover,
        ...patroniSyncKeys(ha.synchronous_mode),
        synchronous_node_count: ha.synchronous_node_count,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: options.parameters,
        },
      },
      initdb: [{ encoding: "UTF8" }, { "auth-host": "scram-sha-256" }, { "auth-local": "trust" }],
    },
    postgresql: {
      listen: "0.0.0.0:5432",
      connect_address: `${options.node}:${options.connectPort}`,
      data_dir: options.dataDir,
      pgpass: "/tmp/pgpass",
      authentication: {
        superuser: { username: "postgres", password: options.superuserPassword },
        replication: { username: "replicator", password: options.replicationPassword },
        rewind: { username: "postgres", password: options.superuserPassword },
      },
      parameters: { ...options.localParameters, unix_socket_directories: "/tmp", password_encryption: "scram-sha-256" },
      pg_hba: [
        "local all all trust",
        "host replication replicator samenet scram-sha-256",
        "host all all samenet scram-sha-256",
        "host all all all scram-sha-256",
      ],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: ha.nosync.includes(options.node) },
  };
  // Every string quoted: Patroni reads YAML 1.1, where a bare on or off is a boolean.
  return stringify(config, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}

/** Where an HA node's fixed link delay listens (templates/link-delay.pl fixed-end): its connect_address when the lab has --network-delay. */
export const LINK_FIXED_END_PORT = 5435;

/**
 * The HA node's entrypoint: the data directory made the postgres user's, etcd's authentication
 * turned on, the fixed link delay started when the lab has one, then Patroni as PID 1 (it reaps,
 * and forwards signals to itself).
 */
export function patroniEntrypoint(linkDelayScript: string): string[] {
  return [
    "bash",
    "-c",
    [
      "set -e",
      'install -d -o postgres -g postgres -m 0700 "$PGDATA"',
      "command -v patroni >/dev/null || { echo 'repl-lab: this image has no patroni: build one with `repl-lab image build --pg 17 --ha`' >&2; exit 127; }",
      "if command -v gosu >/dev/null; then as_postgres='gosu postgres'; else as_postgres='su-exec postgres'; fi",
      ...etcdAuthScript(),
      'if [ -n "${REPL_LAB_NETWORK_DELAY:-}" ]; then',
      "  cat > /tmp/repl-lab-link-delay.pl <<'LINK_DELAY_PL'",
      linkDelayScript.trimEnd(),
      "LINK_DELAY_PL",
      `  $as_postgres perl /tmp/repl-lab-link-delay.pl fixed-end ${LINK_FIXED_END_PORT} 5432 "$REPL_LAB_NETWORK_DELAY" &`,
      "fi",
      "exec $as_postgres patroni",
    ].join("\n"),
    "repl-lab-patroni",
  ];
}
