import { describe, expect, it } from "vitest";
import {
  expectedSyncStates,
  matchesExpected,
  parseSyncSpec,
  renderSyncSpec,
  syncPriority,
  SyncSpecError,
} from "../../src/core/sync-spec.js";

const three = ["standby1", "standby2", "standby3"];

describe("parseSyncSpec", () => {
  it("reads a bare name as FIRST 1 and renders it back as typed", () => {
    const spec = parseSyncSpec("standby1", three);
    expect(spec).toEqual({ method: "FIRST", num: 1, names: ["standby1"], explicit: false });
    expect(renderSyncSpec(spec)).toBe("standby1");
  });

  it("reads a bare list in priority order", () => {
    const spec = parseSyncSpec("standby2, standby1", three);
    expect(spec.names).toEqual(["standby2", "standby1"]);
    expect(renderSyncSpec(spec)).toBe("standby2, standby1");
  });

  it("reads FIRST and ANY in any case, with and without spaces", () => {
    expect(parseSyncSpec("first 2 (standby1,standby2)", three)).toMatchObject({ method: "FIRST", num: 2, explicit: true });
    expect(parseSyncSpec("ANY 1(standby1, standby2)", three)).toMatchObject({ method: "ANY", num: 1, names: ["standby1", "standby2"] });
    expect(renderSyncSpec(parseSyncSpec("any 2 ( * )", three))).toBe("ANY 2 (*)");
  });

  it("reads the num_sync-only form as FIRST", () => {
    expect(parseSyncSpec("2 (standby1, standby3)", three)).toMatchObject({ method: "FIRST", num: 2 });
  });

  it("folds unquoted names to lower case like PostgreSQL", () => {
    expect(parseSyncSpec("STANDBY1", three).names).toEqual(["standby1"]);
  });

  it.each([
    ["", /empty/],
    ["standby9", /unknown standby "standby9"/],
    ["leader", /unknown standby "leader"/],
    ["FIRST 3 (standby1, standby2)", /num_sync 3 is larger than the 2 standbys/],
    ["ANY 4 (*)", /num_sync 4 is larger than the 3 standbys/],
    ["ANY 0 (standby1)", /at least 1/],
    ["ANY two (standby1)", /not a number/],
    ["ANY (standby1", /cannot read/],
    ["standby1,,standby2", /empty standby name/],
    ["standby1, standby1", /listed twice/],
    ["FIRST standby1", /cannot read/],
    ["stand-by", /not a standby name/],
  ])("rejects %j", (text, message) => {
    expect(() => parseSyncSpec(text, three)).toThrow(SyncSpecError);
    expect(() => parseSyncSpec(text, three)).toThrow(message);
  });
});

describe("syncPriority", () => {
  it("is the list position for FIRST, 1 for every listed standby with ANY, 0 when unlisted", () => {
    const first = parseSyncSpec("FIRST 1 (standby2, standby1)", three);
    expect(three.map((name) => syncPriority(first, name))).toEqual([2, 1, 0]);
    const any = parseSyncSpec("ANY 1 (standby2, standby1)", three);
    expect(three.map((name) => syncPriority(any, name))).toEqual([1, 1, 0]);
    expect(syncPriority(null, "standby1")).toBe(0);
  });

  it("gives * the priority of its position", () => {
    const spec = parseSyncSpec("FIRST 1 (standby3, *)", three);
    expect(three.map((name) => syncPriority(spec, name))).toEqual([2, 2, 1]);
  });
});

describe("expectedSyncStates", () => {
  const rows = (entries: [string, number, string][]) =>
    entries.map(([application_name, sync_priority, sync_state]) => ({ application_name, sync_priority, sync_state }));

  it("expects sync for the named standby and async for the rest", () => {
    const expected = expectedSyncStates(parseSyncSpec("standby1", ["standby1", "standby2"]), ["standby1", "standby2"]);
    expect(matchesExpected(expected, rows([["standby1", 1, "sync"], ["standby2", 0, "async"]]))).toBe(true);
    expect(matchesExpected(expected, rows([["standby1", 1, "potential"], ["standby2", 0, "async"]]))).toBe(false);
  });

  it("expects sync then potential for FIRST 1 of two", () => {
    const expected = expectedSyncStates(parseSyncSpec("FIRST 1 (standby1, standby2)", three), three);
    expect(matchesExpected(expected, rows([["standby1", 1, "sync"], ["standby2", 2, "potential"], ["standby3", 0, "async"]]))).toBe(true);
  });

  it("expects quorum for every standby listed under ANY", () => {
    const expected = expectedSyncStates(parseSyncSpec("ANY 1 (standby1, standby2)", three), three);
    expect(matchesExpected(expected, rows([["standby1", 1, "quorum"], ["standby2", 1, "quorum"], ["standby3", 0, "async"]]))).toBe(true);
  });

  it("only counts states among standbys that share a priority, as with *", () => {
    const expected = expectedSyncStates(parseSyncSpec("FIRST 2 (*)", three), three);
    expect(expected).toEqual([{ priority: 1, members: three, counts: { sync: 2, potential: 1 } }]);
    expect(matchesExpected(expected, rows([["standby1", 1, "potential"], ["standby2", 1, "sync"], ["standby3", 1, "sync"]]))).toBe(true);
    expect(matchesExpected(expected, rows([["standby1", 1, "sync"], ["standby2", 1, "sync"], ["standby3", 1, "sync"]]))).toBe(false);
  });

  it("expects async everywhere without a spec, and fails on a missing standby", () => {
    const expected = expectedSyncStates(null, ["standby1", "standby2"]);
    expect(matchesExpected(expected, rows([["standby1", 0, "async"], ["standby2", 0, "async"]]))).toBe(true);
    expect(matchesExpected(expected, rows([["standby1", 0, "async"]]))).toBe(false);
  });
});
