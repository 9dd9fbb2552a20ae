// The pure parts of the experiments: options into configs (a bad one is a usage error), and the
// conclusion each computes from its rows.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { COMMIT_LATENCY, DETECTION, EXPERIMENTS, FAILOVER_LOSS, LAG, SLOT_RETENTION, SPLIT_BRAIN, STALE_READS, type ExperimentDeclaration } from "../../src/experiments/catalog.js";
import { commitLatency } from "../../src/experiments/commit-latency.js";
import { failoverLoss } from "../../src/experiments/failover-loss.js";
import { splitBrain } from "../../src/experiments/split-brain.js";
import { LabError } from "../../src/core/errors.js";
import { runExperiment } from "../../src/experiments/run.js";
import type { Row } from "../../src/experiments/types.js";
import { FakeEngine, fakeRuntime, healthy } from "../fakes.js";
import { Latencies } from "../../src/experiments/measure.js";

describe("experiment options", () => {
  it("take flags' strings and the library's values alike", () => {
    expect(COMMIT_LATENCY.parse({ applyDelay: "200ms", levels: "on,local", clients: "3" })).toMatchObject({ apply_delay_ms: 200, levels: ["on", "local"], clients: 3 });
    expect(COMMIT_LATENCY.parse({ applyDelay: 200, levels: ["on", "local"], clients: 3 })).toMatchObject({ apply_delay_ms: 200, levels: ["on", "local"], clients: 3 });
    expect(FAILOVER_LOSS.parse({})).toMatchObject({ modes: ["async", "on", "remote_apply"], trials: 10, writers: 8, network_delay_ms: 20 });
    expect(FAILOVER_LOSS.parse({ networkDelay: "0" }).network_delay_ms).toBe(0);
    expect(SLOT_RETENTION.parse({ wal: "320MB" }).wal_bytes).toBe(320 * 1024 * 1024);
    expect(LAG.parse({ rates: "512kB/s,2MB/s" }).rates_bytes_per_s).toEqual([512 * 1024, 2 * 1024 * 1024]);
  });

  it("default to what each experiment declares, a size's default following the size before it", () => {
    const MB = 1024 * 1024;
    const all = (declaration: ExperimentDeclaration) => declaration.parse({});
    expect(EXPERIMENTS.map((declaration) => [declaration.name, all(declaration)])).toEqual([
      ["commit-latency", { sync: "standby1", followers: 2, levels: ["off", "local", "remote_write", "on", "remote_apply"], clients: 4, duration_ms: 5000, apply_delay_ms: null, network_delay_ms: null }],
      ["failover-loss", { modes: ["async", "on", "remote_apply"], followers: 2, sync: undefined, trials: 10, writers: 8, network_delay_ms: 20, warmup_ms: 1500, ha: false, managers: ["patroni"] }],
      ["stale-reads", { policies: ["replica", "primary", "lsn-wait", "sticky", "remote_apply"], clients: 4, duration_ms: 10_000, apply_delay_ms: 2000, lsn_wait_timeout_ms: 10_000 }],
      ["slot-retention", { modes: ["slot", "no-slot", "max-slot-wal-keep-size"], wal_bytes: 320 * MB, keep_bytes: 80 * MB }],
      ["detection", { faults: ["kill", "stop", "pause", "partition"], wal_sender_timeouts_ms: [5000, 10_000] }],
      ["ha-failover", { managers: ["patroni", "pg_auto_failover"], faults: ["kill", "stop"], settings: ["lab"], trials: 10, followers: 2 }],
      ["split-brain", { modes: ["ha-async", "ha-sync", "manual"], trials: 3, hold_ms: 35_000, warmup_ms: 2000 }],
      ["lag", { rates_bytes_per_s: [1 * MB, 2 * MB, 4 * MB], apply_delay_ms: 2000, duration_ms: 10_000 }],
    ]);
    expect(SLOT_RETENTION.parse({ wal: "1GB" }).keep_bytes).toBe(256 * MB);
    expect(SLOT_RETENTION.parse({ wal: "100MB" }).keep_bytes).toBe(50 * MB);
    expect(SLOT_RETENTION.parse({ wal: "1GB", keep: "64MB" }).keep_bytes).toBe(64 * MB);
    expect(FAILOVER_LOSS.parse({ ha: true }).ha).toBe(true);
    expect(DETECTION.parse({ walSenderTimeouts: "2s, 3s" }).wal_sender_timeouts_ms).toEqual([2000, 3000]);
  });

  it("give each flag its help with the default shown", () => {
    const help = (declaration: ExperimentDeclaration) => Object.fromEntries(declaration.options.map((option) => [option.flags, option.description]));
    expect(help(LAG)).toEqual({
      "--rates <list>": "WAL rates (default 1MB/s,2MB/s,4MB/s)",
      "--apply-delay <d>": "how late the standby replays (default 2s)",
      "--duration <d>": "measuring time per rate (default 10s)",
    });
    expect(help(COMMIT_LATENCY)).toMatchObject({ "--sync <spec>": 'synchronous_standby_names (default "standby1")', "--apply-delay <d>": "recovery_min_apply_delay on every standby, e.g. 200ms" });
    expect(help(FAILOVER_LOSS)["--ha"]).toBe("HA mode: the manager fails over by itself (sync modes become Patroni's synchronous mode, or pg_auto_failover's write quorum)");
    expect(help(DETECTION)["--faults <list>"]).toBe("kill, stop, pause, partition (default all)");
  });

  it.each([
    [() => COMMIT_LATENCY.parse({ levels: "sometimes" }), "--levels sometimes"],
    [() => COMMIT_LATENCY.parse({ clients: "0" }), "--clients 0: expected a whole number from 1 to 64"],
    [() => COMMIT_LATENCY.parse({ duration: "soon" }), "--duration soon"],
    [() => COMMIT_LATENCY.parse({ sync: " " }), "--sync"],
    [() => FAILOVER_LOSS.parse({ trials: "1.5" }), "--trials 1.5"],
    [() => STALE_READS.parse({ policies: "replica,psychic" }), "--policies replica,psychic"],
    [() => SLOT_RETENTION.parse({ wal: "1MB" }), "--wal 1MB"],
    [() => LAG.parse({ rates: "fast" }), "--rates fast"],
    [() => LAG.parse({ rates: "128MB/s" }), "--rates 128MB/s: expected rates such as 1MB/s,2MB/s (64kB/s to 64MB/s)"],
    [() => LAG.parse({ applyDelay: "50ms" }), "--apply-delay 50ms: expected a duration from 100ms to 60s"],
    [() => FAILOVER_LOSS.parse({ ha: "maybe" }), "--ha maybe"],
    [() => DETECTION.parse({ walSenderTimeouts: "5s,never" }), "--wal-sender-timeouts never"],
    [() => COMMIT_LATENCY.parse({ apply_delay: "1s" }), "unknown option --apply_delay"],
  ])("refuse a bad value with a usage error naming the flag (%#)", (parse, message) => {
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe("runExperiment, the library's door", () => {
  it("reads options with the same declarations as the CLI: a bad one is a usage error before any lab exists", async () => {
    const engine = new FakeEngine();
    const runtime = fakeRuntime(engine);
    await expect(runExperiment("lag", { applyDelay: "50ms" }, { runtime })).rejects.toThrow("--apply-delay 50ms: expected a duration from 100ms to 60s");
    await expect(runExperiment("lag", { rate: "1MB/s" }, { runtime })).rejects.toThrow(new UsageError("unknown option --rate"));
    expect(engine.calls).toEqual([]);
  });
});

describe("experiment conclusions", () => {
  const commitRows = (p50: Record<string, number>): Row[] =>
    Object.entries(p50).map(([synchronous_commit, p50_ms]) => ({ synchronous_commit, clients: 1, commits: 1, tps: 1, p50_ms, p95_ms: p50_ms, p99_ms: p50_ms }));

  it("commit-latency names the levels that paid, and why", () => {
    const config = COMMIT_LATENCY.parse({ applyDelay: "200ms" });
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, remote_write: 3.5, on: 3.6, remote_apply: 204 }), config)).toBe(
      "With synchronous_standby_names = 'standby1' and a 200 ms apply delay, remote_apply committed in 204 ms at the median and off, local, remote_write, on in 0.5–3.6 ms: only remote_apply waits until the standby has applied the commit, which it does no sooner than the apply delay.",
    );
    const network = COMMIT_LATENCY.parse({ networkDelay: "20ms" });
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, remote_write: 45, on: 46, remote_apply: 46 }), network)).toContain(
      "remote_write, on, remote_apply committed in 45–46 ms at the median and off, local in 0.5–3 ms: those levels wait for the standby's reply",
    );
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, on: 3.4 }), COMMIT_LATENCY.parse({}))).toContain("no commit waited noticeably for a standby");
  });

  it("failover-loss says why nothing was lost without latency, and shouts when a synchronous mode lost a write", () => {
    const row = (mode: string, lost: number): Row => ({ mode, trial: 1, acked: 100, lost, in_doubt: 0, unavailable_ms: 600, promoted: "standby1", fork_lsn: "0/5000000", lost_beyond_fork: lost });
    expect(failoverLoss.conclude([row("async", 0), row("on", 0)], FAILOVER_LOSS.parse({ networkDelay: 0, trials: 1, modes: "async,on" }))).toContain(
      "Nothing was lost even asynchronously: with no latency on the link, the walsender's send right after the local flush usually reaches the standby",
    );
    expect(failoverLoss.conclude([row("async", 12), row("on", 0)], FAILOVER_LOSS.parse({ trials: 1, modes: "async,on" }))).toContain(
      "async lost 12 of 100 acknowledged writes (12 per failover, all past the new timeline's fork point); on lost none of 100",
    );
    expect(failoverLoss.conclude([row("on", 3)], FAILOVER_LOSS.parse({ trials: 1, modes: "on" }))).toContain("FINDING: on lost acknowledged writes");
    const quorum = FAILOVER_LOSS.parse({ trials: 1, modes: "on", followers: 3, sync: "ANY 1 (standby1, standby2, standby3)" });
    expect(failoverLoss.conclude([row("on", 0)], quorum)).toContain("3 followers, synchronous modes under 'ANY 1 (standby1, standby2, standby3)': on lost none of 100");
    expect(failoverLoss.conclude([row("on", 0)], quorum)).toContain("the one that received the most WAL has every commit acknowledged before the kill");
    expect(failoverLoss.conclude([row("on", 2)], quorum)).not.toContain("promoting it is what loses none");
  });

  it("failover-loss with two managers: the table's mode and the figure's series name each row's manager", () => {
    const row = (manager: string, mode: string, lost: number): Row => ({ manager, mode, trial: 1, acked: 100, lost, in_doubt: 0, unavailable_ms: 600, promoted: "standby1", fork_lsn: "0/5000000", lost_beyond_fork: lost });
    const rows = [row("patroni", "async", 3), row("patroni", "on", 0), row("pg_auto_failover", "async", 5), row("pg_auto_failover", "on", 0)];
    const mode = failoverLoss.columns.find((column) => column.key === "mode")!;
    expect(rows.map((each) => mode.format!(each.mode ?? null, each))).toEqual(["patroni async", "patroni on", "pg_auto_failover async", "pg_auto_failover on"]);
    const config = FAILOVER_LOSS.parse({ trials: 1, modes: "async,on", ha: true, managers: "patroni,pg_auto_failover", networkDelay: 0 });
    const [figure] = failoverLoss.figures!(rows, config);
    const series = (figure!.option as { series: { name: string; data: number[] }[] }).series;
    expect(series.map((each) => [each.name, each.data])).toEqual([["patroni async", [3]], ["patroni on", [0]], ["pg_auto_failover async", [5]], ["pg_auto_failover on", [0]]]);
    // Nothing lost with no async mode run: no word about asynchronous replication.
    const syncOnly = FAILOVER_LOSS.parse({ trials: 1, modes: "on", ha: true, managers: "patroni,pg_auto_failover", networkDelay: 0 });
    expect(failoverLoss.conclude([row("patroni", "on", 0), row("pg_auto_failover", "on", 0)], syncOnly)).not.toContain("asynchronously");
    // Without a manager the mode is the mode.
    expect(mode.format!("async", { mode: "async", trial: 1 })).toBe("async");
  });
});

