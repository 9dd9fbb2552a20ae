// The ha-failover experiment, short, as a user runs it: the phases of a failover by each HA manager
// after a kill and after a clean stop, side by side. Labs of its own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("haf", afterAll);

  it("ha-failover: Patroni waits out a killed leader's lock, pg_auto_failover's monitor acts within seconds; each phase follows the one before", async () => {
    const result = await experiment(["ha-failover", "--trials", "1", "--followers", "1"]);
    const row = (manager: string, fault: string) => {
      const found = result.results.find((entry) => entry.manager === manager && entry.fault === fault);
      if (!found) throw new Error(`no row for ${manager}, ${fault}`);
      return found;
    };
    for (const manager of ["patroni", "pg_auto_failover"]) {
      for (const fault of ["kill", "stop"]) {
        const phases = ["detected_p50_ms", "decided_p50_ms", "promoted_p50_ms", "first_write_p50_ms"].map((key) => num(row(manager, fault), key));
        expect(phases).toEqual([...phases].sort((a, b) => a - b));
        // Through the proxy too, and soon after the new leader itself took one: HAProxy checks every
        // 0.5 s. Counted from the new leader's first write, not from its promotion: pg_auto_failover's
        // new primary waits primary_demote_timeout before it takes writes, which is not the proxy's doing.
        const proxyBehind = num(row(manager, fault), "first_write_proxy_p50_ms") - num(row(manager, fault), "first_write_p50_ms");
        expect(proxyBehind).toBeLessThan(5000);
      }
    }
    // Patroni, ttl 20 s: the lock outlives a SIGKILLed leader by about that; a clean stop releases it.
    expect(num(row("patroni", "kill"), "detected_p50_ms")).toBeGreaterThan(15_000);
    expect(num(row("patroni", "stop"), "first_write_p50_ms")).toBeLessThan(num(row("patroni", "kill"), "detected_p50_ms"));
    // pg_auto_failover at the lab's settings decides from health checks, well before Patroni's lock expires.
    expect(num(row("pg_auto_failover", "kill"), "first_write_p50_ms")).toBeLessThan(num(row("patroni", "kill"), "first_write_p50_ms"));
  });
});
