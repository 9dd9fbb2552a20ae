// split-brain, short, as a user runs it: the leader cut from every other member by packet filter
// while a writer on each node keeps writing through that node's own port; the ledger read after
// the heal. Labs of its own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { by, experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("sb", afterAll);

  it("split-brain: Patroni's asynchronous mode loses what the cut-off leader acknowledged, its synchronous mode loses nothing", async () => {
    const result = await experiment(["split-brain", "--modes", "ha-async,ha-sync", "--trials", "1", "--hold", "30s"]);
    const async = by(result.results, "mode", "ha-async");
    const sync = by(result.results, "mode", "ha-sync");
    // Asynchronous: the old leader keeps acknowledging until Patroni demotes it (within ttl +
    // loop_wait + retry_timeout, 24 s); none of that reached the other side, so the rewind discards it.
    expect(num(async, "old_leader_acked_after_cut")).toBeGreaterThan(0);
    expect(num(async, "old_leader_writable_ms")).toBeLessThan(24_000);
    expect(num(async, "lost")).toBeGreaterThanOrEqual(num(async, "old_leader_acked_after_cut"));
    expect(num(async, "lost_from_old_leader")).toBe(num(async, "lost"));
    // Synchronous: a commit on the cut-off leader waits for a standby it cannot reach; nothing acknowledged is lost.
    expect(num(sync, "lost")).toBe(0);
    for (const row of [async, sync]) {
      expect(row.new_primary).not.toBe(row.old_leader);
      expect(num(row, "new_leader_first_write_ms")).toBeGreaterThan(0);
      expect(num(row, "dual_primary_ms")).toBe(0);
    }
  });

  it("split-brain --modes manual: nobody fails over; the cut-off leader keeps taking writes and loses none", async () => {
    const result = await experiment(["split-brain", "--modes", "manual", "--trials", "1", "--hold", "3s"]);
    const row = by(result.results, "mode", "manual");
    expect(num(row, "old_leader_acked_after_cut")).toBeGreaterThan(0);
    expect(row.new_leader_first_write_ms).toBeNull();
    expect(num(row, "lost")).toBe(0);
    expect(result.conclusion).toContain("nobody fails over without a manager");
  });
});
