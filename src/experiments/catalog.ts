// The experiments by name: what `--help` shows for each and its options, each declared once (flag,
// default, bounds, help). Light on purpose: `experiment <name> --help` loads this and no experiment's
// code (run.ts loads that when one runs).
import { SYNC_COMMIT_LEVELS } from "../core/constants.js";
import { count, duration, durations, flag, list, parseOptions, rates, size, text, type ConfigOf, type OptionDeclaration, type RawOptions } from "./options.js";

export interface ExperimentDeclaration<Options extends readonly OptionDeclaration[] = readonly OptionDeclaration[]> {
  name: string;
  summary: string;
  example: string;
  options: Options;
  /** The config from the options given; a UsageError names the flag of a bad one. */
  parse(raw: RawOptions): ConfigOf<Options>;
}

function declareExperiment<const Options extends readonly OptionDeclaration[]>(
  declaration: Omit<ExperimentDeclaration<Options>, "parse">,
): ExperimentDeclaration<Options> {
  return { ...declaration, parse: (raw) => parseOptions(declaration.options, raw) };
}

/** The config an experiment's code receives. */
export type ConfigFor<Declaration extends ExperimentDeclaration> = ReturnType<Declaration["parse"]>;

const MB = 1024 * 1024;

export const COMMIT_LATENCY = declareExperiment({
  name: "commit-latency",
  summary: "commit latency and throughput for each synchronous_commit level against a sync spec",
  example: "repl-lab experiment commit-latency --network-delay 20ms --out results/",
  options: [
    text("sync", { default: "standby1", placeholder: "<spec>", help: "synchronous_standby_names" }),
    count("followers", { default: 2, min: 1, max: 16, help: "followers in the lab it makes" }),
    list("levels", SYNC_COMMIT_LEVELS, { help: `synchronous_commit levels: ${SYNC_COMMIT_LEVELS.join(", ")}` }),
    count("clients", { default: 4, min: 1, max: 64, help: "concurrent committing clients" }),
    duration("duration", { default: "5s", min: "200ms", max: "600s", help: "time per level" }),
    duration("applyDelay", { min: "0ms", max: "60s", help: "recovery_min_apply_delay on every standby, e.g. 200ms" }),
    duration("networkDelay", { min: "0ms", max: "10s", help: "one-way latency on every standby's link, e.g. 20ms" }),
  ],
});

export const FAILOVER_LOSS = declareExperiment({
  name: "failover-loss",
  summary: "acknowledged writes lost when the leader is killed and the most advanced standby promoted, per mode",
  example: "repl-lab experiment failover-loss --trials 10 --network-delay 20ms   (--ha --managers patroni,pg_auto_failover)",
  options: [
    list("modes", ["async", "local", "remote_write", "on", "remote_apply"], { default: ["async", "on", "remote_apply"], help: "async, and synchronous_commit levels under --sync" }),
    count("followers", { default: 2, min: 1, max: 16, help: "followers in each trial's lab; the one that received the most WAL is promoted" }),
    text("sync", { placeholder: "<spec>", help: 'synchronous_standby_names for the synchronous modes, e.g. "ANY 1 (standby1, standby2, standby3)" (default FIRST 1 over every follower)' }),
    count("trials", { default: 10, min: 1, max: 100, help: "repetitions" }),
    count("writers", { default: 8, min: 1, max: 64, help: "concurrent writers" }),
    duration("networkDelay", { default: "20ms", min: "0ms", max: "10s", help: "one-way latency on every standby's link; 0 for none" }),
    duration("warmup", { default: "1.5s", min: "100ms", max: "60s", help: "how long the writers run before the kill" }),
    flag("ha", { help: "HA mode: the manager fails over by itself (sync modes become Patroni's synchronous mode, or pg_auto_failover's write quorum)" }),
    list("managers", ["patroni", "pg_auto_failover"], { default: ["patroni"], help: "with --ha: patroni, pg_auto_failover (which takes modes async and on, and --network-delay 0)" }),
  ],
});

export const STALE_READS = declareExperiment({
  name: "stale-reads",
  summary: "stale reads from a lagging replica, and what read-your-writes, monotonic reads and remote_apply cost and buy",
  example: "repl-lab experiment stale-reads --apply-delay 2s",
  options: [
    list("policies", ["replica", "primary", "lsn-wait", "sticky", "remote_apply"], { help: "replica, primary, lsn-wait, sticky, remote_apply" }),
    count("clients", { default: 4, min: 1, max: 32, help: "clients each writing and reading" }),
    duration("duration", { default: "10s", min: "500ms", max: "600s", help: "time per policy" }),
    duration("applyDelay", { default: "2s", min: "1ms", max: "60s", help: "how late standby1 replays" }),
    duration("lsnWaitTimeout", { default: "10s", min: "100ms", max: "600s", help: "lsn-wait: the longest a read waits for its replica to replay the write" }),
  ],
});

