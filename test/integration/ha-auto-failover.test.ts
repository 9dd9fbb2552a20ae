// HA mode with pg_auto_failover on a real monitor and real keepers, behind a real HAProxy: the
// monitor's view in status, a node-postgres pool on WRITER_URL that keeps writing across a failover
// with no command given, rejoin and switchover through the monitor, and a lab whose monitor is down,
// where nobody fails over until it is back. `down` leaves nothing.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { MonitorView, ProxyView } from "../../src/core/status.js";
import { labResources, labsRemovedAfterAll, nothing, runCli, runJson, type StatusJson, statusUntil } from "../helpers.js";

interface AutoFailoverStatus extends StatusJson {
  monitor: MonitorView;
  proxy: ProxyView;
}

const monitorOf = (status: StatusJson) => (status as AutoFailoverStatus).monitor;
const states = (monitor: MonitorView) => monitor.nodes.map((node) => `${node.name}:${node.reported_state}/${node.assigned_state}`).sort();
/** The monitor's primary, once every other node is a secondary again. */
const settledOn = (primary: string) => (status: StatusJson) => {
  const monitor = monitorOf(status);
  return monitor?.primary === primary && monitor.nodes.every((node) => node.name === primary || (node.reported_state === "secondary" && node.assigned_state === "secondary"));
};

/** Writes through a node-postgres pool, as an application would; records which server took each write and the failures. */
class PoolWriter {
  readonly servers: { at: number; server: string }[] = [];
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2000 });
    this.pool.on("error", () => undefined);
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const { rows } = await this.pool.query<{ server: string }>("INSERT INTO writes VALUES (default) RETURNING host(inet_server_addr()) AS server");
        this.servers.push({ at: Date.now(), server: rows[0]!.server });
      } catch {
        this.failures++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.pool.end();
  }
}

