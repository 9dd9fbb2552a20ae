// failover-loss, short, as a user runs it: the leader killed under writers, the most advanced standby
// promoted, the acknowledged writes that are gone counted. Labs of its own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("fl", afterAll);

  it("failover-loss: with 50 ms on the links async loses acknowledged writes past the fork point; on and remote_apply lose none", async () => {
    // Two trials of async (a kill can land where nothing was in flight), one of each synchronous mode.
    const asynchronous = await experiment(["failover-loss", "--trials", "2", "--modes", "async", "--network-delay", "50ms", "--warmup", "1s"]);
    const synchronous = await experiment(["failover-loss", "--trials", "1", "--modes", "on,remote_apply", "--network-delay", "50ms", "--warmup", "1s"]);
    const rows = (mode: string) => [...asynchronous.results, ...synchronous.results].filter((row) => row.mode === mode);
    const lost = (mode: string) => rows(mode).reduce((sum, row) => sum + num(row, "lost"), 0);
    expect(lost("async")).toBeGreaterThan(0);
    for (const row of rows("async")) expect(row.lost_beyond_fork).toBe(row.lost);
    expect(lost("on")).toBe(0);
    expect(lost("remote_apply")).toBe(0);
    for (const row of [...asynchronous.results, ...synchronous.results]) {
      expect(num(row, "acked")).toBeGreaterThan(0);
      expect(num(row, "unavailable_ms")).toBeGreaterThan(0);
      expect(String(row.fork_lsn)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    }
  });

  it("failover-loss --followers 3 --sync ANY 1 (…): quorum commit loses nothing when the most advanced standby is promoted", async () => {
    const result = await experiment([
      "failover-loss", "--followers", "3", "--sync", "ANY 1 (standby1, standby2, standby3)", "--modes", "on", "--trials", "1", "--network-delay", "20ms", "--warmup", "1s",
    ]);
    const [row] = result.results;
    expect(num(row!, "acked")).toBeGreaterThan(0);
    expect(num(row!, "lost")).toBe(0);
    expect(["standby1", "standby2", "standby3"]).toContain(row!.promoted);
    expect(result.conclusion).toContain("under 'ANY 1 (standby1, standby2, standby3)'");
    expect(result.conclusion).toContain("promoting it is what loses none");
  });
});
