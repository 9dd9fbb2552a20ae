// The scenario files' condition language and their parsing: pure, no lab.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { describeValues, evaluate, parseExpression } from "../../src/scenario/expression.js";
import { parseScenario } from "../../src/scenario/parse.js";

const scope = {
  leader: { role: "primary", timeline: 2 },
  standby1: { role: "standby", sync_state: "sync", replay_lag_bytes: 8 * 1024 * 1024, replay_lag: 0.004, upstream: "leader" },
  standby2: { role: "standby", sync_state: null, container_state: "exited" },
  lab: { primaries: 1, warnings: 0 },
  sql: { commit: { state: "pending" } },
};

describe("conditions", () => {
  it.each([
    ["standby1.sync_state == sync", true],
    ["standby1.sync_state != sync", false],
    ["standby2.sync_state == null", true],
    ["standby9.role == null", true],
    ["standby1.replay_lag_bytes <= 8MB and standby1.replay_lag_bytes > 7.9MB", true],
    ["standby1.replay_lag < 5ms", true],
    ["standby1.replay_lag < 1ms", false],
    ["leader.timeline >= 2 and lab.primaries == 1", true],
    ["not (standby1.sync_state == async or standby2.container_state == running)", true],
    ["sql.commit.state == 'pending'", true],
    ["standby1.upstream == \"leader\"", true],
    ["standby1.sync_state", true],
    ["standby2.sync_state", false],
    ["lab.warnings", false],
    ["standby2.sync_state < 1", false],
  ])("%s is %s", (text, expected) => {
    expect(evaluate(parseExpression(text), scope)).toBe(expected);
  });

  it("names the values it read when it does not hold", () => {
    const expression = parseExpression("standby2.sync_state == sync and lab.primaries == 1");
    expect(describeValues(expression, scope)).toBe('standby2.sync_state is null, lab.primaries is 1');
  });

  it.each(["", "standby1.sync_state ==", "(standby1.role == standby", "standby1.role === standby", "standby1.replay_lag < 5 parsecs", "standby1.role == standby extra"])(
    "refuses %j",
    (text) => {
      expect(() => parseExpression(text)).toThrow(UsageError);
    },
  );
});

describe("scenario files", () => {
  const dir = mkdtempSync(join(tmpdir(), "repl-lab-scenario-unit-"));
  const file = (text: string) => {
    const path = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return path;
  };

  it("read into steps with their lines and titles, the lab as up would make it", () => {
    const path = file(`name: example
lab:
  followers: 3
  sync: "ANY 1 (standby1, standby2)"
steps:
  - kill: standby1
  - sync: {set: "FIRST 1 (standby2, standby3)"}
  - name: a custom title
    wait: {until: "standby2.sync_state == sync", timeout: 5s}
  - sql: {node: leader, query: "INSERT INTO t VALUES (1)", as: c}
  - hold: {while: "sql.c.state == pending", for: 2s}
  - rejoin: {node: standby1, reclone: true}
  - workload: {start: w, writers: 2}
  - check: {max_lag: 1MB, timeout: 10s}
  - sleep: 500ms
`);
    const scenario = parseScenario(path);
    expect(scenario.name).toBe("example");
    expect(scenario.topology?.followers).toEqual(["standby1", "standby2", "standby3"]);
    expect(scenario.steps.map((step) => [step.line, step.title])).toEqual([
      [6, "kill standby1"],
      [7, "sync set FIRST 1 (standby2, standby3)"],
      [8, "a custom title"],
      [10, "sql on leader in the background as c: INSERT INTO t VALUES (1)"],
      [11, "sql.c.state == pending holds for 2 s"],
      [12, "rejoin standby1 --reclone"],
      [13, "workload w: start 2 writers"],
      [14, "check"],
      [15, "sleep 0.5 s"],
    ]);
    expect(scenario.steps[7]!.step).toEqual({ kind: "check", maxLagBytes: 1024 * 1024, timeoutMs: 10_000 });
  });

  it("read partition steps in each form, and heal with no value as a heal of everything", () => {
    const path = file(`steps:
  - partition: leader
  - heal:
  - partition: {groups: "leader | standby1, standby2", one_way: true}
  - heal: standby1
  - partition: {node: standby2, isolate: true}
`);
    expect(parseScenario(path).steps.map((step) => step.title)).toEqual([
      "partition leader",
      "heal",
      'partition --groups "leader | standby1, standby2" --one-way',
      "heal standby1",
      "partition --isolate standby2",
    ]);
  });

  it.each([
    ["steps:\n  - kill: standby3\n", ":2: kill: this lab has no node \"standby3\""],
    ["steps:\n  - wait: {until: \"standby7.role == primary\"}\n", ":2: wait.until: \"standby7.role\" names no node of this lab"],
    ["steps:\n  - sql: {node: leader, query: x, as: a, expect: {count: 1}}\n", ":2: sql: a query run in the background (as) has no expect"],
    ["steps:\n  - hold: {while: \"lab.primaries == 1\"}\n", ":2: hold: say for how long"],
    ["steps:\n  - sync: {set: standby1, off: true}\n", ":2: sync: gives exactly one of set, off: true or commit"],
    ["steps: []\n", ":1: steps: expected a list of steps"],
    ["lab: {followers: 1}\nsteps:\n  - kill: leader\nextra: 1\n", ":4: unknown field extra"],
    ["steps:\n  - kill: [leader\n", ":3: not YAML"],
    // Durations are bounded: Node fires a timer past 2^31-1 ms at once, so 1000h would not wait at all.
    ["steps:\n  - sleep: 1000h\n", ":2: sleep: expected a duration from 0 to 24h"],
    ["steps:\n  - sleep: .inf\n", ":2: sleep: expected a duration from 0 to 24h"],
    ["steps:\n  - wait: {until: \"lab.primaries == 1\", timeout: .nan}\n", ":2: wait.timeout: expected a duration from 0 to 24h"],
    ["steps:\n  - delay: {node: standby1, apply: 2h}\n", ":2: delay: apply: must be a duration from 0 to 3600s"],
    // Booleans are booleans: off: false does not turn synchronous replication off, "yes" is no boolean.
    ["steps:\n  - sync: {off: false}\n", ":2: sync: off: must be true (or left out)"],
    ["steps:\n  - rejoin: {node: leader, reclone: \"yes\"}\n", ":2: rejoin: reclone: must be true or false"],
    ["steps:\n  - delay: {node: standby1, clear: 1}\n", ":2: delay: clear: must be true (or left out)"],
    // An alias bomb: a few lines that expand to millions of nodes.
    [
      "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nsteps:\n  - sleep: 1s\nextra: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
      ":1: not a scenario: Excessive alias count",
    ],
  ])("a bad one is a usage error with its line (%#)", (text, message) => {
    const path = file(text);
    expect(() => parseScenario(path)).toThrow(UsageError);
    expect(() => parseScenario(path)).toThrow(`${path}${message}`);
  });
});
