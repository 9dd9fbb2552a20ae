// stale-reads: a dashboard reading from a lagging replica. Each client updates its own counter on the
// leader and at once reads it (and a neighbour's) back under a routing policy, with one replica
// replaying 2 s late. The remedies measured: read-your-own-writes (from the leader, or from a replica
// known to have replayed past the write's LSN), monotonic reads (one replica per client), and
// synchronous_commit = remote_apply.
import type { Session } from "../postgres.js";
import { Latencies, lsnBytes } from "./measure.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { ConfigFor, STALE_READS } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof STALE_READS>;
type Policy = Config["policies"][number];

const REPLICAS = ["standby1", "standby2"];

interface Counts {
  reads: number;
  stale: number;
  ryw: number;
  monotonic: number;
  readLatencies: Latencies;
  writeLatencies: Latencies;
}

/** The latest value acknowledged to any client, per counter: what a read that starts now should see at least. */
type Acknowledged = Map<number, number>;

async function client(
  id: number,
  policy: Policy,
  config: Config,
  sessions: { leader: Session; replicas: Session[] },
  acknowledged: Acknowledged,
  counts: Counts,
  signal?: AbortSignal,
): Promise<void> {
  const neighbour = (id + 1) % config.clients;
  const seen = new Map<number, number>();
  const until = performance.now() + config.duration_ms;
  for (let iteration = 0; performance.now() < until && !signal?.aborted; iteration++) {
    const writeStarted = performance.now();
    const [written] = await sessions.leader.query<{ v: string }>("UPDATE counters SET v = v + 1 WHERE client = $1 RETURNING v::text", [id]);
    counts.writeLatencies.record(performance.now() - writeStarted);
    const mine = Number(written!.v);
    acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, mine));
    const known = new Map(acknowledged);

    const readStarted = performance.now();
    let reader: Session;
    if (policy === "primary") reader = sessions.leader;
    else if (policy === "sticky") reader = sessions.replicas[id % sessions.replicas.length]!;
    else reader = sessions.replicas[(iteration + id) % sessions.replicas.length]!;
    if (policy === "lsn-wait") {
      // Read your own writes from a replica: wait (bounded) until it has replayed past this write.
      const [{ lsn }] = (await sessions.leader.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn")) as [{ lsn: string }];
      const deadline = performance.now() + config.lsn_wait_timeout_ms;
      for (;;) {
        const [replayed] = await reader.query<{ lsn: string | null }>("SELECT pg_last_wal_replay_lsn()::text AS lsn");
        if ((lsnBytes(replayed?.lsn ?? null) ?? 0n) >= (lsnBytes(lsn) ?? 0n) || performance.now() > deadline) break;
        await sleep(5);
      }
    }
    const rows = await reader.query<{ client: number; v: string }>("SELECT client, v::text FROM counters WHERE client = ANY($1)", [[id, neighbour]]);
    counts.readLatencies.record(performance.now() - readStarted);
    counts.reads += 1;
    // Each is counted once per read: a read is stale when any counter in it is older than a write
    // acknowledged before the read began, and goes back in time when any is older than one this
    // client already read.
    let [stale, backwards] = [false, false];
    for (const row of rows) {
      const value = Number(row.v);
      if (value < (known.get(row.client) ?? 0)) stale = true;
      if (row.client === id && value < mine) counts.ryw += 1;
      if (value < (seen.get(row.client) ?? 0)) backwards = true;
      seen.set(row.client, Math.max(seen.get(row.client) ?? 0, value));
    }
    if (stale) counts.stale += 1;
    if (backwards) counts.monotonic += 1;
  }
}

