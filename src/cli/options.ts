// The options many commands share, each declared once: the lab, --json, --quiet, the topology of a
// lab to make, and the report formats of check and scenario run.
import { Command, Option } from "commander";
import { defaultLabName, SYNC_COMMIT_LEVELS } from "../core/constants.js";
import { REPORTERS, type Reporter } from "../views/reporters.js";

export type { TopologyFlags } from "./topology.js";

export interface LabFlags {
  lab: string;
}

export interface JsonFlags {
  json?: boolean;
}

export interface ReportFlags extends JsonFlags {
  reporter: Reporter;
  out?: string;
}

const LAB_HELP = `lab name (env REPL_LAB_NAME; default "${defaultLabName()}")`;

/** --lab, defaulting to REPL_LAB_NAME or "default". */
export const labOption = () => new Option("--lab <name>", LAB_HELP).default(defaultLabName());

export const jsonOption = (help = "print the result as JSON") => new Option("--json", help);

export const quietOption = () => new Option("-q, --quiet", "no progress on stderr");

export const NODE_ARGUMENT = ["<node>", "leader, standby1, …"] as const;

/** --reporter and --out, for results CI reads. */
export function addReportOptions(command: Command): Command {
  return command
    .addOption(new Option("--reporter <format>", "text, tap (TAP 13) or junit (JUnit XML)").choices(REPORTERS).default("text"))
    .option("-o, --out <file>", "write the report (tap or junit) to this file instead of stdout");
}

/** The lab to make, as flags (src/cli/topology.ts turns them into a topology). --lab has no default here: a lab file may name it. */
export function addTopologyOptions(command: Command): Command {
  return command
    .option("--lab <name>", LAB_HELP)
    .option("-f, --file <lab.yaml>", "read the topology from a YAML lab file (flags override it)")
    .option("-n, --followers <n>", "number of followers, 1 to 16 (default 2)")
    .option("--sync <spec>", 'synchronous standbys: standby1 | "FIRST 2 (standby1, standby2)" | "ANY 1 (*)"; left out: asynchronous')
    .addOption(new Option("--sync-commit <level>", "synchronous_commit (default on)").choices(SYNC_COMMIT_LEVELS))
    .option("--no-slots", "bootstrap followers without replication slots")
    .option("--wal-sender-timeout <duration>", "wal_sender_timeout, e.g. 5s (default PostgreSQL's 60s)")
    .option("--network-delay <duration>", "one-way latency on every follower's replication link, e.g. 20ms")
    .option("-c, --setting <name=value>", "extra postgresql.conf setting for every node (repeatable)", (value: string, all: string[] = []) => [...all, value])
    .option("--port <port>", "host port of the leader; followers get the next ones (default: free ports, fixed for the lab's life)")
    .option("--image <image>", "PostgreSQL image (env REPL_LAB_IMAGE; default postgres:17, else repl-lab/postgres:17; with --ha repl-lab/postgres-ha:17)")
    .option("--ha", "HA mode: an HA manager runs every node and fails over by itself (Patroni with three etcd members, or pg_auto_failover with a monitor)")
    .addOption(new Option("--manager <manager>", "HA: which manager (default patroni)").choices(["patroni", "pg_auto_failover"]))
    .option("--manager-defaults", "HA: the manager's own default timings instead of the lab's fastest (Patroni: ttl 30s…; pg_auto_failover: 20 s unhealthy, 30 s demote)")
    .option("--proxy", "HA: an HAProxy container with a writer port that follows the leader and a reader port over the replicas (WRITER_URL, READER_URL)")
    .option("--ttl <duration>", "HA: Patroni's ttl, how long the leader lock lives without renewal (lab default 20s, Patroni's 30s)")
    .option("--loop-wait <duration>", "HA: Patroni's loop_wait between its cycles (lab default 1s, Patroni's 10s)")
    .option("--retry-timeout <duration>", "HA: Patroni's retry_timeout for etcd and PostgreSQL (lab default 3s, Patroni's 10s)")
    .option("--maximum-lag-on-failover <size>", "HA: a replica further behind than this is not promoted (default 1MB)")
    .addOption(new Option("--sync-mode <mode>", "HA: Patroni's synchronous mode (default: on with --sync FIRST n, quorum with ANY n, else off)").choices(["off", "on", "strict", "quorum"]))
    .option("--patroni-defaults", "HA: Patroni's production defaults (ttl 30s, loop_wait 10s, retry_timeout 10s) instead of the lab's")
    .option("--host <name=engine-url>", "run the lab across engines of one swarm: a host and its engine URL, as DOCKER_HOST takes it (repeatable; tcp://, ssh://, unix://)", (value: string, all: string[] = []) => [...all, value])
    .option("--place <member=host>", "with --host: put a member on a host (repeatable; default round-robin: leader on the first host, standbyN on host N…)", (value: string, all: string[] = []) => [...all, value]);
}