export const SLOT_RETENTION = declareExperiment({
  name: "slot-retention",
  summary: "whether a long-stopped standby can catch up: a slot, no slot with wal_keep_size, max_slot_wal_keep_size",
  example: "repl-lab experiment slot-retention --wal 320MB",
  options: [
    list("modes", ["slot", "no-slot", "max-slot-wal-keep-size"], { help: "slot, no-slot, max-slot-wal-keep-size" }),
    size("wal", { default: "320MB", min: "32MB", max: "8GB", help: "WAL the leader writes while the standby is stopped" }),
    size("keep", {
      min: "16MB",
      max: "4GB",
      help: "wal_keep_size without a slot, and max_slot_wal_keep_size",
      // Past max_wal_size (32 MB in that mode, plus a segment) a slot's WAL is "extended" up to this
      // limit: 80 MB leaves room for that, and at most half of --wal leaves room for "unreserved" and "lost".
      default: {
        text: "a quarter of --wal, at least 80MB, at most half of --wal",
        from: (config) => {
          const wal = config.wal_bytes as number;
          return Math.min(Math.max(Math.floor(wal / 4 / MB), 80), Math.floor(wal / 2 / MB)) * MB;
        },
      },
    }),
  ],
});

export const DETECTION = declareExperiment({
  name: "detection",
  summary: "how long the primary takes to notice a failed sync standby (kill, stop, pause, partition), and the commit stall",
  example: "repl-lab experiment detection --wal-sender-timeouts 5s,10s",
  options: [
    list("faults", ["kill", "stop", "pause", "partition"], { help: "kill, stop, pause, partition" }),
    durations("walSenderTimeouts", { default: ["5s", "10s"], min: "1s", max: "120s", help: "wal_sender_timeout values" }),
  ],
});

export const HA_FAILOVER = declareExperiment({
  name: "ha-failover",
  summary: "automatic failover by each HA manager, phase by phase: detected, decided, promoted, first write (multi-host URL and proxy)",
  example: "repl-lab experiment ha-failover --trials 10 --managers patroni,pg_auto_failover",
  options: [
    list("managers", ["patroni", "pg_auto_failover"], { default: ["patroni", "pg_auto_failover"], help: "patroni (leader lock in etcd), pg_auto_failover (a monitor's health checks)" }),
    list("faults", ["kill", "stop"], { help: "kill (SIGKILL), stop (a clean stop: Patroni releases its lock; pg_auto_failover's keeper does not tell the monitor)" }),
    list("settings", ["lab", "defaults"], { default: ["lab"], help: "lab (each manager's fastest safe timings), defaults (the manager's own: Patroni ttl 30 s, pg_auto_failover 20 s + 30 s)" }),
    count("trials", { default: 10, min: 1, max: 100, help: "repetitions" }),
    count("followers", { default: 2, min: 1, max: 8, help: "followers in the lab it makes" }),
  ],
});

export const SPLIT_BRAIN = declareExperiment({
  name: "split-brain",
  summary: "writes on the losing side of a partition: the leader cut from every other member, a writer on each node, the ledger read after the heal",
  example: "repl-lab experiment split-brain --trials 10 --modes ha-sync",
  options: [
    list("modes", ["ha-async", "ha-sync", "paf-async", "paf-sync", "manual"], {
      default: ["ha-async", "ha-sync", "manual"],
      help: "ha-async, ha-sync (Patroni's synchronous mode), paf-async, paf-sync (pg_auto_failover, its write quorum), manual (nobody fails over)",
    }),
    count("trials", { default: 3, min: 1, max: 50, help: "repetitions" }),
    duration("hold", { default: "35s", min: "1s", max: "600s", help: "how long the cut lasts (Patroni's lock expires after ttl 20 s); in HA modes also until the other side took a write, at most 60 s more" }),
    duration("warmup", { default: "2s", min: "100ms", max: "60s", help: "how long the writers run before the cut" }),
  ],
});

export const LAG = declareExperiment({
  name: "lag",
  summary: "replication lag in bytes and seconds at a set WAL rate: bytes behind ÷ WAL rate = seconds behind (8 MB at 2 MB/s is 4 s)",
  example: "repl-lab experiment lag --rates 1MB/s,2MB/s,4MB/s",
  options: [
    rates("rates", { default: ["1MB/s", "2MB/s", "4MB/s"], min: "64kB/s", max: "64MB/s", help: "WAL rates" }),
    duration("applyDelay", { default: "2s", min: "100ms", max: "60s", help: "how late the standby replays" }),
    duration("duration", { default: "10s", min: "2s", max: "600s", help: "measuring time per rate" }),
  ],
});

export const EXPERIMENTS: readonly ExperimentDeclaration[] = [COMMIT_LATENCY, FAILOVER_LOSS, STALE_READS, SLOT_RETENTION, DETECTION, HA_FAILOVER, SPLIT_BRAIN, LAG];

export function findExperiment(name: string): ExperimentDeclaration | undefined {
  return EXPERIMENTS.find((entry) => entry.name === name);
}
