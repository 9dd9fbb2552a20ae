// The shipped HA scenario (scenarios/ha-failover.yaml) passes, every step, in a lab of its own.
import { describe, it } from "vitest";
import { runShipped } from "../scenario-runs.js";

describe("the shipped HA scenario", () => {
  it("scenarios/ha-failover.yaml passes, every step", async () => {
    await runShipped("scenarios/ha-failover.yaml");
  });
});