describe("split-brain", () => {
  it("concludes per mode from the ledger: what the cut-off leader acknowledged, what was lost, overlapping primaries", () => {
    const row = (mode: string, acked: number, writable: number, first: number | null, dual: number, lost: number): Row => ({
      mode, trial: 1, old_leader: "leader", new_primary: "standby1", old_leader_acked_after_cut: acked, old_leader_writable_ms: writable,
      new_leader_first_write_ms: first, dual_primary_ms: dual, acked: 500, lost, lost_from_old_leader: lost,
    });
    const config = SPLIT_BRAIN.parse({ trials: 1, hold: "30s" });
    const text = splitBrain.conclude([row("ha-async", 40, 7100, 25_000, 0, 41), row("ha-sync", 0, 0, 24_500, 0, 0), row("manual", 300, 29_900, null, 0, 0)], config);
    expect(text).toContain("ha-async: the cut-off leader acknowledged 40 writes after the cut (for 7100 ms); the majority side's first write came 25000 ms after the cut; 41 acknowledged writes were lost");
    expect(text).toContain("ha-sync: the cut-off leader acknowledged 0 writes after the cut (for 0 ms); the majority side's first write came 24500 ms after the cut; none was lost");
    expect(text).toContain("manual: the cut-off leader acknowledged 300 writes after the cut (for 29900 ms), and nobody else took writes");
    expect(splitBrain.conclude([row("ha-async", 40, 26_000, 25_000, 1000, 41)], config)).toContain("two nodes acknowledged writes at the same time in 1 of 1 trials");
  });
});

