// What pg_stat_replication shows for each kind of synchronous_standby_names, as PostgreSQL's own
// src/test/recovery/t/007_sync_rep.pl expects it, through `up` and `status --json`.
import { afterEach, describe, expect, it } from "vitest";
import { dropLab, runJson, type StatusJson, syncStates, uniqueLab } from "../helpers.js";

describe("sync_state and sync_priority after up", () => {
  let lab = "";
  afterEach(async () => {
    await dropLab(lab);
  });

  async function statesFor(followers: number, sync: string | undefined): Promise<Record<string, string>> {
    lab = uniqueLab("sync");
    await runJson(["up", "--lab", lab, "--followers", String(followers), ...(sync ? ["--sync", sync] : [])]);
    return syncStates(await runJson<StatusJson>(["status", "--lab", lab]));
  }

  it("no --sync: every follower async with priority 0", async () => {
    expect(await statesFor(2, undefined)).toEqual({ standby1: "streaming/async/0", standby2: "streaming/async/0" });
  });

  it("a single follower named in --sync is sync", async () => {
    expect(await statesFor(1, "standby1")).toEqual({ standby1: "streaming/sync/1" });
  });

  it("FIRST 1 (standby1, standby2): sync and potential", async () => {
    expect(await statesFor(2, "FIRST 1 (standby1, standby2)")).toEqual({
      standby1: "streaming/sync/1",
      standby2: "streaming/potential/2",
    });
  });

  it("ANY 1 (standby1, standby2): quorum and quorum, both priority 1", async () => {
    expect(await statesFor(2, "ANY 1 (standby1, standby2)")).toEqual({
      standby1: "streaming/quorum/1",
      standby2: "streaming/quorum/1",
    });
  });

  it("a priority list 'standby2, standby1' with a third, unlisted follower", async () => {
    expect(await statesFor(3, "standby2, standby1")).toEqual({
      standby1: "streaming/potential/2",
      standby2: "streaming/sync/1",
      standby3: "streaming/async/0",
    });
  });

  it("ANY 2 (*): every follower quorum", async () => {
    expect(await statesFor(3, "ANY 2 (*)")).toEqual({
      standby1: "streaming/quorum/1",
      standby2: "streaming/quorum/1",
      standby3: "streaming/quorum/1",
    });
  });

  it("FIRST 2 (*): two sync and one potential, all priority 1", async () => {
    const states = Object.values(await statesFor(3, "FIRST 2 (*)")).sort();
    expect(states).toEqual(["streaming/potential/1", "streaming/sync/1", "streaming/sync/1"]);
  });
});
