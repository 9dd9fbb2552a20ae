// Failover and switchover on real servers: promote, followers on the new timeline, rejoin with
// pg_rewind, and a planned switchover under a running writer that loses no acknowledged write.
import { afterEach, describe, expect, it } from "vitest";
import type { PromoteResult } from "../../src/operations/promote.js";
import type { RejoinResult } from "../../src/operations/rejoin.js";
import type { SwitchoverResult } from "../../src/operations/switchover.js";
import { retryUntil } from "../../src/core/retry.js";
import { CHECK_NODE, LABEL, labLabels } from "../../src/core/labels.js";
import { connectNode, dropLab, engine, runCli, runJson, type StatusJson, statusUntil, uniqueLab } from "../helpers.js";

let lab = "";
afterEach(async () => {
  await dropLab(lab);
});

async function rowsOn(node: string): Promise<number[]> {
  const rows = await runJson<{ id: number }[]>(["sql", "--lab", lab, node, "SELECT id FROM t ORDER BY id"]);
  return rows.map((row) => row.id);
}

async function eventuallyRowsOn(node: string, expected: number[]): Promise<void> {
  await retryUntil(
    async () => {
      const rows = await rowsOn(node).catch(() => []);
      return JSON.stringify(rows) === JSON.stringify(expected) ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200, onTimeout: async () => new Error(`${node} has ${JSON.stringify(await rowsOn(node).catch(() => "?"))}`) },
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

describe("rejoin interrupted", () => {
  /** A lab whose leader was killed and standby1 promoted: the leader waits to be rejoined. */
  async function rejoinable(purpose: string): Promise<void> {
    lab = uniqueLab(purpose);
    await runJson(["up", "--lab", lab, "--followers", "1"]);
    await runCli(["kill", "--lab", lab, "leader"]);
    await runJson(["promote", "--lab", lab, "standby1"]);
  }

  /**
   * Runs `rejoin leader` and, once it says pg_rewind has started, does `act` to it (each signal is
   * sent once the previous one has been answered: the kernel merges a signal sent while one of the
   * same kind is pending).
   */
  function rejoinThen(act: (child: import("node:child_process").ChildProcess, said: (text: string) => Promise<void>) => Promise<void>) {
    return runCli(["rejoin", "--lab", lab, "leader"], {
      onSpawn: (child) => {
        let stderr = "";
        const waiting: { text: string; resolve: () => void }[] = [];
        const said = (text: string) => new Promise<void>((resolve) => (stderr.includes(text) ? resolve() : waiting.push({ text, resolve })));
        child.stderr?.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          for (const wait of waiting.filter((entry) => stderr.includes(entry.text))) wait.resolve();
        });
        void said("pg_rewind leader against standby1").then(() => act(child, said));
      },
    });
  }

  async function streamsAgain(): Promise<void> {
    const status = await statusUntil(lab, (current) => current.replication.some((row) => row.application_name === "leader" && row.state === "streaming"), 60_000);
    expect(status.nodes.map((node) => `${node.name}:${node.role}:${node.container_state}`)).toEqual(["leader:standby:running", "standby1:primary:running"]);
    expect(status.warnings).toEqual([]);
  }

  const helpers = async () => (await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE })).map((container) => container.name);

  it("one Ctrl-C lets it finish, so the node is never left without a container", async () => {
    await rejoinable("rejoin-int");
    const result = await rejoinThen(async (child) => void child.kill("SIGINT"));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("rejoin is in progress and will finish in a few seconds; press Ctrl-C again to stop it now");
    await streamsAgain();
  });

  it("a second Ctrl-C stops it at once (exit 130) with its pg_rewind helper removed; the next rejoin completes", async () => {
    await rejoinable("rejoin-stop");
    const result = await rejoinThen(async (child, said) => {
      child.kill("SIGINT");
      await said("press Ctrl-C again to stop it now");
      child.kill("SIGINT");
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("stopping rejoin");
    expect(await helpers()).toEqual([]);
    expect((await runCli(["rejoin", "--lab", lab, "leader"])).code).toBe(0);
    await streamsAgain();
  });

  it("killed outright, it leaves its helper: status names it, and the next rejoin removes it and completes (not 409)", async () => {
    await rejoinable("rejoin-kill");
    // Killed once its pg_rewind helper runs (a container of the lab's, with the helper label).
    const running = async () => (await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE })).some((container) => container.state === "running");
    const result = await rejoinThen(async (child) => {
      await retryUntil(async () => ((await running()) ? true : undefined), { timeoutMs: 30_000, intervalMs: 20, onTimeout: () => new Error("no pg_rewind helper ran") });
      child.kill("SIGKILL");
    });
    expect(result.signal).toBe("SIGKILL");
    // The helper runs on without the command that started it, and stops.
    const left = await retryUntil(
      async () => {
        const stopped = await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE });
        return stopped.length > 0 && stopped.every((container) => container.state === "exited") ? stopped.map((container) => container.name) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, onTimeout: () => new Error("the pg_rewind helper did not stop") },
    );
    expect(left).toEqual([`repl-lab-${lab}-_check-rewind-leader`]);
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(status.warnings).toEqual([expect.stringContaining(`repl-lab-${lab}-_check-rewind-leader is a helper container left by an interrupted command`)]);
    const rejoined = await runCli(["rejoin", "--lab", lab, "leader"]);
    expect(rejoined.code).toBe(0);
    expect(rejoined.stderr).toContain(`removed repl-lab-${lab}-_check-rewind-leader, left by an interrupted command`);
    expect(await helpers()).toEqual([]);
    await streamsAgain();
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
        } catch {
          // Refused (read-only standby, server shutting down, connection gone): try the other node.
          failures += 1;
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
        onTimeout: () => new Error(`the writer acknowledged only ${acknowledged.length} of ${count} writes`),
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
