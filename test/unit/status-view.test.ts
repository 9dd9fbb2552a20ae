import { Chalk } from "chalk";
import { describe, expect, it } from "vitest";
import type { LabStatus } from "../../src/core/status.js";
import { renderStatus } from "../../src/views/status.js";
import { formatBytes, formatSeconds } from "../../src/views/table.js";

const plain = new Chalk({ level: 0 });

describe("formatBytes and formatSeconds", () => {
  it("prints sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 kB");
    expect(formatBytes(8 * 1024 * 1024)).toBe("8.0 MB");
    expect(formatBytes(null)).toBe("-");
  });

  it("prints durations in the unit that reads best", () => {
    expect(formatSeconds(0.0004)).toBe("400 µs");
    expect(formatSeconds(0.0484)).toBe("48.4 ms");
    expect(formatSeconds(2.341)).toBe("2.3 s");
    expect(formatSeconds(125)).toBe("2 min 5 s");
    expect(formatSeconds(null)).toBe("-");
  });
});

describe("renderStatus", () => {
  const status: LabStatus = {
    lab: "demo",
    partition: null,
    nodes: [
      { name: "leader", role: "primary", role_source: "server", container: "c1", container_state: "running", isolated: false, cannot_reach: [], host_port: 5432, timeline: 1, current_lsn: "0/3000060", receive_lsn: null, replay_lsn: null, replay_delay: null, upstream: null, network_delay_ms: null, receiver_status: null, error: null },
      { name: "standby1", role: "standby", role_source: "server", container: "c2", container_state: "running", isolated: false, cannot_reach: [], host_port: 5433, timeline: 1, current_lsn: null, receive_lsn: "0/3000060", replay_lsn: "0/3000060", replay_delay: 2.341, upstream: "leader", network_delay_ms: 50, receiver_status: "streaming", error: null },
      { name: "standby2", role: "standby", role_source: "label", container: "c3", container_state: "paused", isolated: false, cannot_reach: [], host_port: 5434, timeline: null, current_lsn: null, receive_lsn: null, replay_lsn: null, replay_delay: null, upstream: null, network_delay_ms: null, receiver_status: null, error: "container paused" },
    ],
    replication: [
      { primary: "leader", pid: 70, usename: "replicator", application_name: "standby1", client_addr: "172.18.0.3", state: "streaming", sent_lsn: "0/3000060", write_lsn: "0/3000060", flush_lsn: "0/3000060", replay_lsn: "0/3000060", write_lag: 0.0012, flush_lag: 0.0015, replay_lag: 0.002, sync_priority: 1, sync_state: "sync", replay_lag_bytes: 8388608 },
    ],
    slots: [{ primary: "leader", slot_name: "standby1", slot_type: "physical", active: true, active_pid: 70, restart_lsn: "0/3000060", wal_status: "reserved", safe_wal_size: null, retained_bytes: 0 }],
    warnings: ["split brain: leader and standby1 are all primaries accepting writes; clients may write to either"],
  };

  it("shows nodes, the primary's pg_stat_replication and slots, in human units", () => {
    const text = renderStatus(status, plain);
    expect(text).toContain("pg_stat_replication on leader");
    expect(text).toContain("pg_replication_slots on leader");
    expect(text).toMatch(/standby1\s+│ 172\.18\.0\.3\s+│ streaming\s+│ 1\s+│ sync/);
    expect(text).toContain("8.0 MB");
    expect(text).toContain("2.3 s (caught up)");
    expect(text).toContain("leader (streaming) +50 ms link");
    expect(text).toMatch(/standby2\s+│ standby\?\s+│ paused/);
    expect(text).toContain("WARNING: split brain");
  });
});
