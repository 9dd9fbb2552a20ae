// slot-retention, short, as a user runs it: a standby stopped while the leader writes WAL, with a
// slot, without one, and past max_slot_wal_keep_size. Labs of its own, removed at the end.
import { afterAll, describe, expect, it } from "vitest";
import { by, experimentsRemovingTheirLabs, num } from "../experiment-runs.js";

describe("experiment", () => {
  const experiment = experimentsRemovingTheirLabs("sr", afterAll);

  it("slot-retention: a slot lets the standby catch up; without one, or past max_slot_wal_keep_size, it cannot, and status says so", async () => {
    const result = await experiment(["slot-retention", "--wal", "64MB"]);
    const row = (mode: string) => by(result.results, "mode", mode);
    expect(row("slot")).toMatchObject({ caught_up: true });
    expect(num(row("slot"), "retained_bytes_max")).toBeGreaterThanOrEqual(0.9 * num(row("slot"), "wal_written_bytes"));
    expect(row("no-slot")).toMatchObject({ caught_up: false });
    expect(String(row("no-slot").standby_log)).toMatch(/requested WAL segment \S+ has already been removed/);
    expect(String(row("no-slot").status_warning)).toContain("rebuild it with `repl-lab rejoin standby1 --reclone`");
    const seen = row("max-slot-wal-keep-size").wal_status_seen as string[];
    expect(seen[0]).toBe("reserved");
    expect(seen.at(-1)).toBe("lost");
    expect(row("max-slot-wal-keep-size")).toMatchObject({ caught_up: false });
  });
});
