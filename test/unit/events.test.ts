import { describe, expect, it } from "vitest";
import { diffStatus } from "../../src/core/events.js";
import { describeEvent } from "../../src/views/results.js";
import type { LabStatus, NodeStatus, ReplicationStatus } from "../../src/core/status.js";

function node(name: string, role: string, overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    name, role, role_source: "server", container: `c-${name}`, container_state: "running", isolated: false, cannot_reach: [], host_port: 1,
    timeline: 1, current_lsn: null, receive_lsn: null, replay_lsn: null, replay_delay: null, upstream: null, network_delay_ms: null, receiver_status: null, error: null,
    ...overrides,
  };
}

function row(application_name: string, sync_state: string, sync_priority: number, primary = "leader"): ReplicationStatus {
  return {
    primary, pid: 1, usename: "replicator", application_name, client_addr: null, state: "streaming", sent_lsn: null, write_lsn: null,
    flush_lsn: null, replay_lsn: null, write_lag: null, flush_lag: null, replay_lag: null, sync_priority, sync_state, replay_lag_bytes: 0,
  };
}

const healthy: LabStatus = {
  lab: "demo",
  partition: null,
  nodes: [node("leader", "primary"), node("standby1", "standby"), node("standby2", "standby")],
  replication: [row("standby1", "sync", 1), row("standby2", "potential", 2)],
  slots: [],
  warnings: [],
};

describe("diffStatus", () => {
  it("reports nothing when nothing changed", () => {
    expect(diffStatus(healthy, healthy)).toEqual([]);
  });

  it("reports a killed sync standby and the potential one taking over", () => {
    const after: LabStatus = {
      ...healthy,
      nodes: [node("leader", "primary"), node("standby1", "standby", { container_state: "exited", role_source: "data", timeline: null }), node("standby2", "standby")],
      replication: [row("standby2", "sync", 2)],
    };
    expect(diffStatus(healthy, after).map(describeEvent)).toEqual([
      "standby1  container running → exited",
      "standby1  server answering → not answering",
      "standby2  sync_state potential → sync (on leader)",
      "standby1  walsender gone (on leader) (was streaming, sync)",
    ]);
  });

  it("reports a promotion: role, timeline, new walsenders on the new primary, and a split brain", () => {
    const after: LabStatus = {
      ...healthy,
      nodes: [node("leader", "primary"), node("standby1", "primary", { timeline: 2 }), node("standby2", "standby")],
      replication: [row("standby2", "async", 0, "standby1")],
      warnings: ["split brain: leader and standby1 are both primaries accepting writes; clients may write to any of them"],
    };
    const lines = diffStatus(healthy, after).map(describeEvent);
    expect(lines).toContain("standby1  role standby → primary");
    expect(lines).toContain("standby1  timeline 1 → 2");
    expect(lines).toContain("standby2  walsender connected (on standby1): streaming, async");
    expect(lines).toContain("standby2  walsender gone (on leader) (was streaming, potential)");
    expect(lines).toContain("WARNING split brain: leader and standby1 are both primaries accepting writes; clients may write to any of them");
  });

  it("describes the whole lab on the first look", () => {
    const lines = diffStatus(undefined, healthy).map(describeEvent);
    expect(lines.slice(0, 4)).toEqual(["leader  container - → running", "leader  server - → answering", "leader  role - → primary", "leader  timeline - → 1"]);
    expect(lines).toContain("standby1  walsender connected (on leader): streaming, sync");
  });
});
