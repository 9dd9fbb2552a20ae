// commit-latency: what each synchronous_commit level costs a commit. A commit that waits for a
// standby waits at least one round trip to it (twice the one-way delay), and with remote_apply also
// until the standby has applied it, so it is as slow as that standby's apply.
// https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION
import type { SyncCommit } from "../core/constants.js";
import type { Session } from "../postgres.js";
import type { COMMIT_LATENCY, ConfigFor } from "./catalog.js";
import { Latencies, round } from "./measure.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof COMMIT_LATENCY>;

const TABLE = "repl_lab_commits";

async function commitLoop(session: Session, client: number, level: SyncCommit, until: number, latencies: Latencies, signal?: AbortSignal): Promise<number> {
  await session.query(`SET synchronous_commit = ${level}`);
  await session.query(`INSERT INTO ${TABLE} (client, level) VALUES ($1, $2)`, [client, level]); // warm the plan, untimed
  let commits = 0;
  while (performance.now() < until && !signal?.aborted) {
    const started = performance.now();
    await session.query(`INSERT INTO ${TABLE} (client, level) VALUES ($1, $2)`, [client, level]);
    latencies.record(performance.now() - started);
    commits += 1;
  }
  return commits;
}

export const commitLatency: Experiment<Config> = {
  usesGivenLab: true,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const lab = await context.lab({ followers: config.followers, sync: config.sync, networkDelay: config.network_delay_ms ?? undefined }, { standbys: 1 });
    const standbys = lab.nodes.filter((node) => node !== "leader");
    if (config.apply_delay_ms !== null) for (const standby of standbys) await lab.delay(standby, { apply: `${config.apply_delay_ms}ms` });
    try {
      await lab.sql("leader", `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, client int, level text, at timestamptz DEFAULT now())`);
      const rows: Row[] = [];
      for (const level of config.levels) {
        context.progress.step(`${level}: ${config.clients} clients committing for ${config.duration_ms / 1000} s`);
        const sessions = await Promise.all(Array.from({ length: config.clients }, () => lab.session("leader")));
        const latencies = new Latencies();
        try {
          const until = performance.now() + config.duration_ms;
          const started = performance.now();
          const counts = await Promise.all(sessions.map((session, client) => commitLoop(session, client, level, until, latencies, context.signal)));
          const commits = counts.reduce((sum, count) => sum + count, 0);
          const seconds = (performance.now() - started) / 1000;
          rows.push({
            synchronous_commit: level,
            clients: config.clients,
            commits,
            tps: round(commits / seconds, 1),
            p50_ms: latencies.percentile(50),
            p95_ms: latencies.percentile(95),
            p99_ms: latencies.percentile(99),
          });
        } finally {
          await Promise.all(sessions.map((session) => session.close()));
        }
      }
      return rows;
    } finally {
      // A lab given with --lab is left as it was found.
      if (config.apply_delay_ms !== null) for (const standby of standbys) await lab.delay(standby, { apply: "0ms" }).catch(() => undefined);
    }
  },

  conclude(rows: Row[], config: Config): string {
    // The levels that wait for a standby stand apart: split at the largest jump in median latency,
    // if that jump is a real one (at least 3× and 5 ms).
    const sorted = [...rows].filter((row) => typeof row.p50_ms === "number").sort((a, b) => (a.p50_ms as number) - (b.p50_ms as number));
    let split = -1;
    let widest = 1;
    for (let i = 1; i < sorted.length; i++) {
      const [low, high] = [sorted[i - 1]!.p50_ms as number, sorted[i]!.p50_ms as number];
      if (high / low > widest && high / low >= 3 && high - low >= 5) [split, widest] = [i, high / low];
    }
    const range = (set: Row[]) => {
      const values = set.map((row) => row.p50_ms as number);
      const [low, high] = [Math.min(...values), Math.max(...values)];
      return low === high ? `${low} ms` : `${low}–${high} ms`;
    };
    const names = (set: Row[]) => set.map((row) => row.synchronous_commit).join(", ");
    const delays = [
      config.network_delay_ms !== null ? `${config.network_delay_ms} ms each way on every standby's link` : "",
      config.apply_delay_ms !== null ? `a ${config.apply_delay_ms} ms apply delay` : "",
    ].filter(Boolean);
    const setting = `With synchronous_standby_names = '${config.sync}'${delays.length ? ` and ${delays.join(" and ")}` : ""}`;
    if (split < 0) return `${setting}, every level committed in ${range(sorted)} at the median: no commit waited noticeably for a standby.`;
    const inOrder = (set: Row[]) => rows.filter((row) => set.includes(row));
    const [fast, slow] = [inOrder(sorted.slice(0, split)), inOrder(sorted.slice(split))];
    const why = slow.length === 1 && slow[0]!.synchronous_commit === "remote_apply" && config.apply_delay_ms !== null
      ? "only remote_apply waits until the standby has applied the commit, which it does no sooner than the apply delay"
      : config.network_delay_ms !== null
        ? "those levels wait for the standby's reply, one round trip of twice the one-way delay"
        : "those levels wait for the standby";
    return `${setting}, ${names(slow)} committed in ${range(slow)} at the median and ${names(fast)} in ${range(fast)}: ${why}.`;
  },

  columns: [
    { key: "synchronous_commit" },
    { key: "clients" },
    { key: "commits" },
    { key: "tps" },
    { key: "p50_ms" },
    { key: "p95_ms" },
    { key: "p99_ms" },
  ],

  figures(rows: Row[], config: Config) {
    const levels = rows.map((row) => String(row.synchronous_commit));
    // Points joined by lines, not bars: a bar on a log axis starts at 1 ms and would hang below it.
    const series = (["p50_ms", "p95_ms", "p99_ms"] as const).map((key) => ({
      name: key.replace("_ms", ""),
      type: "line",
      symbolSize: 9,
      data: rows.map((row) => row[key]),
    }));
    const delays = [config.network_delay_ms !== null ? `network ${config.network_delay_ms} ms` : "", config.apply_delay_ms !== null ? `apply ${config.apply_delay_ms} ms` : ""].filter(Boolean).join(", ");
    return [
      {
        name: "commit-latency",
        title: `Commit latency by synchronous_commit (sync '${config.sync}'${delays ? `, ${delays}` : ""})`,
        option: {
          legend: { top: 30 },
          xAxis: { type: "category", data: levels, name: "synchronous_commit", nameLocation: "middle", nameGap: 30 },
          yAxis: { type: "log", name: "commit latency (ms, log scale)", nameLocation: "middle", nameGap: 50 },
          series,
        },
      },
    ];
  },
};
