// What a command that died leaves in a lab (a helper container, a node's container renamed aside
// while it was rebuilt), on the in-memory engine: status names it, the node stays one node, and the
// next command that changes nodes cleans it up. (The real interruptions: test/integration/failover.test.ts.)
import { describe, expect, it } from "vitest";
import { helperLabels, LABEL, names } from "../../src/core/labels.js";
import { buildTopology } from "../../src/core/topology.js";
import { readLab, readLabForChange } from "../../src/lab/context.js";
import { leftoversOf } from "../../src/lab/leftovers.js";
import { readLabStatus } from "../../src/lab/status.js";
import { up } from "../../src/operations/up.js";
import { FakeEngine, fakeRuntime, healthy } from "../fakes.js";

async function labWithStandby(name: string) {
  const engine = new FakeEngine();
  const runtime = fakeRuntime(engine, healthy(["standby1"]));
  await up(runtime, { topology: buildTopology({ lab: name, followers: 1 }), waitTimeoutMs: 5000 });
  return { engine, runtime };
}

/** What a rebuild that died leaves: the node's container renamed aside long ago, and, if it got that far, the new one. */
async function interruptedRebuild(engine: FakeEngine, lab: string, options: { madeTheNewOne: boolean }) {
  const node = engine.byName(names.container(lab, "standby1"))!;
  const aside = `${names.container(lab, "standby1")}-replaced-${(Date.now() - 600_000).toString(36)}`;
  await engine.renameContainer(node.id, aside);
  if (options.madeTheNewOne) await engine.createContainer({ ...structuredClone(node.spec), name: names.container(lab, "standby1") });
  return aside;
}

describe("leftovers of an interrupted command", () => {
  it("a helper is left once it stopped, or while it runs past its deadline; a running one within it is someone's", () => {
    const now = 1_000_000;
    const helper = (state: "running" | "exited" | "created", expiresIn: number) => ({
      id: `h-${state}-${expiresIn}`, name: `repl-lab-x-_check-rewind-standby1`, labels: helperLabels("x", expiresIn, now), state, status: state, ports: [], networks: [], addresses: {},
    });
    const found = leftoversOf("x", [helper("running", 60_000), helper("exited", 60_000), helper("running", -1), helper("created", 60_000)], now);
    expect(found.map((leftover) => leftover.id)).toEqual(["h-exited-60000", "h-running--1"]);
  });

  it("a node's container renamed aside does not make the node two: status names it and the next change removes it", async () => {
    const { engine, runtime } = await labWithStandby("r");
    const aside = await interruptedRebuild(engine, "r", { madeTheNewOne: true });
    await engine.createContainer({ name: "repl-lab-r-_check-rewind-standby1", image: "x", labels: helperLabels("r", 300_000) });
    await engine.stopContainer(engine.byName("repl-lab-r-_check-rewind-standby1")!.id);
    const lab = await readLab(runtime, "r");
    expect(lab.nodes.map((node) => [node.name, node.container])).toEqual([["leader", "repl-lab-r-leader"], ["standby1", "repl-lab-r-standby1"]]);
    const status = await readLabStatus(lab);
    expect(status.warnings).toEqual([
      expect.stringContaining(`${aside} is standby1's old container, renamed aside, left by an interrupted command`),
      expect.stringContaining("repl-lab-r-_check-rewind-standby1 is a helper container left by an interrupted command"),
    ]);
    const steps: string[] = [];
    const cleaned = await readLabForChange(runtime, "r", { step: (message) => steps.push(message) });
    expect(cleaned.leftovers).toEqual([]);
    expect(steps).toEqual([`removed ${aside}, left by an interrupted command`, "removed repl-lab-r-_check-rewind-standby1, left by an interrupted command"]);
    expect([...engine.containers.values()].map((container) => container.spec.name).sort()).toEqual(["repl-lab-r-leader", "repl-lab-r-standby1"]);
  });

  it("a rebuild that died before it made the new container gets the node's own name back", async () => {
    const { engine, runtime } = await labWithStandby("s");
    const aside = await interruptedRebuild(engine, "s", { madeTheNewOne: false });
    expect((await readLab(runtime, "s")).nodes.map((node) => node.container)).toEqual(["repl-lab-s-leader", aside]);
    await readLabForChange(runtime, "s");
    const standby = [...engine.containers.values()].find((container) => container.spec.labels?.[LABEL.node] === "standby1")!;
    expect(standby.spec.name).toBe("repl-lab-s-standby1");
  });
});