describe("latency percentiles", () => {
  it("come from a histogram, in ms with µs precision", () => {
    const latencies = new Latencies();
    for (let i = 1; i <= 100; i++) latencies.record(i);
    expect(latencies.count).toBe(100);
    expect(latencies.percentile(50)).toBeCloseTo(50, 0);
    expect(latencies.percentile(99)).toBeCloseTo(99, 0);
    expect(new Latencies().percentile(50)).toBeNull();
  });
});

describe("an experiment's cleanup", () => {
  it("that fails is said, not swallowed: the run's own error names the lab left behind and how to remove it", async () => {
    const engine = new FakeEngine();
    // The lab comes up; the experiment's first query is refused (no server behind the fake); then
    // removing the lab fails too.
    engine.failOn = (operation, name) =>
      operation === "kill" && name.endsWith("-leader") && engine.calls.some((call) => call.startsWith("start ") && call.endsWith("-standby1")) ? new LabError("the engine refused") : undefined;
    const error = (await runExperiment("lag", { duration: "2s", rates: "1MB/s", applyDelay: "100ms" }, { runtime: fakeRuntime(engine, healthy(["standby1"])) }).catch((caught: unknown) => caught)) as LabError;
    expect(error).toBeInstanceOf(LabError);
    const lab = /lab "(exp-lag-[0-9a-f]{6})"/.exec(error.details.join("\n"))?.[1];
    expect(error.details).toContain(`and lab "${lab}" was not removed (the engine refused); run \`repl-lab down --lab ${lab}\``);
  });
});

