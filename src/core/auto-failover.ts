// pg_auto_failover as plain data: a monitor node (a PostgreSQL server with the pgautofailover
// extension) that decides from health checks, and a keeper (`pg_autoctl`) beside each PostgreSQL
// node that reports to it and carries out the state it is assigned. repl-lab writes their command
// lines and settings, and reads what the monitor reports.
// https://pg-auto-failover.readthedocs.io/en/main/architecture.html
import { ENV } from "./constants.js";
import { UsageError } from "./errors.js";
import type { SyncSpec } from "./sync-spec.js";
import { CHECK_ROLE } from "./proxy.js";

/** The monitor's node name (and network alias) in a pg_auto_failover lab. */
export const MONITOR = "monitor";
/** The formation every lab's nodes join (pg_auto_failover's default). */
export const FORMATION = "default";
/** The database the monitor keeps its state in, and the role keepers log in to it as. */
export const MONITOR_DATABASE = "pg_auto_failover";
export const MONITOR_NODE_USER = "autoctl_node";
export const REPLICATION_USER = "pgautofailover_replicator";

/**
 * The monitor's settings (postgresql.conf of the monitor, `pgautofailover.*`, milliseconds), the
 * keepers' `timeout.network_partition_timeout` (seconds), in the manager's own names, and the nodes'
 * `wal_sender_timeout` (milliseconds; pg_autoctl writes 30 s into postgresql-auto-failover.conf).
 * https://pg-auto-failover.readthedocs.io/en/main/ref/configuration.html
 */
export interface AutoFailoverSettings {
  health_check_period: number;
  health_check_timeout: number;
  health_check_max_retries: number;
  health_check_retry_delay: number;
  node_considered_unhealthy_timeout: number;
  primary_demote_timeout: number;
  startup_grace_period: number;
  network_partition_timeout: number;
  wal_sender_timeout: number;
}

/** pg_auto_failover's own defaults (2.2). */
export const AUTO_FAILOVER_DEFAULTS: AutoFailoverSettings = {
  health_check_period: 5000,
  health_check_timeout: 5000,
  health_check_max_retries: 2,
  health_check_retry_delay: 2000,
  node_considered_unhealthy_timeout: 20000,
  primary_demote_timeout: 30000,
  startup_grace_period: 10000,
  network_partition_timeout: 20,
  wal_sender_timeout: 30000,
};

/**
 * The lab's: the fastest the manager takes. The monitor checks every node each second, calls it
 * unhealthy after 2 s without an answer, and waits primary_demote_timeout (2 s) before the standby it
 * promotes takes writes: a killed primary is replaced in about 5 s. Below this the keepers'
 * one-second check-ins set the floor.
 *
 * A primary cut off by a partition that drops packets must stop before that. Its keeper, once it has
 * lost the monitor, demotes it when it has seen no standby in pg_stat_replication for
 * network_partition_timeout (1 s), counting from the last look that still saw one (pg_autoctl's
 * keeper.c, is_network_healthy and in_network_partition); a walsender whose standby went silent stays
 * there until wal_sender_timeout. Measured with `experiment split-brain --modes paf-async`:
 * - pg_autoctl's 30 s: the cut-off primary took writes for 30 s, 23 s of them beside the new one;
 * - 2 s: the walsenders were gone before the keeper's first look (its failed connection to the
 *   monitor takes 2 s), so it never started counting and took writes for the whole 35 s cut;
 * - 4 s: it stopped 5.7 to 6.6 s after the cut, the new primary's first write came 6.9 to 8.4 s
 *   after it (5 trials on a quiet machine): no overlap. Under the test suite's load one trial's
 *   first look came too late, and the old primary took writes until the heal: a race, not a bound.
 * pg_auto_failover 2.2 has no setting that makes a failover this fast also safe from that.
 */
export const LAB_AUTO_FAILOVER_DEFAULTS: AutoFailoverSettings = {
  health_check_period: 1000,
  health_check_timeout: 1000,
  health_check_max_retries: 1,
  health_check_retry_delay: 500,
  node_considered_unhealthy_timeout: 2000,
  primary_demote_timeout: 2000,
  startup_grace_period: 2000,
  network_partition_timeout: 1,
  wal_sender_timeout: 4000,
};

/** What the monitor is told about synchronous replication, and each keeper about itself. */
export interface AutoFailoverSync {
  /** The formation's number_sync_standbys. */
  number_sync_standbys: number;
  /** Per follower: whether it counts in the write quorum (replication-quorum) and its candidate priority (0–100; 0 never promoted). */
  followers: Record<string, { replication_quorum: boolean; candidate_priority: number }>;
  /** What of the sync spec pg_auto_failover cannot express, said in `up`'s output and status. */
  notes: string[];
}

