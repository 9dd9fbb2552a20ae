// up must work every time for any number of followers from 1 to 16: the largest, on the real engine.
import { afterAll, describe, expect, it } from "vitest";
import type { UpResult } from "../../src/operations/up.js";
import { dropLab, labResources, nothing, runCli, runJson, statusUntil, uniqueLab } from "../helpers.js";

describe("a lab of sixteen followers", () => {
  const lab = uniqueLab("sixteen");
  afterAll(async () => {
    await dropLab(lab);
  });

  it("bootstraps all of them in parallel, each with its own slot, all streaming", async () => {
    const result = await runJson<UpResult>(["up", "--lab", lab, "--followers", "16", "--sync", "FIRST 2 (standby1, standby2, standby16)"]);
    expect(result.nodes).toHaveLength(17);
    // up returned once all sixteen streamed; on a loaded machine one look may miss a server (status
    // gives each 2 s), so the look is repeated, with a bound, until the leader answers with its rows.
    const status = await statusUntil(lab, (look) => look.replication.length === 16, 60_000);
    expect(status.replication.filter((row) => row.state === "streaming")).toHaveLength(16);
    expect(status.replication.filter((row) => row.sync_state === "sync").map((row) => row.application_name).sort()).toEqual(["standby1", "standby2"]);
    expect(status.replication.find((row) => row.application_name === "standby16")?.sync_state).toBe("potential");
    expect(status.slots.filter((slot) => slot.active)).toHaveLength(16);
    expect((await runCli(["down", "--lab", lab])).code).toBe(0);
    expect(await labResources(lab)).toEqual(nothing);
  });
});
