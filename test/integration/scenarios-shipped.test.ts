// Every scenario file shipped in scenarios/ passes, each in a lab of its own, as `scenario run` runs
// it; the HA one (Patroni and etcd, a lock's ttl to wait out) has a file of its own, so that the two
// run side by side.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runShipped } from "../scenario-runs.js";

const files = readdirSync("scenarios").filter((name) => name.endsWith(".yaml") && name !== "ha-failover.yaml").sort();

describe("the shipped scenarios", () => {
  it("are all here: four beside the HA one", () => {
    expect(files).toEqual(["failover.yaml", "frozen-standby.yaml", "only-sync-standby-fails.yaml", "sync-standby-fails.yaml"]);
  });

  it.each(files)("scenarios/%s passes, every step", async (file) => {
    await runShipped(`scenarios/${file}`);
  });
});
