// The HA experiments, short, as a user runs them: Patroni and etcd failing over by themselves, the
// phases of a failover and the writes it loses. Labs of their own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { by, experimentRuns, num } from "../experiment-runs.js";

const experiments = experimentRuns("ha");
const experiment = experiments.run;
const experimentLabs = experiments.labs;

describe("experiment", () => {
  afterAll(async () => {
    expect(await experimentLabs()).toEqual([]);
  });

  it("failover-loss --ha: Patroni fails over by itself; async loses acknowledged writes past the fork point, its synchronous mode none", async () => {
    const result = await experiment(["failover-loss", "--ha", "--trials", "1", "--modes", "async,on", "--network-delay", "50ms", "--warmup", "1s"]);
    const row = (mode: string) => by(result.results, "mode", mode);
    expect(num(row("async"), "lost")).toBeGreaterThan(0);
    expect(row("async").lost_beyond_fork).toBe(row("async").lost);
    expect(num(row("on"), "lost")).toBe(0);
    // Nobody promoted: the window is the killed leader's lock expiring (ttl 20 s).
    for (const mode of ["async", "on"]) expect(num(row(mode), "unavailable_ms")).toBeGreaterThan(15_000);
    expect(result.conclusion).toMatch(/Patroni failing over by itself/);
  });

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
