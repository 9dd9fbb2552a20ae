// Failure scenarios of synchronous replication, reproduced with repl-lab's commands on real servers
// and read back through `status`: what the primary does when a sync, potential or async standby fails.
import { afterEach, describe, expect, it } from "vitest";
import { retryUntil } from "../../src/core/retry.js";
import { connectNode, dropLab, runCli, runJson, settledWithin, statusUntil, syncStates, uniqueLab } from "../helpers.js";

let lab = "";
afterEach(async () => {
  await dropLab(lab);
});

async function upLab(args: string[]): Promise<void> {
  lab = uniqueLab("fault");
  await runJson(["up", "--lab", lab, ...args]);
  await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT now())"]);
}

async function timedInsert(client: import("pg").Client): Promise<number> {
  const started = performance.now();
  await client.query("INSERT INTO t DEFAULT VALUES");
  return performance.now() - started;
}

describe("a failed standby", () => {
  it("FIRST 1 (standby1, standby2), kill standby1: standby2 becomes sync and commits complete", async () => {
    await upLab(["--followers", "2", "--sync", "FIRST 1 (standby1, standby2)"]);
    expect((await runCli(["kill", "--lab", lab, "standby1"])).code).toBe(0);
    const status = await statusUntil(lab, (current) => syncStates(current).standby2 === "streaming/sync/2");
    expect(syncStates(status)).toEqual({ standby2: "streaming/sync/2" });
    const leader = await connectNode(lab, "leader");
    try {
      expect(await timedInsert(leader)).toBeLessThan(5000);
    } finally {
      await leader.end();
    }
  });

  it("--sync standby1 alone, kill standby1: commits wait, and `sync off` releases the same waiting commit", async () => {
    await upLab(["--followers", "2", "--sync", "standby1"]);
    const leader = await connectNode(lab, "leader");
    try {
      const [{ pid }] = (await leader.query("SELECT pg_backend_pid() AS pid")).rows;
      expect((await runCli(["kill", "--lab", lab, "standby1"])).code).toBe(0);
      const commit = leader.query("INSERT INTO t DEFAULT VALUES RETURNING id");
      expect(await settledWithin(commit, 3000)).toBe("pending");
      const off = await runCli(["sync", "off", "--lab", lab]);
      expect(off.code).toBe(0);
      expect(off.stdout).toContain("synchronous_standby_names = ''");
      expect(await settledWithin(commit, 5000)).toBe("done");
      expect((await commit).rows).toHaveLength(1);
      // Same session: the client never reconnected.
      expect((await leader.query("SELECT pg_backend_pid() AS pid")).rows[0].pid).toBe(pid);
      expect(syncStates(await runJson(["status", "--lab", lab]))).toEqual({ standby2: "streaming/async/0" });
    } finally {
      await leader.end();
    }
  });

  it("an async standby killed: leader commits are unaffected", async () => {
    await upLab(["--followers", "2", "--sync", "standby1"]);
    expect((await runCli(["kill", "--lab", lab, "standby2"])).code).toBe(0);
    const leader = await connectNode(lab, "leader");
    try {
      for (let i = 0; i < 5; i++) expect(await timedInsert(leader)).toBeLessThan(2000);
    } finally {
      await leader.end();
    }
    expect(syncStates(await runJson(["status", "--lab", lab]))).toEqual({ standby1: "streaming/sync/1" });
  });

  it("pause the sync standby with wal_sender_timeout 5s: commits stall until the potential one takes over", async () => {
    await upLab(["--followers", "2", "--sync", "FIRST 1 (standby1, standby2)", "--wal-sender-timeout", "5s"]);
    const leader = await connectNode(lab, "leader");
    try {
      expect(await timedInsert(leader)).toBeLessThan(2000);
      expect((await runCli(["pause", "--lab", lab, "standby1"])).code).toBe(0);
      const stallMs = await timedInsert(leader);
      // Detection waits for wal_sender_timeout since standby1's last reply (it replies at least every
      // timeout/2 while healthy), so the stall is between about 2.5 s and a little over 5 s.
      console.log(`stall after pausing the sync standby (wal_sender_timeout 5s): ${stallMs.toFixed(0)} ms`);
      expect(stallMs).toBeGreaterThan(2000);
      expect(stallMs).toBeLessThan(12_000);
      const status = await statusUntil(lab, (current) => syncStates(current).standby2 === "streaming/sync/2");
      expect(status.nodes.find((node) => node.name === "standby1")?.container_state).toBe("paused");
      expect(await timedInsert(leader)).toBeLessThan(2000);
      expect((await runCli(["unpause", "--lab", lab, "standby1"])).code).toBe(0);
      await statusUntil(lab, (current) => syncStates(current).standby1 === "streaming/sync/1");
    } finally {
      await leader.end();
    }
  });
});

