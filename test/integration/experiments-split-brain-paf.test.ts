// split-brain under pg_auto_failover, short, as a user runs it: the primary cut from the monitor and
// both standbys by packet filter while a writer on each node keeps writing through that node's own
// port; the ledger read after the heal. Labs of its own, removed at the end. (Patroni's modes are in
// experiments-split-brain.test.ts; the two files run side by side.)
import { afterAll, describe, expect, it } from "vitest";
import { by, experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("sbp", afterAll);

  it("split-brain --modes paf-async: the cut-off primary stops before the new one starts, and loses what it took meanwhile", async () => {
    const result = await experiment(["split-brain", "--modes", "paf-async", "--trials", "1", "--hold", "12s"]);
    const async = by(result.results, "mode", "paf-async");
    // The cut-off primary's keeper, which has lost the monitor, demotes it once its walsenders are gone
    // (the lab's wal_sender_timeout, 4 s) for network_partition_timeout: before the monitor's standby
    // takes writes. What it acknowledged until then never reached the other side, and is discarded
    // when it is rewound. (The write quorum, paf-sync, lost nothing in the 4 trials of
    // docs/experiments/split-brain.md; a synchronous commit's wait is tested with Patroni beside.)
    expect(num(async, "old_leader_acked_after_cut")).toBeGreaterThan(0);
    expect(num(async, "old_leader_writable_ms")).toBeLessThan(num(async, "new_leader_first_write_ms"));
    expect(num(async, "dual_primary_ms")).toBe(0);
    expect(num(async, "lost")).toBeGreaterThanOrEqual(num(async, "old_leader_acked_after_cut"));
    expect(num(async, "lost_from_old_leader")).toBe(num(async, "lost"));
    expect(async.new_primary).not.toBe(async.old_leader);
  });
});
