// The experiments by name, with what `--help` shows for each; their code is loaded only when one runs.
import type { Experiment } from "./types.js";

export interface ExperimentOption {
  /** commander's flag syntax, e.g. "--levels <list>". */
  flags: string;
  description: string;
}

export interface CatalogEntry {
  name: string;
  summary: string;
  options: ExperimentOption[];
  example: string;
  load(): Promise<Experiment<object>>;
}

const trials = (fallback: number): ExperimentOption => ({ flags: "--trials <n>", description: `repetitions (default ${fallback})` });
const duration = (fallback: string, what: string): ExperimentOption => ({ flags: "--duration <d>", description: `${what} (default ${fallback})` });

export const EXPERIMENTS: CatalogEntry[] = [
  {
    name: "commit-latency",
    summary: "commit latency and throughput for each synchronous_commit level against a sync spec",
    options: [
      { flags: "--sync <spec>", description: 'synchronous_standby_names (default "standby1")' },
      { flags: "--followers <n>", description: "followers in the lab it makes (default 2)" },
      { flags: "--levels <list>", description: "synchronous_commit levels (default off,local,remote_write,on,remote_apply)" },
      { flags: "--clients <n>", description: "concurrent committing clients (default 4)" },
      duration("5s", "time per level"),
      { flags: "--apply-delay <d>", description: "recovery_min_apply_delay on every standby, e.g. 200ms" },
      { flags: "--network-delay <d>", description: "one-way latency on every standby's link, e.g. 20ms" },
    ],
    example: "repl-lab experiment commit-latency --network-delay 20ms --out results/",
    load: async () => (await import("./commit-latency.js")).commitLatency as unknown as Experiment<object>,
  },
  {
    name: "failover-loss",
    summary: "acknowledged writes lost when the leader is killed and the most advanced standby promoted, per mode",
    options: [
      { flags: "--modes <list>", description: "async and synchronous_commit levels with one sync standby (default async,on,remote_apply)" },
      trials(10),
      { flags: "--writers <n>", description: "concurrent writers (default 8)" },
      { flags: "--network-delay <d>", description: "one-way latency on every standby's link (default 20ms; 0 for none)" },
      { flags: "--warmup <d>", description: "how long the writers run before the kill (default 1.5s)" },
      { flags: "--ha", description: "HA mode: Patroni fails over by itself (sync modes become Patroni's synchronous mode)" },
    ],
    example: "repl-lab experiment failover-loss --trials 10 --network-delay 20ms   (--ha: Patroni + etcd)",
    load: async () => (await import("./failover-loss.js")).failoverLoss as unknown as Experiment<object>,
  },
  {
    name: "stale-reads",
    summary: "stale reads from a lagging replica, and what read-your-writes, monotonic reads and remote_apply cost and buy",
    options: [
      { flags: "--policies <list>", description: "replica, primary, lsn-wait, sticky, remote_apply (default all)" },
      { flags: "--clients <n>", description: "clients each writing and reading (default 4)" },
      duration("10s", "time per policy"),
      { flags: "--apply-delay <d>", description: "how late standby1 replays (default 2s)" },
    ],
    example: "repl-lab experiment stale-reads --apply-delay 2s",
    load: async () => (await import("./stale-reads.js")).staleReads as unknown as Experiment<object>,
  },
  {
    name: "slot-retention",
    summary: "whether a long-stopped standby can catch up: a slot, no slot with wal_keep_size, max_slot_wal_keep_size",
    options: [
      { flags: "--modes <list>", description: "slot, no-slot, max-slot-wal-keep-size (default all)" },
      { flags: "--wal <size>", description: "WAL the leader writes while the standby is stopped (default 320MB)" },
      { flags: "--keep <size>", description: "wal_keep_size without a slot, and max_slot_wal_keep_size (default a quarter of --wal)" },
    ],
    example: "repl-lab experiment slot-retention --wal 320MB",
    load: async () => (await import("./slot-retention.js")).slotRetention as unknown as Experiment<object>,
  },
  {
    name: "detection",
    summary: "how long the primary takes to notice a failed sync standby (kill, stop, pause, partition), and the commit stall",
    options: [
      { flags: "--faults <list>", description: "kill, stop, pause, partition (default all)" },
      { flags: "--wal-sender-timeouts <list>", description: "wal_sender_timeout values (default 5s,10s)" },
    ],
    example: "repl-lab experiment detection --wal-sender-timeouts 5s,10s",
    load: async () => (await import("./detection.js")).detection as unknown as Experiment<object>,
  },
  {
    name: "ha-failover",
    summary: "automatic failover by Patroni and etcd, phase by phase: leader lock gone, new holder, promoted, first write (HA mode)",
    options: [
      { flags: "--faults <list>", description: "kill (the lock must expire), stop (Patroni releases it) (default both)" },
      { flags: "--settings <list>", description: "lab (ttl 20 s, loop_wait 1 s, retry_timeout 3 s), patroni (its defaults 30/10/10) (default lab)" },
      trials(10),
      { flags: "--followers <n>", description: "followers in the lab it makes (default 2)" },
    ],
    example: "repl-lab experiment ha-failover --trials 10 --settings lab,patroni",
    load: async () => (await import("./ha-failover.js")).haFailover as unknown as Experiment<object>,
  },
  {
    name: "lag",
    summary: "replication lag in bytes and seconds at a set WAL rate: the seed's \"8 MB behind at 2 MB/s is 4 s\"",
    options: [
      { flags: "--rates <list>", description: "WAL rates (default 1MB/s,2MB/s,4MB/s)" },
      { flags: "--apply-delay <d>", description: "how late the standby replays (default 2s)" },
      duration("10s", "measuring time per rate"),
    ],
    example: "repl-lab experiment lag --rates 1MB/s,2MB/s,4MB/s",
    load: async () => (await import("./lag.js")).lag as unknown as Experiment<object>,
  },
];

export function findExperiment(name: string): CatalogEntry | undefined {
  return EXPERIMENTS.find((entry) => entry.name === name);
}