describe("HA mode (pg_auto_failover + HAProxy)", () => {
  const newLab = labsRemovedAfterAll(afterAll);

  it("comes up with the monitor's view; a pool on WRITER_URL follows a failover by itself; rejoin and switchover go through the monitor", async () => {
    const lab = newLab("paf");
    const up = await runJson<{ synchronous_standby_names: string }>(["up", "--lab", lab, "--ha", "--manager", "pg_auto_failover", "-n", "2", "--proxy", "--sync", "ANY 1 (standby1, standby2)"]);
    expect(up.synchronous_standby_names).toBe("ANY 1 (standby1, standby2)");
    const first = (await runJson<AutoFailoverStatus>(["status", "--lab", lab]));
    expect(first.monitor.primary).toBe("leader");
    expect(states(first.monitor)).toEqual(["leader:primary/primary", "standby1:secondary/secondary", "standby2:secondary/secondary"]);
    expect(first.monitor.number_sync_standbys).toBe(1);
    expect(first.monitor.nodes.every((node) => node.health === "good" && node.replication_quorum)).toBe(true);
    // The monitor writes synchronous_standby_names itself, as ANY 1 over its quorum standbys.
    expect(first.replication.map((row) => row.sync_state)).toEqual(["quorum", "quorum"]);
    expect(first.proxy.writer).toEqual(["leader"]);
    expect([...(first.proxy.reader ?? [])].sort()).toEqual(["standby1", "standby2"]);
    const listed = await runJson<{ lab: string }[]>(["ls"]);
    expect(listed.find((entry) => entry.lab === lab)).toEqual({ lab, nodes: 3, running: 3, volumes: 3, members: { monitor: 1, proxy: 1 } });
    const urls = await runJson<Record<string, string>>(["env", "--lab", lab]);
    expect(urls.writer).toMatch(/^postgresql:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
    // The reader port goes to a standby.
    const reader = new pg.Client({ connectionString: urls.reader });
    await reader.connect();
    expect((await reader.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).toBe(true);
    await reader.end();

    await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE writes (id bigserial PRIMARY KEY)"]);
    const writer = new PoolWriter(urls.writer!);
    try {
      await statusUntil(lab, () => writer.servers.length > 0, 10_000);
      const leaderServer = writer.servers.at(-1)!.server;
      const killedAt = Date.now();
      expect((await runCli(["kill", "--lab", lab, "leader"])).code).toBe(0);
      // No promote: the monitor promotes a standby, HAProxy's checks find it, the pool's next connection goes there.
      const failedOver = await statusUntil(lab, (status) => monitorOf(status)?.primary !== "leader" && monitorOf(status)?.primary !== null && writer.servers.some((write) => write.at > killedAt && write.server !== leaderServer), 60_000);
      const firstWrite = writer.servers.find((write) => write.at > killedAt && write.server !== leaderServer)!;
      console.log(`pg_auto_failover: kill leader → first write through WRITER_URL after ${firstWrite.at - killedAt} ms (${writer.failures} failed attempts meanwhile)`);
      const promoted = monitorOf(failedOver).primary!;
      expect(["standby1", "standby2"]).toContain(promoted);
      expect(failedOver.nodes.find((node) => node.name === promoted)?.timeline).toBe(2);
      // The monitor's own log of the failover is in status (and so in events).
      expect(monitorOf(failedOver).events.some((event) => event.node === promoted && event.goal_state === "prepare_promotion")).toBe(true);
    } finally {
      await writer.stop();
    }

    // The monitor has the killed leader as demoted; rejoin starts it and its keeper rewinds it.
    await statusUntil(lab, (status) => monitorOf(status)?.nodes.find((node) => node.name === "leader")?.assigned_state === "demoted", 30_000);
    const rejoined = await runJson<{ method: string; primary: string }>(["rejoin", "--lab", lab, "leader"]);
    expect(rejoined.method).toBe("pg_auto_failover");
    const back = await statusUntil(lab, settledOn(rejoined.primary), 60_000);
    expect(back.nodes.find((node) => node.name === "leader")?.role).toBe("standby");
    // The leader back as the primary, by the monitor's own promotion; the proxy follows.
    const switched = await runJson<{ new_primary: string; old_primary: string }>(["switchover", "--lab", lab, "leader"]);
    expect(switched).toMatchObject({ new_primary: "leader", old_primary: rejoined.primary });
    const after = await statusUntil(lab, (status) => settledOn("leader")(status) && (status as AutoFailoverStatus).proxy?.writer?.join() === "leader", 60_000);
    expect(after.nodes.find((node) => node.name === "leader")?.role).toBe("primary");
    const count = await runJson<{ n: string }[]>(["sql", "--lab", lab, "leader", "SELECT count(*) AS n FROM writes"]);
    expect(Number(count[0]!.n)).toBeGreaterThan(0);

    // sync goes through the monitor: off takes every standby out of the write quorum, and the
    // monitor empties synchronous_standby_names; FIRST 1 of two becomes a quorum of both (pg_auto_failover
    // writes ANY n), their order the candidate priorities.
    const off = await runJson<{ synchronous_standby_names: string; settled: boolean }>(["sync", "off", "--lab", lab]);
    expect(off).toMatchObject({ synchronous_standby_names: "", settled: true });
    const unsynced = await runJson<AutoFailoverStatus>(["status", "--lab", lab]);
    expect(unsynced.replication.map((row) => row.sync_state)).toEqual(["async", "async"]);
    expect(unsynced.monitor.number_sync_standbys).toBe(0);
    expect(unsynced.monitor.nodes.filter((node) => node.name !== "leader").every((node) => !node.replication_quorum)).toBe(true);
    const set = await runJson<{ synchronous_standby_names: string; settled: boolean }>(["sync", "set", "--lab", lab, "FIRST 1 (standby2, standby1)"]);
    expect(set.settled).toBe(true);
    expect(set.synchronous_standby_names).toMatch(/^ANY 1 \(/);
    const synced = await runJson<AutoFailoverStatus>(["status", "--lab", lab]);
    expect(synced.replication.map((row) => row.sync_state)).toEqual(["quorum", "quorum"]);
    const priority = (name: string) => synced.monitor.nodes.find((node) => node.name === name)!.candidate_priority;
    expect(priority("standby2")).toBeGreaterThan(priority("standby1"));

    await runJson(["down", "--lab", lab]);
    expect(await labResources(lab)).toEqual(nothing);
  });

  it("with the monitor down nobody fails over, and status says so; once it is back the monitor fails over", async () => {
    const lab = newLab("pafmon");
    await runJson(["up", "--lab", lab, "--ha", "--manager", "pg_auto_failover", "-n", "1"]);
    expect((await runCli(["stop", "--lab", lab, "monitor"])).code).toBe(0);
    const blind = await runJson<AutoFailoverStatus>(["status", "--lab", lab]);
    expect(blind.monitor.answering).toBe(false);
    expect(blind.warnings.join("\n")).toMatch(/monitor does not answer: nobody fails over/);
    expect((await runCli(["kill", "--lab", lab, "leader"])).code).toBe(0);
    // A window well past the failover the lab's settings give with a monitor (under 10 s here): the
    // keeper of standby1 keeps it a standby, as no one assigns it anything else.
    const watchUntil = Date.now() + 20_000;
    while (Date.now() < watchUntil) {
      const status = await runJson<AutoFailoverStatus>(["status", "--lab", lab]);
      expect(status.nodes.find((node) => node.name === "standby1")?.role).toBe("standby");
    }
    // The monitor back: it sees the leader gone and promotes standby1.
    expect((await runCli(["start", "--lab", lab, "monitor"])).code).toBe(0);
    const failedOver = await statusUntil(lab, (status) => monitorOf(status)?.primary === "standby1" && status.nodes.find((node) => node.name === "standby1")?.role === "primary", 90_000);
    expect(monitorOf(failedOver).nodes.find((node) => node.name === "leader")?.health).not.toBe("good");
  });
});
