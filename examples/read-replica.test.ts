// An application's read-replica test, with a lab per test file: copy it into your project.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Lab } from "repl-lab";

let lab: Lab;

beforeAll(async () => {
  // remote_apply: a commit returns once standby1 has applied it, so the schema is on the replica at once.
  lab = await Lab.up({ followers: 1, sync: "standby1", syncCommit: "remote_apply" });
  await lab.sql("leader", "CREATE TABLE orders (id int PRIMARY KEY)");
}, 120_000);

afterAll(() => lab?.down());

test("a read from a lagging replica right after a write does not see the write", async () => {
  await lab.delay("standby1", { apply: "3s" }); // standby1 replays each commit 3 s late
  await lab.sync.off(); // and the leader no longer waits for it
  const leader = new pg.Client(lab.url("leader"));
  const replica = new pg.Client(lab.url("standby1"));
  await leader.connect();
  await replica.connect();
  try {
    await leader.query("INSERT INTO orders VALUES (1)");
    const { rows } = await replica.query("SELECT count(*)::int AS n FROM orders");
    expect(rows[0].n).toBe(0); // the stale read your routing code must be ready for
  } finally {
    await leader.end();
    await replica.end();
  }
});