export interface AutoFailoverSpec {
  settings: AutoFailoverSettings;
  sync: AutoFailoverSync;
}

const DEFAULT_PRIORITY = 50;

/**
 * How a PostgreSQL sync spec maps to pg_auto_failover, which writes synchronous_standby_names
 * itself, always as ANY n over the standbys in the write quorum:
 * - no spec: no follower in the quorum, so the primary never waits (asynchronous);
 * - ANY n (names): the named followers in the quorum, number_sync_standbys n;
 * - FIRST n (names): the same quorum and n, and the list's order as candidate priority (who is
 *   promoted first); the primary still waits for any n of them, not the first n, which
 *   pg_auto_failover cannot express.
 * The leader is a node like the others (priority 50, in the quorum) once it is a standby.
 */
export function autoFailoverSyncFromSpec(spec: SyncSpec | null, followers: readonly string[]): AutoFailoverSync {
  if (!spec) {
    return {
      number_sync_standbys: 0,
      followers: Object.fromEntries(followers.map((name) => [name, { replication_quorum: false, candidate_priority: DEFAULT_PRIORITY }])),
      notes: [],
    };
  }
  const names = spec.names.includes("*") ? [...followers] : spec.names;
  if (spec.num > names.length) throw new UsageError(`sync: ${spec.num} synchronous standbys of ${names.length} named`);
  const notes: string[] = [];
  // The monitor keeps number_sync_standbys + 1 standbys in the quorum (so that it can lose one and
  // still take writes), and with number_sync_standbys 0 still writes ANY 1 over the quorum: ANY n of
  // exactly n names is number_sync_standbys n - 1, which says the same only for n = 1.
  let numberSync = spec.num;
  if (names.length === spec.num) {
    if (spec.num > 1) {
      throw new UsageError(`sync: ${spec.num} synchronous standbys of ${names.length} named cannot be expressed with pg_auto_failover: it needs number_sync_standbys + 1 standbys in the write quorum; name ${spec.num + 1} or more`);
    }
    numberSync = 0;
    notes.push(`number_sync_standbys 0 with ${names[0]} alone in the write quorum: pg_auto_failover writes ANY 1 (${names[0]}), and stops waiting for it (wait_primary) while it is unhealthy, where PostgreSQL alone would block commits`);
  }
  const priority = (name: string) => (spec.method === "FIRST" && names.length > 1 ? Math.max(1, 90 - 10 * names.indexOf(name)) : DEFAULT_PRIORITY);
  if (spec.method === "FIRST" && names.length > spec.num) {
    notes.push(`pg_auto_failover writes ANY ${spec.num} (…): the primary waits for any ${spec.num} of ${names.join(", ")}, not the first; their order sets who is promoted first`);
  }
  return {
    number_sync_standbys: numberSync,
    followers: Object.fromEntries(
      followers.map((name) => [name, names.includes(name) ? { replication_quorum: true, candidate_priority: priority(name) } : { replication_quorum: false, candidate_priority: DEFAULT_PRIORITY }]),
    ),
    notes,
  };
}

/** The monitor's settings as postgresql.conf lines. */
export function monitorConfLines(settings: AutoFailoverSettings): string[] {
  const keys = ["health_check_period", "health_check_timeout", "health_check_max_retries", "health_check_retry_delay", "node_considered_unhealthy_timeout", "primary_demote_timeout", "startup_grace_period"] as const;
  return keys.map((key) => `pgautofailover.${key} = ${settings[key]}`);
}

const PREAMBLE = [
  "set -e",
  'install -d -o postgres -g postgres -m 0700 "$PGDATA"',
  "install -d -o postgres -g postgres /var/run/postgresql",
  "command -v pg_autoctl >/dev/null || { echo 'repl-lab: this image has no pg_autoctl: build one with `repl-lab image build --pg 17 --ha`' >&2; exit 127; }",
  "if command -v gosu >/dev/null; then as_postgres='gosu postgres'; else as_postgres='su-exec postgres'; fi",
  // pg_autoctl keeps its configuration and state under the postgres user's home, and its pid file
  // under /tmp, which a container's restart keeps: a stale one (PID 1 again) would stop it starting.
  "cd /tmp",
  "rm -rf /tmp/pg_autoctl",
];

/**
 * Users of the published ports log in with a password (the lab's superuser); the lines pg_autoctl
 * writes cover its own roles. On a node, the HA proxy's role check (core/proxy.ts) logs in without
 * one from the lab network: a role with no privileges, which can run `select pg_is_in_recovery()`.
 * Replication connections log in with a password from any address too: pg_autoctl's own lines name
 * each node's address when it registered, and a node restarted with another address (the engine
 * gives a started container any free one) was refused by its new primary ("no pg_hba.conf entry for
 * replication connection") until pg_autoctl on that primary had added a line for the new address:
 * for over a minute, once, in `experiment ha-failover` (the old primary, killed and started again).
 */
