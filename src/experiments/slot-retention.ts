// slot-retention: a standby stopped while the leader writes WAL, then started again. Without a
// replication slot, a standby that has been stopped long can catch up only if wal_keep_size (before
// PostgreSQL 13, wal_keep_segments) kept enough WAL; a slot keeps all of it, and max_slot_wal_keep_size
// puts a ceiling on that. https://www.postgresql.org/docs/current/warm-standby.html#STREAMING-REPLICATION-SLOTS
import type { Lab } from "../api.js";
import { round } from "./measure.js";
import { sleep } from "../core/retry.js";
import type { ConfigFor, SLOT_RETENTION } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof SLOT_RETENTION>;
type Mode = Config["modes"][number];

const MB = 1024 * 1024;
const CATCH_UP_TIMEOUT_MS = 30_000;
/** keep_bytes as the setting takes it (wal_keep_size and max_slot_wal_keep_size are in MB). */
const keepMb = (config: Config) => Math.round(config.keep_bytes / MB);
const WAL_GONE = /requested WAL segment \S+ has already been removed|can no longer get changes from replication slot "[^"]+"|replication slot "[^"]+" .*invalidated/;

async function slotSample(lab: Lab): Promise<{ wal_status: string | null; retained: number | null; safe: number | null } | undefined> {
  const { rows } = await lab.sql(
    "leader",
    "SELECT wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained, safe_wal_size::float8 AS safe FROM pg_replication_slots WHERE slot_name = 'standby1'",
  );
  const row = rows[0];
  return row ? { wal_status: (row.wal_status as string | null) ?? null, retained: (row.retained as number | null) ?? null, safe: (row.safe as number | null) ?? null } : undefined;
}

async function trial(context: ExperimentContext, config: Config, mode: Mode): Promise<Row> {
  const lab = await context.lab(
    {
      followers: 1,
      slots: mode !== "no-slot",
      // A small max_wal_size lets the slot pass through "extended" (past max_wal_size, within
      // max_slot_wal_keep_size) on its way to "unreserved" and "lost".
      settings: mode === "max-slot-wal-keep-size" ? { max_slot_wal_keep_size: `${keepMb(config)}MB`, max_wal_size: "32MB" } : {},
    },
    { fresh: true },
  );
  try {
    if (mode === "no-slot") {
      // What wal_keep_segments did before slots (repl-lab's own --no-slots default keeps more).
      await lab.sql("leader", `ALTER SYSTEM SET wal_keep_size = '${keepMb(config)}MB'`);
      await lab.sql("leader", "SELECT pg_reload_conf()");
    }
    await lab.sql("leader", "CREATE TABLE filler (id bigserial, pad text)");
    context.progress.step(`${mode}: standby1 stopped; writing ${Math.round(config.wal_bytes / MB)} MB of WAL`);
    await lab.stop("standby1");
    const start = (await lab.sql("leader", "SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]!.lsn as string;
    const seen: string[] = [];
    let retainedMax = 0;
    const safeSeen: number[] = [];
    let written = 0;
    for (let batch = 1; written < config.wal_bytes; batch++) {
      // About 2 MB of WAL per batch, looked at after each; a checkpoint every 5 lets the leader remove
      // old WAL, or the slot lose it.
      await lab.sql("leader", "INSERT INTO filler (pad) SELECT repeat(md5(g::text), 56) FROM generate_series(1, 1000) g");
      if (batch % 5 === 0) await lab.sql("leader", "CHECKPOINT");
      written = Number((await lab.sql("leader", `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${start}')::float8 AS bytes`)).rows[0]!.bytes);
      const sample = await slotSample(lab);
      if (sample?.wal_status && seen.at(-1) !== sample.wal_status) seen.push(sample.wal_status);
      if (sample?.retained != null) retainedMax = Math.max(retainedMax, sample.retained);
      if (sample?.safe != null) safeSeen.push(sample.safe);
      if (context.signal?.aborted) break;
    }
    await lab.sql("leader", "CHECKPOINT");
    const last = await slotSample(lab);
    if (last?.wal_status && seen.at(-1) !== last.wal_status) seen.push(last.wal_status);
    const end = (await lab.sql("leader", "SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]!.lsn as string;

    context.progress.step(`${mode}: starting standby1; waiting up to ${CATCH_UP_TIMEOUT_MS / 1000} s for it to catch up`);
    const started = performance.now();
    await lab.start("standby1");
    let caughtUp = false;
    let gone: string | null = null;
    for (let look = 0; performance.now() - started < CATCH_UP_TIMEOUT_MS && !context.signal?.aborted && !gone; look++) {
      const { rows } = await lab.sql("standby1", `SELECT pg_last_wal_replay_lsn() >= '${end}'::pg_lsn AS done`).catch(() => ({ rows: [{ done: false }] }));
      if (rows[0]?.done === true) {
        caughtUp = true;
        break;
      }
      // Its log says when it never will: the WAL it asks for is gone.
      if (look % 10 === 9) gone = (await lab.logs("standby1", { tail: 50 })).map((line) => WAL_GONE.exec(line)?.[0]).filter(Boolean).pop() ?? null;
      await sleep(100, context.signal);
    }
    const catchUpMs = caughtUp ? round(performance.now() - started, 0) : null;
    const status = await lab.status();
    return {
      mode,
      wal_written_bytes: written,
      retained_bytes_max: mode === "no-slot" ? null : retainedMax,
      safe_wal_size_min: safeSeen.length ? Math.min(...safeSeen) : null,
      wal_status_seen: seen,
      caught_up: caughtUp,
      catch_up_ms: catchUpMs,
      standby_log: gone,
      status_warning: status.warnings.find((warning) => warning.includes("standby1")) ?? null,
    };
  } finally {
    await context.release(lab);
  }
}

export const slotRetention: Experiment<Config> = {
  usesGivenLab: false,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const rows: Row[] = [];
    for (const mode of config.modes) rows.push(await trial(context, config, mode));
    return rows;
  },

  conclude(rows: Row[], config: Config): string {
    const mb = (bytes: unknown) => `${Math.round(Number(bytes) / MB)} MB`;
    const parts = rows.map((row) => {
      if (row.mode === "slot") {
        return row.caught_up
          ? `with a slot the leader kept all ${mb(row.retained_bytes_max)} and standby1 caught up in ${round(Number(row.catch_up_ms) / 1000, 1)} s`
          : "with a slot standby1 did NOT catch up: a FINDING";
      }
      if (row.mode === "no-slot") {
        return row.caught_up
          ? `without a slot it still caught up (wal_keep_size ${keepMb(config)} MB kept enough)`
          : `without a slot and wal_keep_size = ${keepMb(config)} MB it could not: the WAL it needed was gone${row.standby_log ? ` ("${String(row.standby_log)}")` : ""}, and rejoin --reclone rebuilds it`;
      }
      const path = (row.wal_status_seen as string[]).join(" → ");
      return row.caught_up
        ? `with max_slot_wal_keep_size = ${keepMb(config)} MB it caught up (${path})`
        : `with max_slot_wal_keep_size = ${keepMb(config)} MB the slot went ${path} and standby1 could not catch up`;
    });
    return `standby1 stopped while the leader wrote ${mb(rows[0]?.wal_written_bytes ?? config.wal_bytes)} of WAL: ${parts.join("; ")}.`;
  },

  columns: [
    { key: "mode" },
    { key: "wal_written_bytes", title: "wal_written", format: (value) => `${Math.round(Number(value) / MB)} MB` },
    { key: "retained_bytes_max", title: "retained_max", format: (value) => (value === null ? "-" : `${Math.round(Number(value) / MB)} MB`) },
    { key: "safe_wal_size_min", title: "safe_wal_size_min", format: (value) => (value === null ? "-" : `${Math.round(Number(value) / MB)} MB`) },
    { key: "wal_status_seen" },
    { key: "caught_up" },
    { key: "catch_up_ms" },
  ],

  figures(rows: Row[]) {
    return [
      {
        name: "slot-retention",
        title: "WAL written while standby1 was stopped, and what its slot kept",
        option: {
          legend: { top: 30 },
          xAxis: { type: "category", data: rows.map((row) => `${row.mode}${row.caught_up ? " (caught up)" : " (could not catch up)"}`) },
          yAxis: { type: "value", name: "MB", nameLocation: "middle", nameGap: 45 },
          series: [
            { name: "WAL written", type: "bar", data: rows.map((row) => Math.round(Number(row.wal_written_bytes) / MB)) },
            { name: "most WAL the slot retained", type: "bar", data: rows.map((row) => (row.retained_bytes_max === null ? 0 : Math.round(Number(row.retained_bytes_max) / MB))) },
          ],
        },
      },
    ];
  },
};
