// sync set / sync off / sync commit on a running lab: ALTER SYSTEM + reload, and pg_stat_replication
// shows at once the sync_priority/sync_state rows PostgreSQL's src/test/recovery/t/007_sync_rep.pl
// expects for the same synchronous_standby_names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncResult } from "../../src/operations/sync.js";
import { connectNode, dropLab, runCli, runJson, uniqueLab } from "../helpers.js";

describe("changing synchronous replication while the lab runs", () => {
  const lab = uniqueLab("live");
  let leader: import("pg").Client;
  let pid: number;

  beforeAll(async () => {
    await runJson(["up", "--lab", lab, "--followers", "3"]);
    leader = await connectNode(lab, "leader");
    pid = (await leader.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  });
  afterAll(async () => {
    await leader?.end();
    await dropLab(lab);
  });

  const states = (result: SyncResult) =>
    Object.fromEntries(result.replication.map((row) => [row.application_name, `${row.sync_priority}|${row.sync_state}`]));

  it.each([
    ["standby1,standby2", { standby1: "1|sync", standby2: "2|potential", standby3: "0|async" }],
    ["2(standby1, standby2, standby3)", { standby1: "1|sync", standby2: "2|sync", standby3: "3|potential" }],
    ["FIRST 1 (standby3, standby2)", { standby1: "0|async", standby2: "2|potential", standby3: "1|sync" }],
    ["ANY 2 (standby1, standby2)", { standby1: "1|quorum", standby2: "1|quorum", standby3: "0|async" }],
    ["ANY 1 (*)", { standby1: "1|quorum", standby2: "1|quorum", standby3: "1|quorum" }],
  ])("sync set %j", async (spec, expected) => {
    const result = await runJson<SyncResult>(["sync", "set", spec, "--lab", lab]);
    expect(result.settled).toBe(true);
    expect(result.synchronous_standby_names).toBe(spec.replace(/^2\(/, "FIRST 2 (").replace(/^standby1,standby2$/, "standby1, standby2"));
    expect(states(result)).toEqual(expected);
  });

  it('sync set "*": one sync, the others potential, all priority 1', async () => {
    const result = await runJson<SyncResult>(["sync", "set", "*", "--lab", lab]);
    expect(Object.values(states(result)).sort()).toEqual(["1|potential", "1|potential", "1|sync"]);
  });

  it("sync off makes every standby async; sync commit sets the level; clients stay connected", async () => {
    const off = await runJson<SyncResult>(["sync", "off", "--lab", lab]);
    expect(off.synchronous_standby_names).toBe("");
    expect(states(off)).toEqual({ standby1: "0|async", standby2: "0|async", standby3: "0|async" });
    const commit = await runJson<SyncResult>(["sync", "commit", "remote_apply", "--lab", lab]);
    expect(commit.synchronous_commit).toBe("remote_apply");
    // The session opened before all these changes is the same one, and sees the new default.
    const row = (await leader.query("SELECT pg_backend_pid() AS pid, current_setting('synchronous_commit') AS level")).rows[0];
    expect(row).toEqual({ pid, level: "remote_apply" });
  });

  it("refuses a spec naming the primary or an unknown standby, and an unknown level", async () => {
    expect((await runCli(["sync", "set", "leader", "--lab", lab])).stderr).toContain('unknown standby "leader"');
    expect((await runCli(["sync", "set", "ANY 4 (*)", "--lab", lab])).code).toBe(2);
    const level = await runCli(["sync", "commit", "always", "--lab", lab]);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain("synchronous_commit always: must be one of off, local, remote_write, on, remote_apply");
  });
});
