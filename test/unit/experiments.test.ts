// The pure parts of the experiments: options into configs (a bad one is a usage error), and the
// conclusion each computes from its rows.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { commitLatency } from "../../src/experiments/commit-latency.js";
import { failoverLoss } from "../../src/experiments/failover-loss.js";
import { lag } from "../../src/experiments/lag.js";
import { sizeOption } from "../../src/experiments/options.js";
import { slotRetention } from "../../src/experiments/slot-retention.js";
import { staleReads } from "../../src/experiments/stale-reads.js";
import type { Row } from "../../src/experiments/types.js";
import { Latencies } from "../../src/experiments/measure.js";

describe("experiment options", () => {
  it("take flags' strings and the library's values alike", () => {
    expect(commitLatency.parse({ applyDelay: "200ms", levels: "on,local", clients: "3" })).toMatchObject({ apply_delay_ms: 200, levels: ["on", "local"], clients: 3 });
    expect(commitLatency.parse({ applyDelay: 200, levels: ["on", "local"], clients: 3 })).toMatchObject({ apply_delay_ms: 200, levels: ["on", "local"], clients: 3 });
    expect(failoverLoss.parse({})).toMatchObject({ modes: ["async", "on", "remote_apply"], trials: 10, writers: 8, network_delay_ms: 20 });
    expect(failoverLoss.parse({ networkDelay: "0" }).network_delay_ms).toBe(0);
    expect(sizeOption({ wal: "320MB" }, "wal", 0, { min: 1, max: 2 ** 40 })).toBe(320 * 1024 * 1024);
    expect(lag.parse({ rates: "512kB/s,2MB/s" }).rates_bytes_per_s).toEqual([512 * 1024, 2 * 1024 * 1024]);
  });

  it.each([
    [() => commitLatency.parse({ levels: "sometimes" }), "--levels sometimes"],
    [() => commitLatency.parse({ clients: "0" }), "--clients 0: expected a whole number from 1 to 64"],
    [() => commitLatency.parse({ duration: "soon" }), "--duration soon"],
    [() => commitLatency.parse({ sync: " " }), "--sync"],
    [() => failoverLoss.parse({ trials: "1.5" }), "--trials 1.5"],
    [() => staleReads.parse({ policies: "replica,psychic" }), "--policies replica,psychic"],
    [() => slotRetention.parse({ wal: "1MB" }), "--wal 1MB"],
    [() => lag.parse({ rates: "fast" }), "--rates fast"],
    [() => commitLatency.parse({ apply_delay: "1s" }), "unknown option --apply_delay"],
  ])("refuse a bad value with a usage error naming the flag (%#)", (parse, message) => {
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe("experiment conclusions", () => {
  const commitRows = (p50: Record<string, number>): Row[] =>
    Object.entries(p50).map(([synchronous_commit, p50_ms]) => ({ synchronous_commit, clients: 1, commits: 1, tps: 1, p50_ms, p95_ms: p50_ms, p99_ms: p50_ms }));

  it("commit-latency names the levels that paid, and why", () => {
    const config = commitLatency.parse({ applyDelay: "200ms" });
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, remote_write: 3.5, on: 3.6, remote_apply: 204 }), config)).toBe(
      "With synchronous_standby_names = 'standby1' and a 200 ms apply delay, remote_apply committed in 204 ms at the median and off, local, remote_write, on in 0.5–3.6 ms: only remote_apply waits until the standby has applied the commit, which it does no sooner than the apply delay.",
    );
    const network = commitLatency.parse({ networkDelay: "20ms" });
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, remote_write: 45, on: 46, remote_apply: 46 }), network)).toContain(
      "remote_write, on, remote_apply committed in 45–46 ms at the median and off, local in 0.5–3 ms: those levels wait for the standby's reply",
    );
    expect(commitLatency.conclude(commitRows({ off: 0.5, local: 3, on: 3.4 }), commitLatency.parse({}))).toContain("no commit waited noticeably for a standby");
  });

  it("failover-loss says why nothing was lost without latency, and shouts when a synchronous mode lost a write", () => {
    const row = (mode: string, lost: number): Row => ({ mode, trial: 1, acked: 100, lost, in_doubt: 0, unavailable_ms: 600, promoted: "standby1", fork_lsn: "0/5000000", lost_beyond_fork: lost });
    expect(failoverLoss.conclude([row("async", 0), row("on", 0)], failoverLoss.parse({ networkDelay: 0, trials: 1, modes: "async,on" }))).toContain(
      "Nothing was lost even asynchronously: with no latency on the link, the walsender's send right after the local flush usually reaches the standby",
    );
    expect(failoverLoss.conclude([row("async", 12), row("on", 0)], failoverLoss.parse({ trials: 1, modes: "async,on" }))).toContain(
      "async lost 12 of 100 acknowledged writes (12 per failover, all past the new timeline's fork point); on lost none of 100",
    );
    expect(failoverLoss.conclude([row("on", 3)], failoverLoss.parse({ trials: 1, modes: "on" }))).toContain("FINDING: on lost acknowledged writes");
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
