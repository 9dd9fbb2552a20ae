// lag: lag in bytes and lag in time, joined by the WAL rate: a replica 8 MB behind a primary that
// writes 2 MB/s of WAL is 4 s behind. A writer produces WAL at a set rate against a standby that
// replays each commit a set time late; lag in bytes (pg_wal_lsn_diff on the primary), lag in time
// (now() - pg_last_xact_replay_timestamp() on the replica), and the product that should join them.
import { round } from "./measure.js";
import { sleep } from "../core/retry.js";
import type { ConfigFor, LAG } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof LAG>;

const MB = 1024 * 1024;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : Number.NaN;
};

export const lag: Experiment<Config> = {
  usesGivenLab: true,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const lab = await context.lab({ followers: 1 });
    await lab.sql("leader", "CREATE TABLE IF NOT EXISTS lag_filler (id bigserial, pad text)");
    await lab.delay("standby1", { apply: `${config.apply_delay_ms}ms` });
    const writer = await lab.session("leader");
    const leader = await lab.session("leader");
    const replica = await lab.session("standby1");
    const rows: Row[] = [];
    try {
      for (const rate of config.rates_bytes_per_s) {
        context.progress.step(`${round(rate / MB, 2)} MB/s of WAL for ${config.duration_ms / 1000} s`);
        // A batch every 100 ms; each row is about 1.1 kB of WAL (a 1000-byte pad and its headers).
        const rowsPerBatch = Math.max(1, Math.round(rate / 10 / 1100));
        let stop = false;
        const writes = (async () => {
          for (let next = performance.now(); !stop; next += 100) {
            await writer.query(`INSERT INTO lag_filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, ${rowsPerBatch})`);
            await sleep(Math.max(0, next + 100 - performance.now()));
          }
        })();
        // The lag settles after the apply delay; measure after it, once a second.
        await sleep(config.apply_delay_ms + 1000, context.signal);
        const samples: { bytes: number; seconds: number; at: number; lsn: number }[] = [];
        const until = performance.now() + config.duration_ms;
        while (performance.now() < until && !context.signal?.aborted) {
          const [primary] = await leader.query<{ bytes: number; lsn: number }>(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS lsn FROM pg_stat_replication WHERE application_name = 'standby1'",
          );
          const [standby] = await replica.query<{ seconds: number }>("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds");
          if (primary && standby) samples.push({ bytes: primary.bytes, seconds: standby.seconds, at: performance.now(), lsn: primary.lsn });
          await sleep(1000, context.signal);
        }
        stop = true;
        await writes;
        const first = samples[0]!;
        const last = samples.at(-1)!;
        const measuredRate = (last.lsn - first.lsn) / ((last.at - first.at) / 1000);
        const lagBytes = median(samples.map((sample) => sample.bytes));
        const lagSeconds = median(samples.map((sample) => sample.seconds));
        rows.push({
          target_rate_bytes_per_s: rate,
          wal_rate_bytes_per_s: Math.round(measuredRate),
          replay_lag_bytes: Math.round(lagBytes),
          replay_lag_s: round(lagSeconds, 2),
          lag_bytes_over_rate_s: round(lagBytes / measuredRate, 2),
          rate_times_lag_s_bytes: Math.round(measuredRate * lagSeconds),
        });
        await sleep(config.apply_delay_ms + 500, context.signal); // let the standby catch up before the next rate
      }
    } finally {
      await Promise.all([writer, leader, replica].map((session) => session.close()));
      await lab.delay("standby1", { apply: "0ms" }).catch(() => undefined);
    }
    return rows;
  },

  conclude(rows: Row[], config: Config): string {
    const mb = (bytes: unknown) => `${round(Number(bytes) / MB, 1)} MB`;
    const parts = rows.map(
      (row) => `at ${mb(row.wal_rate_bytes_per_s)}/s the standby was ${mb(row.replay_lag_bytes)} behind and ${row.replay_lag_s} s late (bytes ÷ rate = ${row.lag_bytes_over_rate_s} s)`,
    );
    return `With a ${config.apply_delay_ms / 1000} s apply delay: ${parts.join("; ")}. Lag in bytes divided by the WAL rate is lag in time: 8 MB behind at 2 MB/s of WAL is 4 s behind.`;
  },

  columns: [
    { key: "wal_rate_bytes_per_s", title: "wal_rate", format: (value) => `${round(Number(value) / MB, 2)} MB/s` },
    { key: "replay_lag_bytes", title: "replay_lag_bytes", format: (value) => `${round(Number(value) / MB, 2)} MB` },
    { key: "replay_lag_s" },
    { key: "lag_bytes_over_rate_s", title: "bytes ÷ rate (s)" },
    { key: "rate_times_lag_s_bytes", title: "rate × lag_s", format: (value) => `${round(Number(value) / MB, 2)} MB` },
  ],

  figures(rows: Row[], config: Config) {
    return [
      {
        name: "lag",
        title: `Replication lag in bytes against WAL rate (apply delay ${config.apply_delay_ms / 1000} s)`,
        option: {
          legend: { top: 30 },
          xAxis: { type: "value", name: "WAL rate (MB/s)", nameLocation: "middle", nameGap: 30 },
          yAxis: { type: "value", name: "MB behind", nameLocation: "middle", nameGap: 45 },
          series: [
            { name: "replay_lag_bytes (measured)", type: "scatter", symbolSize: 12, data: rows.map((row) => [round(Number(row.wal_rate_bytes_per_s) / MB, 2), round(Number(row.replay_lag_bytes) / MB, 2)]) },
            { name: "rate × replay_lag_s", type: "line", data: rows.map((row) => [round(Number(row.wal_rate_bytes_per_s) / MB, 2), round(Number(row.rate_times_lag_s_bytes) / MB, 2)]) },
          ],
        },
      },
    ];
  },
};
