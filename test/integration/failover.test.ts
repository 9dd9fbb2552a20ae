// Failover and switchover on real servers: promote, followers on the new timeline, rejoin with
// pg_rewind, and a planned switchover under a running writer that loses no acknowledged write.
import { afterEach, describe, expect, it } from "vitest";
import type { PromoteResult } from "../../src/operations/promote.js";
import type { RejoinResult } from "../../src/operations/rejoin.js";
import type { SwitchoverResult } from "../../src/operations/switchover.js";
import { retryUntil } from "../../src/core/retry.js";
import { connectNode, dropLab, runCli, runJson, runtime, type StatusJson, statusUntil, uniqueLab } from "../helpers.js";

let lab = "";
afterEach(async () => {
  await dropLab(lab);
});

/** The ids in t on a node, read in this process (the CLI's sql is tested elsewhere). */
async function rowsOn(node: string): Promise<number[]> {
  const { sql } = await import("../../src/operations/sql.js");
  return (await sql(runtime, { lab, node, query: "SELECT id FROM t ORDER BY id" })).rows.map((row) => Number(row.id));
}

/** Waits until a node has exactly these rows of t. */
async function eventuallyRowsOn(node: string, expected: number[]): Promise<void> {
  await retryUntil(
    async () => {
      const rows = await rowsOn(node).catch(() => []);
      return JSON.stringify(rows) === JSON.stringify(expected) ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100, onTimeout: async () => new Error(`${node} has ${JSON.stringify(await rowsOn(node).catch(() => "?"))}`) },
  );
}

describe("failover", () => {
  it("kill the leader, promote standby1: it takes writes, standby2 follows the new timeline, rejoin brings the leader back", async () => {
    lab = uniqueLab("failover");
    await runJson(["up", "--lab", lab, "--followers", "2", "--sync", "standby1"]);
    await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)"]);
    await eventuallyRowsOn("standby2", [1]);
    expect((await runCli(["kill", "--lab", lab, "leader"])).code).toBe(0);

    const promoted = await runJson<PromoteResult>(["promote", "--lab", lab, "standby1"]);
    console.log(`pg_promote of standby1 took ${promoted.promote_ms} ms`);
    expect(promoted).toMatchObject({ new_primary: "standby1", following: ["standby2"], not_following: [], split_brain: [], timeline: 2 });
    expect((await runCli(["sql", "--lab", lab, "standby1", "INSERT INTO t VALUES (2)"])).code).toBe(0);
    await eventuallyRowsOn("standby2", [1, 2]);
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(status.nodes.map((node) => `${node.name}:${node.role}:${node.timeline ?? "-"}`)).toEqual(["leader:primary:-", "standby1:primary:2", "standby2:standby:2"]);
    expect(status.replication.map((row) => `${row.application_name}:${row.state}`)).toEqual(["standby2:streaming"]);

    const rejoined = await runJson<RejoinResult>(["rejoin", "--lab", lab, "leader"]);
    console.log(`rejoin leader: ${rejoined.method} (${rejoined.reason}) in ${rejoined.elapsed_ms} ms`);
    expect(rejoined).toMatchObject({ node: "leader", primary: "standby1", method: "pg_rewind" });
    await eventuallyRowsOn("leader", [1, 2]);
    const healed = await statusUntil(lab, (current) => current.replication.filter((row) => row.state === "streaming").length === 2);
    expect(healed.nodes.map((node) => `${node.name}:${node.role}:${node.timeline}`)).toEqual(["leader:standby:2", "standby1:primary:2", "standby2:standby:2"]);
    expect(healed.warnings).toEqual([]);
  });

  it("promoting while the old leader still runs is a split brain that status shows, and rejoin ends it", async () => {
    lab = uniqueLab("split");
    await runJson(["up", "--lab", lab, "--followers", "1"]);
    const promote = await runCli(["promote", "--lab", lab, "standby1"]);
    expect(promote.code).toBe(0);
    expect(promote.stderr).toContain("WARNING: leader still runs as primary: promoting standby1 makes a split brain");
    expect(promote.stdout).toContain("SPLIT BRAIN: leader still runs as primary");
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(status.warnings).toEqual(["split brain: leader and standby1 are both primaries accepting writes; clients may write to any of them"]);
    expect((await runCli(["status", "--lab", lab])).stdout).toContain("WARNING: split brain");
    expect((await runCli(["rejoin", "--lab", lab, "leader"])).code).toBe(0);
    const rejoined = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(rejoined.warnings).toEqual([]);
    expect(rejoined.nodes.map((node) => `${node.name}:${node.role}`)).toEqual(["leader:standby", "standby1:primary"]);
  });
});

describe("switchover", () => {
  it("switchover standby2 under a running writer loses no acknowledged write", async () => {
    lab = uniqueLab("switch");
    await runJson(["up", "--lab", lab, "--followers", "2"]);
    await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id int PRIMARY KEY)"]);
    await eventuallyRowsOn("standby2", []);

    const acknowledged: number[] = [];
    let failures = 0;
    let lastError: unknown;
    let stop = false;
    const writer = (async () => {
      const targets = ["leader", "standby2"];
      let target = 0;
      let client: import("pg").Client | undefined;
      for (let id = 1; !stop; ) {
        try {
          client ??= await connectNode(lab, targets[target]!);
          await client.query("INSERT INTO t VALUES ($1)", [id]);
          acknowledged.push(id);
          id += 1;
        } catch (error) {
          // Refused (read-only standby, server shutting down, connection gone): try the other node.
          failures += 1;
          lastError = error;
          await client?.end().catch(() => undefined);
          client = undefined;
          target = (target + 1) % targets.length;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await client?.end().catch(() => undefined);
    })();

    // Writes flowing before the switchover, and after it, each waited for with a bound.
    const acknowledgedAtLeast = (count: number) =>
      retryUntil(async () => (acknowledged.length >= count ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 20,
        onTimeout: () => new Error(`the writer acknowledged only ${acknowledged.length} of ${count} writes (${failures} refused; last: ${String(lastError)})`),
      });
    await acknowledgedAtLeast(10);
    const result = await runJson<SwitchoverResult>(["switchover", "--lab", lab, "standby2"]);
    console.log(`switchover to standby2: writes refused for ${result.unavailable_ms} ms; old leader back by ${result.rejoin.method}`);
    await acknowledgedAtLeast(acknowledged.length + 10);
    stop = true;
    await writer;

    expect(result).toMatchObject({ old_primary: "leader", new_primary: "standby2" });
    expect(failures).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(10);
    const onNewPrimary = await rowsOn("standby2");
    expect(onNewPrimary.filter((id) => !acknowledged.includes(id))).toEqual([]);
    expect(acknowledged.filter((id) => !onNewPrimary.includes(id))).toEqual([]);
    await eventuallyRowsOn("leader", onNewPrimary);
    const status = await statusUntil(lab, (current) => current.replication.filter((row) => row.state === "streaming").length === 2);
    expect(status.nodes.map((node) => `${node.name}:${node.role}`)).toEqual(["leader:standby", "standby1:standby", "standby2:primary"]);
  });
});
