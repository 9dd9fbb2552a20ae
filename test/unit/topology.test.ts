import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { nodeSettings } from "../../src/core/node-plan.js";
import { buildTopology, parseSettingFlags } from "../../src/core/topology.js";

describe("buildTopology", () => {
  it("defaults to a leader and two asynchronous followers with slots", () => {
    const topology = buildTopology({});
    expect(topology.lab).toBe("default");
    expect(topology.nodes.map((node) => `${node.name}:${node.role}`)).toEqual(["leader:primary", "standby1:standby", "standby2:standby"]);
    expect(topology.sync).toBeNull();
    expect(topology.slots).toBe(true);
    expect(topology.syncCommit).toBe("on");
  });

  it("accepts followers as digits from a flag or a number from a file", () => {
    expect(buildTopology({ followers: "3" }).followers).toEqual(["standby1", "standby2", "standby3"]);
    expect(buildTopology({ followers: 16 }).followers).toHaveLength(16);
  });

  it.each([0, -1, 17, "two", 1.5, "1.5", ""])("rejects followers %j with the field path", (followers) => {
    expect(() => buildTopology({ followers })).toThrow("followers: must be a whole number from 1 to 16");
  });

  it("numbers host ports from --port: leader first, then each follower", () => {
    const topology = buildTopology({ followers: 2, port: "15432" });
    expect(topology.nodes.map((node) => node.hostPort)).toEqual([15432, 15433, 15434]);
    expect(buildTopology({}).nodes.every((node) => node.hostPort === undefined)).toBe(true);
  });

  it("checks the sync spec against the lab's follower names", () => {
    expect(() => buildTopology({ followers: 2, sync: "standby3" })).toThrow('sync: unknown standby "standby3"');
    expect(buildTopology({ followers: 2, sync: "ANY 2 (*)" }).sync).toMatchObject({ method: "ANY", num: 2 });
  });

  it("rejects unknown fields, bad levels, bad durations and bad lab names", () => {
    expect(() => buildTopology({ follower: 2 })).toThrow("unknown field follower");
    expect(() => buildTopology({ syncCommit: "always" })).toThrow(/^syncCommit: must be one of off, local/);
    expect(() => buildTopology({ walSenderTimeout: "soon" })).toThrow(/^walSenderTimeout: must be a duration/);
    expect(() => buildTopology({ lab: "My Lab" })).toThrow(/^lab: must be 1-40 characters/);
  });

  it("refuses -c for settings that have their own flag or that repl-lab owns", () => {
    expect(() => buildTopology({ settings: { synchronous_standby_names: "x" } })).toThrow("use --sync");
    expect(() => buildTopology({ settings: { wal_level: "minimal" } })).toThrow(UsageError);
    expect(() => buildTopology({ settings: { "bad name": "1" } })).toThrow("not a PostgreSQL setting name");
  });
});

describe("parseSettingFlags", () => {
  it("splits at the first = and keeps the rest of the value", () => {
    expect(parseSettingFlags(["max_connections=50", "log_line_prefix=%m [%p] a=b"])).toEqual({
      max_connections: "50",
      log_line_prefix: "%m [%p] a=b",
    });
  });

  it("rejects a flag without =", () => {
    expect(() => parseSettingFlags(["max_connections"])).toThrow("expected name=value");
  });
});

describe("nodeSettings", () => {
  it("gives the primary the sync spec and every node the same replication limits", () => {
    const topology = buildTopology({ followers: 8, sync: "FIRST 1 (standby1, standby2)", walSenderTimeout: "5s", settings: { max_connections: 50 } });
    const [leader, standby] = [nodeSettings(topology, topology.nodes[0]!), nodeSettings(topology, topology.nodes[1]!)];
    const asMap = (settings: [string, string][]) => Object.fromEntries(settings);
    expect(asMap(leader)).toMatchObject({
      wal_level: "replica",
      hot_standby: "on",
      synchronous_standby_names: "FIRST 1 (standby1, standby2)",
      wal_sender_timeout: "5s",
      max_connections: "50",
      cluster_name: "leader",
    });
    expect(asMap(standby)).toMatchObject({ synchronous_standby_names: "", cluster_name: "standby1" });
    // Eight parallel base backups with -X stream hold two walsenders each.
    expect(Number(asMap(leader).max_wal_senders)).toBeGreaterThanOrEqual(16);
    expect(asMap(standby).max_wal_senders).toBe(asMap(leader).max_wal_senders);
    expect(asMap(standby).max_replication_slots).toBe(asMap(leader).max_replication_slots);
  });
});
