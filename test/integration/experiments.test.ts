// The experiments whose assertions are about what is lost or kept (writes, WAL, leader locks), and
// the options and interruption of any experiment, short, as a user runs them: real clients against
// real servers in labs the experiment makes and removes.
import { afterAll, describe, expect, it } from "vitest";
import { by, experiment, experimentEnv as env, experimentLabs, num } from "../experiment-runs.js";
import { labsRemovedAfterAll, runCli, runJson, type CliResult } from "../helpers.js";

describe("experiment", () => {
  afterAll(async () => {
    expect(await experimentLabs()).toEqual([]);
  });

  it("failover-loss: with 50 ms on the links async loses acknowledged writes past the fork point; on and remote_apply lose none", async () => {
    const result = await experiment(["failover-loss", "--trials", "2", "--modes", "async,on,remote_apply", "--network-delay", "50ms", "--warmup", "1s"]);
    const rows = (mode: string) => result.results.filter((row) => row.mode === mode);
    const lost = (mode: string) => rows(mode).reduce((sum, row) => sum + num(row, "lost"), 0);
    expect(lost("async")).toBeGreaterThan(0);
    for (const row of rows("async")) expect(row.lost_beyond_fork).toBe(row.lost);
    expect(lost("on")).toBe(0);
    expect(lost("remote_apply")).toBe(0);
    for (const row of result.results) {
      expect(num(row, "acked")).toBeGreaterThan(0);
      expect(num(row, "unavailable_ms")).toBeGreaterThan(0);
      expect(String(row.fork_lsn)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    }
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

  it("slot-retention: a slot lets the standby catch up; without one, or past max_slot_wal_keep_size, it cannot, and status says so", async () => {
    const result = await experiment(["slot-retention", "--wal", "128MB"]);
    const row = (mode: string) => by(result.results, "mode", mode);
    expect(row("slot")).toMatchObject({ caught_up: true });
    expect(num(row("slot"), "retained_bytes_max")).toBeGreaterThanOrEqual(0.9 * num(row("slot"), "wal_written_bytes"));
    expect(row("no-slot")).toMatchObject({ caught_up: false });
    expect(String(row("no-slot").standby_log)).toMatch(/requested WAL segment \S+ has already been removed/);
    expect(String(row("no-slot").status_warning)).toContain("rebuild it with `repl-lab rejoin standby1 --reclone`");
    const seen = row("max-slot-wal-keep-size").wal_status_seen as string[];
    expect(seen[0]).toBe("reserved");
    expect(seen.at(-1)).toBe("lost");
    expect(row("max-slot-wal-keep-size")).toMatchObject({ caught_up: false });
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

describe("experiment options and interruption", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it.each([
    [["commit-latency", "--levels", "on,sometimes"], "--levels on,sometimes: expected a comma-separated list of off, local, remote_write, on, remote_apply"],
    [["failover-loss", "--trials", "0"], "--trials 0: expected a whole number from 1 to 100"],
    [["failover-loss", "--lab", "anything"], "failover-loss cannot use --lab"],
    [["slot-retention", "--wal", "lots"], "--wal lots: expected a size"],
    [["nope"], "unknown command 'nope'"],
  ])("%j is a usage error before any lab exists", async (args, message) => {
    const result: CliResult = await runCli(["experiment", ...args], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await experimentLabs()).toEqual([]);
  });

  it("runs in a given lab and puts its settings back", async () => {
    const name = lab("given");
    await runJson(["up", "--lab", name, "--followers", "1"]);
    const result = await experiment(["commit-latency", "--lab", name, "--sync", "standby1", "--levels", "local,on", "--duration", "500ms", "--clients", "1"]);
    expect(result.results).toHaveLength(2);
    const [settings] = await runJson<{ names: string }[]>(["sql", "--lab", name, "leader", "SELECT current_setting('synchronous_standby_names') AS names"]);
    expect(settings).toEqual({ names: "" });
  });

  it("Ctrl-C removes the labs the experiment made and exits 130", async () => {
    let sent = false;
    const result = await runCli(["experiment", "lag", "--duration", "30s"], {
      env,
      timeoutMs: 180_000,
      onSpawn: (child) => {
        child.stderr?.on("data", (chunk: Buffer) => {
          if (!sent && /MB\/s of WAL for/.test(chunk.toString())) {
            sent = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("error: interrupted; the labs lag made were removed");
    expect(await experimentLabs()).toEqual([]);
  });
});
