// Partitions by packet filter on a real lab: a cut between members stops their traffic while the
// host's clients and Docker's DNS still reach every node; a one-way cut stops one direction only; a
// cut survives a restart; heal restores replication. Probes run inside the members' containers
// (bash's /dev/tcp), so what is measured is the members' own view of the network.
import { afterAll, describe, expect, it } from "vitest";
import type { PartitionResult } from "../../src/operations/partition.js";
import { connectNode, engine, labResources, labsRemovedAfterAll, nothing, rowsUntil, runCli, runJson, statusUntil } from "../helpers.js";

/** Whether `from` can open a TCP connection to `to`'s PostgreSQL port within `ms` (inside `from`'s container). */
async function reaches(lab: string, from: string, to: string, ms = 1500): Promise<boolean> {
  const [container] = await engine.listContainers({ "repl-lab.lab": lab, "repl-lab.node": from });
  const result = await engine.exec(container!.id, ["timeout", `${ms / 1000}`, "bash", "-c", `echo > /dev/tcp/${to}/5432`]);
  return result.exitCode === 0;
}

/**
 * Looks until `from` reaching `to` is `expected`, with a bound; returns when the first probe that
 * saw it began, in ms after the call (0: already so at the first look). A blocked probe lasts its
 * whole timeout, so the probe's start, not its end, is the figure.
 */
async function reachesWithin(lab: string, from: string, to: string, expected: boolean, boundMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const probeStart = Date.now() - started;
    if ((await reaches(lab, from, to, 300)) === expected) return probeStart;
    if (Date.now() - started > boundMs) throw new Error(`${from} → ${to} still ${expected ? "blocked" : "open"} after ${boundMs} ms`);
  }
}

/** Name lookups inside the member's namespace still answer (Docker's DNS is on loopback there). */
async function resolves(lab: string, from: string, name: string): Promise<boolean> {
  const [container] = await engine.listContainers({ "repl-lab.lab": lab, "repl-lab.node": from });
  return (await engine.exec(container!.id, ["getent", "hosts", name])).exitCode === 0;
}

describe("partition by packet filter", () => {
  const newLab = labsRemovedAfterAll(afterAll);

  it("cuts the leader from its followers while clients still write to it; heal brings the writes across", async () => {
    const lab = newLab("cut");
    await runJson(["up", "--lab", lab, "--followers", "2"]);
    await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE t (id int)"]);
    await rowsUntil(lab, "standby1", "SELECT 1 FROM pg_class WHERE relname = 't'");

    const cut = await runJson<PartitionResult>(["partition", "--lab", lab, "leader"]);
    expect(cut.partition).toEqual({ groups: [["leader"], ["standby1", "standby2"]], one_way: false });
    expect(await reaches(lab, "standby1", "leader")).toBe(false);
    expect(await reaches(lab, "leader", "standby2")).toBe(false);
    // The followers still reach each other, and every name still resolves.
    expect(await reaches(lab, "standby1", "standby2")).toBe(true);
    expect(await resolves(lab, "standby1", "leader")).toBe(true);

    // A client on the host still writes to the cut-off leader: what it writes stays there.
    const client = await connectNode(lab, "leader");
    try {
      await client.query("INSERT INTO t VALUES (1)");
    } finally {
      await client.end();
    }
    const status = await statusUntil(lab, (look) => (look as unknown as { partition: unknown }).partition !== null);
    const reach = Object.fromEntries((status.nodes as unknown as { name: string; cannot_reach: string[] }[]).map((node) => [node.name, node.cannot_reach]));
    expect(reach).toEqual({ leader: ["standby1", "standby2"], standby1: ["leader"], standby2: ["leader"] });
    const shown = await runCli(["status", "--lab", lab]);
    expect(shown.stdout).toContain("partition (packet filter): leader | standby1, standby2");
    expect(shown.stdout).toContain("standby1 cannot reach leader");

    const healed = await runJson<PartitionResult>(["heal", "--lab", lab]);
    expect(healed.partition).toBeNull();
    await reachesWithin(lab, "standby1", "leader", true, 5000);
    expect(await rowsUntil(lab, "standby1", "SELECT id FROM t", 60_000)).toEqual([{ id: 1 }]);
    const again = await runCli(["heal", "--lab", lab]);
    expect(again.code).toBe(1);
    expect(again.stderr.split("\n")[0]).toBe(`error: lab ${lab} is not partitioned`);
  });

  it("--groups --one-way cuts one direction only, survives a restart, and bad groups leave nothing behind", async () => {
    const lab = newLab("oneway");
    await runJson(["up", "--lab", lab, "--followers", "2"]);

    const bad = await runCli(["partition", "--lab", lab, "--groups", "leader | standby9"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("error: --groups names standby9, which is not a member of the lab");
    const both = await runCli(["partition", "--lab", lab, "leader", "--groups", "leader | standby1"]);
    expect(both.code).toBe(2);

    const oneWay = await runJson<PartitionResult>(["partition", "--lab", lab, "--groups", "leader | standby1", "--one-way"]);
    expect(oneWay.partition).toEqual({ groups: [["leader"], ["standby1"]], one_way: true });
    // Measured from the command's return: the rules are in place before it returns.
    const tookEffectMs = await reachesWithin(lab, "leader", "standby1", false, 5000);
    expect(await reaches(lab, "leader", "standby2")).toBe(true);
    // standby1's packets still arrive at the leader; only the leader's replies are dropped.
    const refused = await runCli(["partition", "--lab", lab, "standby2"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`lab ${lab} is already partitioned (leader | standby1 (one-way: leader cannot reach standby1))`);

    // A restarted member gets a new network namespace: the cut is loaded into it again.
    expect((await runCli(["restart", "--lab", lab, "standby1"])).code).toBe(0);
    expect(await reaches(lab, "leader", "standby1")).toBe(false);

    await runJson(["heal", "--lab", lab, "standby1"]);
    const healMs = await reachesWithin(lab, "leader", "standby1", true, 5000);
    console.log(`one-way cut: blocked at the probe begun ${tookEffectMs} ms after the command returned; heal: open at the probe begun ${healMs} ms after it returned`);
    // nft loads each member's rules as one transaction before the helper exits: in place on return.
    expect(tookEffectMs).toBe(0);
    expect(healMs).toBe(0);
    expect((await runCli(["down", "--lab", lab])).code).toBe(0);
    expect(await labResources(lab)).toEqual(nothing);
  });
});
