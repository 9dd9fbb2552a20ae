// The ha-failover experiment, short, as a user runs it: the phases of a Patroni failover after a
// kill and after a clean stop. Labs of its own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { by, experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("haf", afterAll);

  it("ha-failover: a killed leader's lock expires after ttl, a stopped one's is released at once; each phase follows the one before", async () => {
    const result = await experiment(["ha-failover", "--trials", "1"]);
    const kill = by(result.results, "fault", "kill");
    const stop = by(result.results, "fault", "stop");
    for (const row of [kill, stop]) {
      const phases = ["lock_gone_p50_ms", "new_leader_p50_ms", "promoted_p50_ms", "first_write_p50_ms"].map((key) => num(row, key));
      expect(phases).toEqual([...phases].sort((a, b) => a - b));
    }
    // ttl 20 s: the lock outlives a SIGKILLed leader by about that; a clean stop releases it.
    expect(num(kill, "lock_gone_p50_ms")).toBeGreaterThan(15_000);
    expect(num(kill, "first_write_p50_ms")).toBeLessThan(20_000 + 1000 + 2000 + 10_000);
    expect(num(stop, "first_write_p50_ms")).toBeLessThan(num(kill, "lock_gone_p50_ms"));
  });
});
