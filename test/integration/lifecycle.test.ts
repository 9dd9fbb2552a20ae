// A lab from up to down, driven through the CLI as a user types it, on the real engine.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpResult } from "../../src/operations/up.js";
import { dropLab, engine, labResources, nothing, rowsUntil, runCli, runJson, type StatusJson, syncStates, uniqueLab } from "../helpers.js";

describe("a lab with two followers and --sync standby1", () => {
  const lab = uniqueLab("life");
  let result: UpResult;

  beforeAll(async () => {
    result = await runJson<UpResult>(["up", "--lab", lab, "--followers", "2", "--sync", "standby1"]);
  });
  afterAll(async () => {
    await dropLab(lab);
  });

  it("returns only when both followers stream, with a URL per node on 127.0.0.1", () => {
    expect(result.nodes.map((node) => `${node.name}:${node.role}`)).toEqual(["leader:primary", "standby1:standby", "standby2:standby"]);
    for (const node of result.nodes) expect(node.url).toMatch(/^postgresql:\/\/postgres:[0-9a-f]{24}@127\.0\.0\.1:\d+\/postgres$/);
    expect(result.synchronous_standby_names).toBe("standby1");
  });

  it("runs every node with Docker's default capabilities, none added", async () => {
    for (const node of result.nodes) expect((await engine.inspectContainer(node.container)).spec.capAdd ?? [], node.name).toEqual([]);
  });

  it("shows standby1 sync and standby2 async in status --json, keyed by PostgreSQL's column names", async () => {
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(syncStates(status)).toEqual({ standby1: "streaming/sync/1", standby2: "streaming/async/0" });
    expect(status.nodes.map((node) => `${node.name}:${node.role}:${node.container_state}:${node.timeline}`)).toEqual([
      "leader:primary:running:1", "standby1:standby:running:1", "standby2:standby:running:1",
    ]);
    expect(status.slots.map((slot) => `${slot.slot_name}:${slot.active}`)).toEqual(["standby1:true", "standby2:true"]);
    expect(status.replication[0]).toHaveProperty("replay_lag_bytes");
    expect(status.warnings).toEqual([]);
  });

  it("prints nodes, pg_stat_replication and pg_replication_slots as tables", async () => {
    const { code, stdout } = await runCli(["status", "--lab", lab]);
    expect(code).toBe(0);
    expect(stdout).toContain("pg_stat_replication on leader");
    expect(stdout).toMatch(/standby1\s+│ [\d.]+\s+│ streaming\s+│ 1\s+│ sync/);
    expect(stdout).toMatch(/standby2\s+│ [\d.]+\s+│ streaming\s+│ 0\s+│ async/);
    expect(stdout).not.toMatch(/\x1b\[/); // NO_COLOR
  });

  it("status --watch refreshes until Ctrl-C, one JSON object per look with --json", async () => {
    let looks = 0;
    const result = await runCli(["status", "--lab", lab, "--watch", "--json", "--interval", "300ms"], {
      timeoutMs: 60_000,
      onSpawn: (child) => {
        child.stdout?.on("data", (chunk: Buffer) => {
          looks += chunk.toString().split("\n").length - 1;
          if (looks === 2) child.kill("SIGINT");
        });
      },
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as StatusJson & { time: string });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const look of lines) expect(syncStates(look)).toEqual({ standby1: "streaming/sync/1", standby2: "streaming/async/0" });
    expect(new Date(lines[1]!.time).getTime()).toBeGreaterThan(new Date(lines[0]!.time).getTime());
  });

  it("replicates a row written on the leader to every follower", async () => {
    const marker = `row-${Date.now()}`;
    const write = await runCli(["sql", "--lab", lab, "leader", `CREATE TABLE seen (note text); INSERT INTO seen VALUES ('${marker}')`]);
    expect(write.code).toBe(0);
    for (const follower of ["standby1", "standby2"]) {
      await rowsUntil(lab, follower, "SELECT note FROM seen");
      // Read back as a user reads it, once it is there.
      expect(await runJson(["sql", "--lab", lab, follower, "SELECT note FROM seen"])).toEqual([{ note: marker }]);
    }
  });

  it("refuses writes on a follower, as a hot standby does", async () => {
    const { code, stderr } = await runCli(["sql", "--lab", lab, "standby1", "CREATE TABLE nope (id int)"]);
    expect(code).toBe(1);
    expect(stderr).toBe("error: standby1: cannot execute CREATE TABLE in a read-only transaction (SQLSTATE 25006)\n");
  });

  it("prints each node's URL, and PRIMARY_URL/STANDBY_URL naming them all, as export lines, NAME=value lines and JSON", async () => {
    const urls = await runJson<Record<string, string>>(["env", "--lab", lab]);
    expect(Object.keys(urls)).toEqual(["leader", "standby1", "standby2", "primary", "standby"]);
    expect(urls.leader).toBe(result.nodes[0]!.url);
    const hosts = result.nodes.map((node) => `127.0.0.1:${node.port}`).join(",");
    expect(urls.primary).toMatch(new RegExp(`^postgresql://postgres:[0-9a-f]{24}@${hosts}/postgres\\?target_session_attrs=read-write$`));
    expect(urls.standby).toBe(urls.primary!.replace("read-write", "prefer-standby"));
    const { stdout } = await runCli(["env", "--lab", lab]);
    expect(stdout.trim().split("\n")).toEqual([
      `export LEADER_URL='${urls.leader}'`, `export STANDBY1_URL='${urls.standby1}'`, `export STANDBY2_URL='${urls.standby2}'`,
      `export PRIMARY_URL='${urls.primary}'`, `export STANDBY_URL='${urls.standby}'`,
    ]);
    expect((await runCli(["env", "--lab", lab, "--dotenv"])).stdout.trim().split("\n")[0]).toBe(`LEADER_URL=${urls.leader}`);
    // libpq (psql here, installed by the setup) follows target_session_attrs to the primary and to a standby.
    const inRecovery = (url: string) => execFileSync("psql", ["-XAtc", "SELECT pg_is_in_recovery()", url], { encoding: "utf8" }).trim();
    expect(inRecovery(urls.primary!)).toBe("f");
    expect(inRecovery(urls.standby!)).toBe("t");
  });

  it("lists the lab with ls", async () => {
    const labs = await runJson<{ lab: string; nodes: number; running: number; volumes: number }[]>(["ls"]);
    expect(labs.find((entry) => entry.lab === lab)).toEqual({ lab, nodes: 3, running: 3, volumes: 3 });
  });

  it("prints a follower's log, which shows it streaming", async () => {
    const { code, stdout } = await runCli(["logs", "--lab", lab, "standby1"]);
    expect(code).toBe(0);
    expect(stdout).toContain("repl-lab[standby1]: pg_basebackup from leader");
    expect(stdout).toMatch(/started streaming WAL from primary/);
  });

  it("runs psql inside a node's container", async () => {
    const { code, stdout } = await runCli(["psql", "--lab", lab, "standby2", "--", "-tA"], { input: "SELECT pg_is_in_recovery();\n" });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("t");
  });

  it("refuses a second up of the same lab and changes nothing", async () => {
    const before = await labResources(lab);
    const { code, stderr } = await runCli(["up", "--lab", lab, "--followers", "3"]);
    expect(code).toBe(1);
    expect(stderr).toContain(`lab "${lab}" already exists; nothing was changed`);
    expect(await labResources(lab)).toEqual(before);
  });

  it("refuses an unknown node with the names it has", async () => {
    const { code, stderr } = await runCli(["sql", "--lab", lab, "standby9", "SELECT 1"]);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: lab "${lab}" has no node "standby9"\nhint: its nodes are leader, standby1, standby2\n`);
  });

  it("down removes every container, volume and network with the lab's label", async () => {
    const { code, stdout } = await runCli(["down", "--lab", lab]);
    expect(code).toBe(0);
    expect(stdout).toContain("3 containers, 1 network, 3 volumes");
    expect(await labResources(lab)).toEqual(nothing);
  });
});

describe("down --keep-volumes", () => {
  const lab = uniqueLab("keep");
  afterAll(async () => {
    await dropLab(lab);
  });

  it("keeps the data volumes and removes the rest", async () => {
    await runJson(["up", "--lab", lab, "--followers", "1"]);
    expect((await runCli(["down", "--lab", lab, "--keep-volumes"])).code).toBe(0);
    const left = await labResources(lab);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
    expect(left.volumes.sort()).toEqual([`repl-lab-${lab}-leader-data`, `repl-lab-${lab}-standby1-data`]);
  });
});
