// The Docker adapter's network removal on the real engine: a container still attached to a lab's
// network when the lab goes (one a user connected to it) is disconnected by force and the network
// removed, where the engine would refuse with "has active endpoints".
import { afterAll, describe, expect, it } from "vitest";
import { labLabels } from "../../src/core/labels.js";
import { engine, labsRemovedAfterAll } from "../helpers.js";

describe("the Docker adapter", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it("removes a lab's network that a container is still attached to, by disconnecting it by force", async () => {
    const name = lab("netrm");
    const labels = labLabels(name);
    await engine.createNetwork(`repl-lab-${name}`, labels);
    const [network] = await engine.listNetworks(labels);
    const id = await engine.createContainer({
      name: `repl-lab-${name}-holder`,
      image: "repl-lab/postgres:17",
      entrypoint: ["sleep"],
      cmd: ["600"],
      labels,
      network: { name: `repl-lab-${name}`, aliases: [] },
    });
    await engine.startContainer(id);
    await engine.removeNetwork(network!.id);
    expect(await engine.listNetworks(labels)).toEqual([]);
    // The container itself is left alone (the lab's removal takes it), now on no network.
    const [holder] = await engine.listContainers(labels);
    expect(holder?.state).toBe("running");
    expect(holder?.networks).toEqual([]);
  });
});
