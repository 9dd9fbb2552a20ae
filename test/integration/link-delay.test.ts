// Network latency on a standby's replication link without netem (this kernel has none): measured
// round trips, a synchronous commit paying one, the delay kept across a restart and a failover, and
// --clear. The failover-loss experiment shows what the failure domain of the queued bytes means.
import { afterAll, describe, expect, it } from "vitest";
import type { DelayResult } from "../../src/operations/delay.js";
import { names } from "../../src/core/labels.js";
import { primaryConninfo } from "../../src/core/node-plan.js";
import { connectNode, engine, labsRemovedAfterAll, runCli, runJson, statusUntil, type StatusJson } from "../helpers.js";

/** Median round trip (ms) of IDENTIFY_SYSTEM over a replication connection made from inside `node`'s container. */
async function roundTripMs(lab: string, node: string, conninfo: string, samples = 15): Promise<number> {
  const script = ["\\timing on", ...Array.from({ length: samples }, () => "IDENTIFY_SYSTEM;")].join("\n");
  const result = await engine.exec(names.container(lab, node), [
    "bash", "-c", `printf '%s\\n' "$SCRIPT" | psql -X -q "$CONNINFO replication=true dbname=replication"`,
  ], { user: "postgres", env: { SCRIPT: script, CONNINFO: conninfo } });
  expect(result.exitCode, result.stderr).toBe(0);
  const times = [...result.stdout.matchAll(/Time: ([\d.]+) ms/g)].map((match) => Number(match[1])).sort((a, b) => a - b);
  expect(times).toHaveLength(samples);
  return times[Math.floor(samples / 2)]!;
}

async function password(lab: string): Promise<string> {
  const { spec } = await engine.inspectContainer(names.container(lab, "leader"));
  return spec.env!.REPL_LAB_REPLICATION_PASSWORD!;
}

describe("delay --network", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it("adds about twice the one-way delay to a round trip, and almost nothing at 0 ms", async () => {
    const name = lab("link");
    await runJson(["up", "--lab", name, "--followers", "1"]);
    const secret = await password(name);
    const direct = await roundTripMs(name, "standby1", primaryConninfo("leader", secret));
    const atZero = await roundTripMs(name, "standby1", primaryConninfo("leader", secret, 0));
    const at50 = await roundTripMs(name, "standby1", primaryConninfo("leader", secret, 50));
    console.log(`round trip standby1 → leader: direct ${direct.toFixed(2)} ms, link delay 0 ms ${atZero.toFixed(2)} ms, 50 ms ${at50.toFixed(2)} ms`);
    expect(atZero - direct).toBeLessThan(10);
    expect(at50 - atZero).toBeGreaterThan(90);
    expect(at50 - atZero).toBeLessThan(160);
  });

  it("makes a synchronous commit pay one round trip, and holds across a restart, a failover and --clear", async () => {
    const name = lab("link-sync");
    await runJson(["up", "--lab", name, "--followers", "2", "--sync", "FIRST 1 (standby1, standby2)"]);
    const set = await runJson<DelayResult>(["delay", "--lab", name, "standby1", "--network", "50ms"]);
    expect(set).toMatchObject({ node: "standby1", network_delay_ms: 50, upstream: "leader" });
    const link = (status: StatusJson) => status.nodes.map((node) => `${node.name}:${node.upstream ?? "-"}:${node.network_delay_ms ?? "-"}`);
    expect(link(await runJson<StatusJson>(["status", "--lab", name]))).toEqual(["leader:-:-", "standby1:leader:50", "standby2:leader:-"]);
    expect((await runCli(["status", "--lab", name])).stdout).toContain("leader (streaming) +50 ms link");

    const leader = await connectNode(name, "leader");
    try {
      await leader.query("CREATE TABLE t (id int)");
      const timed = async () => {
        const started = performance.now();
        await leader.query("INSERT INTO t VALUES (1)");
        return performance.now() - started;
      };
      const commits: number[] = [];
      for (let i = 0; i < 5; i++) commits.push(await timed());
      const commit = commits.sort((a, b) => a - b)[2]!;
      console.log(`commit waiting for standby1 over a 50 ms link: ${commit.toFixed(1)} ms`);
      expect(commit).toBeGreaterThanOrEqual(100);
      expect(commit).toBeLessThan(500);
    } finally {
      await leader.end();
    }

    // The link's ends are started by every node's entrypoint, and the delay is in primary_conninfo.
    expect((await runCli(["restart", "--lab", name, "standby1"])).code).toBe(0);
    await statusUntil(
      name,
      (status) => status.replication.some((row) => row.application_name === "standby1" && row.state === "streaming" && row.sync_state === "sync") && link(status)[1] === "standby1:leader:50",
    );
    expect(link(await runJson<StatusJson>(["status", "--lab", name]))).toEqual(["leader:-:-", "standby1:leader:50", "standby2:leader:-"]);

    // A re-pointed standby keeps its distance: the link now goes to the new primary.
    expect((await runCli(["kill", "--lab", name, "leader"])).code).toBe(0);
    expect((await runJson<{ following: string[] }>(["promote", "--lab", name, "standby2"])).following).toEqual(["standby1"]);
    expect(link(await runJson<StatusJson>(["status", "--lab", name]))).toEqual(["leader:-:-", "standby1:standby2:50", "standby2:-:-"]);

    const cleared = await runJson<DelayResult>(["delay", "--lab", name, "standby1", "--clear"]);
    expect(cleared).toMatchObject({ network_delay_ms: null, upstream: "standby2" });
    // Both ends: standby2's walsender streaming to standby1 (an old one can still say so for a moment
    // after the reload restarts standby1's walreceiver), and standby1's walreceiver naming standby2.
    const after = await statusUntil(
      name,
      (status) => status.replication.some((row) => row.application_name === "standby1" && row.state === "streaming") && link(status)[1] === "standby1:standby2:-",
    );
    expect(link(after)).toEqual(["leader:-:-", "standby1:standby2:-", "standby2:-:-"]);
  });

  it("up --network-delay puts it on every follower's link from the start", async () => {
    const name = lab("link-up");
    await runJson(["up", "--lab", name, "--followers", "2", "--network-delay", "20ms"]);
    const status = await runJson<StatusJson>(["status", "--lab", name]);
    expect(status.nodes.map((node) => node.network_delay_ms)).toEqual([null, 20, 20]);
    expect((await runCli(["delay", "--lab", name, "leader", "--network", "5ms"])).stderr).toContain("error: leader is a primary; a delay applies to a standby");
  });
});