describe("fault commands", () => {
  it("refuse impossible transitions and unknown nodes, and partition --isolate / heal cut and restore replication", async () => {
    await upLab(["--followers", "2", "--sync", "FIRST 1 (standby1, standby2)", "--wal-sender-timeout", "3s"]);
    const refused = async (args: string[], message: string) => {
      const result = await runCli([...args, "--lab", lab]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.split("\n")[0]).toBe(`error: ${message}`);
    };
    await refused(["unpause", "standby1"], "cannot unpause standby1: it is running");
    await refused(["heal", "standby1"], "cannot heal standby1: it is not partitioned");
    await refused(["start", "standby1"], "cannot start standby1: it is running");
    await refused(["kill", "standby9"], `lab "${lab}" has no node "standby9"`);

    expect((await runCli(["partition", "--isolate", "--lab", lab, "standby1"])).code).toBe(0);
    await refused(["partition", "--isolate", "standby1"], "cannot isolate standby1: it is already off the lab network");
    // A node that cannot be reached is a lab error naming it (exit 1), not an unexpected one (exit 70).
    const unreachable = await runCli(["delay", "--lab", lab, "standby1", "--apply", "1s"]);
    expect(unreachable.code, unreachable.stderr).toBe(1);
    expect(unreachable.stderr).toMatch(/^error: standby1: (connection refused|Connection terminated|no answer in time)/);
    const cut = await statusUntil(lab, (current) => syncStates(current).standby2 === "streaming/sync/2");
    const standby1 = cut.nodes.find((node) => node.name === "standby1");
    expect(standby1).toMatchObject({ container_state: "running", isolated: true, cannot_reach: [], role: "standby", role_source: "server" });
    expect((await runCli(["heal", "--lab", lab, "standby1"])).code).toBe(0);
    await statusUntil(lab, (current) => syncStates(current).standby1 === "streaming/sync/1");

    expect((await runCli(["stop", "--lab", lab, "standby2"])).code).toBe(0);
    await refused(["kill", "standby2"], "cannot kill standby2: it is exited");
    const started = await runCli(["start", "--lab", lab, "standby2"]);
    expect(started.stdout).toMatch(/^standby2 started and accepting connections \(exited → running/);
    expect((await runCli(["restart", "--lab", lab, "standby2"])).code).toBe(0);
    await statusUntil(lab, (current) => syncStates(current).standby2 === "streaming/potential/2");
  });

  it("delay --apply makes a follower replay late, --clear ends it, and a primary is refused", async () => {
    await upLab(["--followers", "1"]);
    const applied = await runCli(["delay", "--lab", lab, "standby1", "--apply", "2s"]);
    expect(applied.stdout.trim()).toBe("standby1: recovery_min_apply_delay = 2s");
    const [leader, standby] = [await connectNode(lab, "leader"), await connectNode(lab, "standby1")];
    try {
      const { id } = (await leader.query("INSERT INTO t DEFAULT VALUES RETURNING id")).rows[0];
      // Asked a moment after the commit: not replayed yet (the delay is 2 s).
      expect((await standby.query("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(0);
      // Then watched for, with a bound; when it appears, the standby's clock (the host's) says at
      // least 2 s have passed since the transaction began on the leader.
      const visibleAfter = await retryUntil(
        async () => {
          const [row] = (await standby.query("SELECT extract(epoch FROM now() - at)::float8 AS seconds FROM t WHERE id = $1", [id])).rows;
          return row ? (row.seconds as number) : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, onTimeout: () => new Error("the row never reached standby1") },
      );
      expect(visibleAfter).toBeGreaterThanOrEqual(2);
    } finally {
      await leader.end();
      await standby.end();
    }
    expect((await runCli(["delay", "--lab", lab, "standby1", "--clear"])).stdout.trim()).toBe("standby1: recovery_min_apply_delay = 0");
    expect((await runCli(["delay", "--lab", lab, "leader", "--apply", "1s"])).stderr).toContain("leader is a primary; a delay applies to a standby");
  });

  it("events prints a timestamped line per change as a standby dies and another takes over", async () => {
    await upLab(["--followers", "2", "--sync", "FIRST 1 (standby1, standby2)"]);
    // Every line the change must produce; events is stopped (Ctrl-C) once all have appeared, or
    // after 60 s, and the assertions then name what was missing.
    const expected = [
      /\d{3} {2}standby1 {2}container running → exited/,
      /\d{3} {2}standby1 {2}walsender gone \(on leader\) \(was streaming, sync\)/,
      /\d{3} {2}standby2 {2}sync_state potential → sync \(on leader\)/,
    ];
    let output = "";
    const result = await runCli(["events", "--lab", lab], {
      timeoutMs: 60_000,
      onSpawn: (child) => {
        let killed = false;
        let stopped = false;
        child.stdout?.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          // Break the lab only once events has taken its first look, so the change is seen as one.
          if (!killed && output.includes("walsender connected (on leader): streaming, potential")) {
            killed = true;
            void runCli(["kill", "--lab", lab, "standby1"]);
          }
          if (!stopped && expected.every((line) => line.test(output))) {
            stopped = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(result.code, result.stderr).toBe(0); // Ctrl-C is how a watch ends
    const lines = output.trim().split("\n");
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}leader {2}container - → running$/);
    for (const line of expected) expect(output).toMatch(line);
  });
});