export const staleReads: Experiment<Config> = {
  usesGivenLab: true,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const lab = await context.lab({ followers: 2 });
    // The counters reach both replicas before one of them starts lagging.
    await lab.sql("leader", "DROP TABLE IF EXISTS counters");
    await lab.sql("leader", `CREATE TABLE counters AS SELECT g AS client, 0::bigint AS v FROM generate_series(0, ${config.clients - 1}) g`);
    await lab.sql("leader", "ALTER TABLE counters ADD PRIMARY KEY (client)");
    for (const replica of REPLICAS) {
      await waitUntil(
        async () => ((await lab.sql(replica, "SELECT to_regclass('counters') IS NOT NULL AS ready").catch(() => undefined))?.rows[0]?.ready === true ? true : undefined),
        30_000,
        `the counters table reaching ${replica}`,
        context.signal,
      );
    }
    await lab.delay("standby1", { apply: `${config.apply_delay_ms}ms` });
    const rows: Row[] = [];
    try {
      for (const policy of config.policies) {
        context.progress.step(`${policy}: ${config.clients} clients writing and reading for ${config.duration_ms / 1000} s`);
        if (policy === "remote_apply") await lab.sync.set(`FIRST ${REPLICAS.length} (${REPLICAS.join(", ")})`);
        const counts: Counts = { reads: 0, stale: 0, ryw: 0, monotonic: 0, readLatencies: new Latencies(), writeLatencies: new Latencies() };
        const acknowledged: Acknowledged = new Map();
        const sessions = await Promise.all(
          Array.from({ length: config.clients }, async () => ({
            leader: await lab.session("leader"),
            replicas: await Promise.all(REPLICAS.map((replica) => lab.session(replica))),
          })),
        );
        try {
          if (policy === "remote_apply") for (const { leader } of sessions) await leader.query("SET synchronous_commit = remote_apply");
          await Promise.all(sessions.map((set, id) => client(id, policy, config, set, acknowledged, counts, context.signal)));
        } finally {
          await Promise.all(sessions.flatMap((set) => [set.leader, ...set.replicas]).map((session) => session.close()));
          if (policy === "remote_apply") await lab.sync.off();
        }
        rows.push({
          policy,
          reads: counts.reads,
          stale: counts.stale,
          ryw_violations: counts.ryw,
          monotonic_violations: counts.monotonic,
          p50_read_ms: counts.readLatencies.percentile(50),
          p99_read_ms: counts.readLatencies.percentile(99),
          p50_write_ms: counts.writeLatencies.percentile(50),
        });
      }
    } finally {
      await lab.delay("standby1", { apply: "0ms" }).catch(() => undefined);
    }
    return rows;
  },

  conclude(rows: Row[], config: Config): string {
    const row = (policy: Policy) => rows.find((candidate) => candidate.policy === policy);
    const pct = (part: number, whole: number) => (whole === 0 ? "0%" : `${Math.round((100 * part) / whole)}%`);
    const parts: string[] = [];
    const replica = row("replica");
    if (replica) {
      parts.push(
        `round-robin over the replicas read stale data ${pct(Number(replica.stale), Number(replica.reads))} of the time, missed the client's own write ${replica.ryw_violations} times and went back in time ${replica.monotonic_violations} times`,
      );
    }
    const safe = (["primary", "lsn-wait", "remote_apply"] as const).filter((policy) => row(policy) && row(policy)!.ryw_violations === 0);
    if (safe.length) parts.push(`${safe.join(", ")} never missed a client's own write`);
    const sticky = row("sticky");
    if (sticky) parts.push(`sticky never went back in time${Number(sticky.monotonic_violations) === 0 ? "" : ` (it did ${sticky.monotonic_violations} times: a FINDING)`} but still read stale data ${pct(Number(sticky.stale), Number(sticky.reads))} of the time`);
    const remote = row("remote_apply");
    if (remote) parts.push(`remote_apply paid for it on every write: ${remote.p50_write_ms} ms at the median, the slowest replica's apply delay`);
    return `With standby1 replaying ${config.apply_delay_ms / 1000} s late: ${parts.join("; ")}.`;
  },

  columns: [
    { key: "policy" },
    { key: "reads" },
    { key: "stale" },
    { key: "ryw_violations" },
    { key: "monotonic_violations" },
    { key: "p50_read_ms" },
    { key: "p99_read_ms" },
    { key: "p50_write_ms" },
  ],

  figures(rows: Row[], config: Config) {
    const policies = rows.map((row) => String(row.policy));
    const share = (key: string) => rows.map((row) => (Number(row.reads) ? Math.round((1000 * Number(row[key])) / Number(row.reads)) / 10 : 0));
    return [
      {
        name: "stale-reads",
        title: `Reads that missed a write, by routing policy (standby1 ${config.apply_delay_ms / 1000} s behind)`,
        option: {
          legend: { top: 30 },
          xAxis: { type: "category", data: policies },
          yAxis: { type: "value", name: "% of reads", nameLocation: "middle", nameGap: 45, max: 100 },
          series: [
            { name: "stale", type: "bar", data: share("stale") },
            { name: "read-your-writes violations", type: "bar", data: share("ryw_violations") },
            { name: "monotonic-read violations", type: "bar", data: share("monotonic_violations") },
          ],
        },
      },
    ];
  },
};