const hbaLines = (withCheck: boolean) =>
  `grep -q "^host all all all scram-sha-256" "$PGDATA/pg_hba.conf" || printf '%s\\n' ${withCheck ? `'host postgres ${CHECK_ROLE} samenet trust' ` : ""}'host all all all scram-sha-256' 'host replication all all scram-sha-256' >> "$PGDATA/pg_hba.conf"`;

/**
 * The monitor's entrypoint: `pg_autoctl create monitor` once (then the settings appended to its
 * postgresql.conf and the passwords set in single-user mode, while it is stopped), then
 * `pg_autoctl run` as PID 1 for good.
 */
export function monitorEntrypoint(settings: AutoFailoverSettings): string[] {
  return [
    "bash",
    "-c",
    [
      ...PREAMBLE,
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
      `  $as_postgres pg_autoctl create monitor --pgdata "$PGDATA" --pgport 5432 --hostname ${MONITOR} --auth scram-sha-256 --no-ssl`,
      `  printf '%s\\n' ${monitorConfLines(settings).map((line) => `'${line}'`).join(" ")} >> "$PGDATA/postgresql.conf"`,
      `  ${hbaLines(false)}`,
      `  printf "ALTER ROLE ${MONITOR_NODE_USER} PASSWORD '%s';\\nALTER ROLE postgres PASSWORD '%s';\\n" "$${ENV.monitorPassword}" "$${ENV.superuserPassword}" | $as_postgres postgres --single -D "$PGDATA" ${MONITOR_DATABASE} >/dev/null`,
      "fi",
      'exec $as_postgres pg_autoctl run --pgdata "$PGDATA"',
    ].join("\n"),
    "repl-lab-monitor",
  ];
}

export interface KeeperOptions {
  node: string;
  candidatePriority: number;
  replicationQuorum: boolean;
  networkPartitionTimeout: number;
  /** wal_sender_timeout, ms, appended to postgresql.conf after pg_autoctl's include, so that it wins. */
  walSenderTimeoutMs: number;
}

/**
 * A keeper node's entrypoint: the replication password in the postgres user's .pgpass (libpq reads
 * it for pg_basebackup and the walreceiver), `pg_autoctl create postgres` once (registers with the
 * monitor; a standby takes its base backup from the primary the monitor names), the keeper's
 * network_partition_timeout, the passwords set on a primary while it is stopped, then
 * `pg_autoctl run` as PID 1.
 */
export function keeperEntrypoint(options: KeeperOptions): string[] {
  const monitorUrl = `postgres://${MONITOR_NODE_USER}:$${ENV.monitorPassword}@${MONITOR}:5432/${MONITOR_DATABASE}?sslmode=disable`;
  return [
    "bash",
    "-c",
    [
      ...PREAMBLE,
      `printf '*:*:*:${REPLICATION_USER}:%s\\n' "$${ENV.replicationPassword}" > ~postgres/.pgpass`,
      "chown postgres:postgres ~postgres/.pgpass && chmod 0600 ~postgres/.pgpass",
      'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
      `  $as_postgres pg_autoctl create postgres --pgdata "$PGDATA" --pgport 5432 --hostname ${options.node} --name ${options.node} ` +
        `--auth scram-sha-256 --no-ssl --pg-hba-lan --monitor "${monitorUrl}" ` +
        `--candidate-priority ${options.candidatePriority} --replication-quorum ${options.replicationQuorum}`,
      `  $as_postgres pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout ${options.networkPartitionTimeout} >/dev/null`,
      // A standby's postgresql.conf comes from its primary's base backup, line included.
      `  grep -q "^wal_sender_timeout = " "$PGDATA/postgresql.conf" || echo "wal_sender_timeout = '${options.walSenderTimeoutMs}ms'" >> "$PGDATA/postgresql.conf"`,
      `  ${hbaLines(true)}`,
      '  if [ ! -f "$PGDATA/standby.signal" ]; then',
      `    printf "ALTER ROLE ${REPLICATION_USER} PASSWORD '%s';\\nALTER ROLE postgres PASSWORD '%s';\\nCREATE ROLE ${CHECK_ROLE} LOGIN;\\n" "$${ENV.replicationPassword}" "$${ENV.superuserPassword}" | $as_postgres postgres --single -D "$PGDATA" postgres >/dev/null`,
      "  fi",
      "fi",
      'exec $as_postgres pg_autoctl run --pgdata "$PGDATA"',
    ].join("\n"),
    "repl-lab-keeper",
  ];
}

/** The states a keeper reports and the monitor assigns (pg_auto_failover's FSM), in which a node serves writes. */
export const WRITABLE_STATES = new Set(["single", "primary", "wait_primary"]);
