// An HA experiment, short, as a user runs it: Patroni and etcd failing over by themselves, and the
// writes a failover loses. Labs of its own, removed at the end. (ha-failover, the phases of a
// failover, is experiments-ha-failover.test.ts: apart, the two run side by side.)
import { afterAll, describe, expect, it } from "vitest";
import { LAB_HA_DEFAULTS } from "../../src/core/ha.js";
import { by, experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("ha", afterAll);

  it("failover-loss --ha: Patroni fails over by itself; async loses acknowledged writes past the fork point, its synchronous mode none", async () => {
    const result = await experiment(["failover-loss", "--ha", "--trials", "1", "--modes", "async,on", "--network-delay", "50ms", "--warmup", "1s"]);
    const row = (mode: string) => by(result.results, "mode", mode);
    expect(num(row("async"), "lost")).toBeGreaterThan(0);
    expect(row("async").lost_beyond_fork).toBe(row("async").lost);
    expect(num(row("on"), "lost")).toBe(0);
    // Nobody promoted: the window is the killed leader's lock expiring (ttl 20 s).
    for (const mode of ["async", "on"]) expect(num(row(mode), "unavailable_ms")).toBeGreaterThan(15_000);
    expect(result.conclusion).toMatch(/Patroni \(synchronous modes as its synchronous mode\) failing over by itself/);
  });

  it("failover-loss --ha --managers pg_auto_failover: the monitor fails over within seconds, and its write quorum loses nothing", async () => {
    const result = await experiment(["failover-loss", "--ha", "--managers", "pg_auto_failover", "--trials", "1", "--modes", "on", "--followers", "2", "--sync", "ANY 1 (standby1, standby2)", "--network-delay", "0", "--warmup", "1s"]);
    const row = by(result.results, "mode", "on");
    expect(row.manager).toBe("pg_auto_failover");
    expect(num(row, "acked")).toBeGreaterThan(0);
    expect(num(row, "lost")).toBe(0);
    // Health checks, not a lock's ttl: about 5 s on a quiet machine, and under the 20 s a killed
    // Patroni leader's lock holds out however idle the machine (measured 15.1 s under a busy suite).
    expect(num(row, "unavailable_ms")).toBeLessThan(LAB_HA_DEFAULTS.ttl * 1000);
    expect(result.conclusion).toMatch(/pg_auto_failover \(synchronous modes as its write quorum\) failing over by itself/);
  });
});
