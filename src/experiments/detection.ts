// detection: how long the primary takes to notice that its synchronous standby failed, and how long
// commits stall meanwhile. A standby that dies closes its connection and is noticed at once; one that
// hangs (hardware, network) is noticed only after wal_sender_timeout.
// https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-WAL-SENDER-TIMEOUT
import type { Lab } from "../api.js";
import type { Session } from "../postgres.js";
import { round } from "./measure.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { ConfigFor, DETECTION } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof DETECTION>;
type Fault = Config["faults"][number];
const REPAIR = { kill: "start", stop: "start", pause: "unpause", partition: "heal" } as const satisfies Record<Fault, string>;

async function syncState(leader: Session, standby: string): Promise<string | null> {
  const [row] = await leader.query<{ sync_state: string }>("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", [standby]);
  return row?.sync_state ?? null;
}

/** Until `check` holds (polled every 20 ms). */
const waitFor = async (check: () => Promise<boolean>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> => {
  await waitUntil(async () => ((await check()) ? true : undefined), timeoutMs, what, signal, 20);
};

async function measure(context: ExperimentContext, lab: Lab, fault: Fault, timeoutMs: number): Promise<Row> {
  const monitor = await lab.session("leader", { timeoutMs: 10_000 });
  const writer = await lab.session("leader", { timeoutMs: 600_000 });
  try {
    await waitFor(async () => (await syncState(monitor, "standby1")) === "sync" && (await syncState(monitor, "standby2")) === "potential", 90_000, "standby1 sync and standby2 potential", context.signal);
    let stop = false;
    let maxStall = 0;
    const writes = (async () => {
      while (!stop) {
        const started = performance.now();
        await writer.query("INSERT INTO detection (at) VALUES (now())");
        maxStall = Math.max(maxStall, performance.now() - started);
      }
    })();
    await sleep(300, context.signal);
    maxStall = 0;
    const faultAt = performance.now();
    await lab[fault]("standby1");
    await waitFor(async () => (await syncState(monitor, "standby2")) === "sync", timeoutMs * 3 + 30_000, "standby2 becoming sync", context.signal);
    const detectedMs = performance.now() - faultAt;
    // One more commit after detection shows the stall is over; then the writer stops.
    await sleep(100, context.signal);
    stop = true;
    await writes;
    context.progress.step(`${fault} with wal_sender_timeout ${timeoutMs} ms: detected after ${round(detectedMs, 0)} ms`);
    await lab[REPAIR[fault]]("standby1");
    return { fault, wal_sender_timeout_ms: timeoutMs, detected_ms: round(detectedMs, 0), max_commit_stall_ms: round(maxStall, 0) };
  } finally {
    await writer.close();
    await monitor.close();
  }
}

export const detection: Experiment<Config> = {
  usesGivenLab: true,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const lab = await context.lab({ followers: 2, sync: "FIRST 1 (standby1, standby2)" });
    const [{ value: original }] = (await lab.sql("leader", "SELECT current_setting('wal_sender_timeout') AS value")).rows as [{ value: string }];
    await lab.sql("leader", "CREATE TABLE IF NOT EXISTS detection (at timestamptz)");
    const rows: Row[] = [];
    try {
      for (const timeoutMs of config.wal_sender_timeouts_ms) {
        await lab.sql("leader", `ALTER SYSTEM SET wal_sender_timeout = '${timeoutMs}ms'`);
        await lab.sql("leader", "SELECT pg_reload_conf()");
        for (const fault of config.faults) rows.push(await measure(context, lab, fault, timeoutMs));
      }
    } finally {
      await lab.sql("leader", `ALTER SYSTEM SET wal_sender_timeout = '${original}'`).catch(() => undefined);
      await lab.sql("leader", "SELECT pg_reload_conf()").catch(() => undefined);
    }
    return rows;
  },

  conclude(rows: Row[]): string {
    const at = (fault: Fault) => rows.filter((row) => row.fault === fault);
    const describe = (fault: Fault) =>
      at(fault)
        .map((row) => `${row.detected_ms} ms (commits stalled ${row.max_commit_stall_ms} ms) at wal_sender_timeout ${Number(row.wal_sender_timeout_ms) / 1000} s`)
        .join(", ");
    const quick = (["kill", "stop"] as const).filter((fault) => at(fault).length);
    const slow = (["pause", "partition"] as const).filter((fault) => at(fault).length);
    const parts = [
      ...quick.map((fault) => `${fault} was noticed in ${describe(fault)}: the connection closes`),
      ...slow.map((fault) => `${fault} in ${describe(fault)}: nothing closes, so the walsender waits out wal_sender_timeout`),
    ];
    const lingering = rows.filter((row) => Number(row.max_commit_stall_ms) > Number(row.detected_ms) + 500);
    const note = lingering.length
      ? ` A commit can stall past the detection: the waiting commit is released only when the new synchronous standby next reports its flush position, which an idle one does with the walsender's keepalive, every wal_sender_timeout / 2 (seen after ${[...new Set(lingering.map((row) => row.fault))].join(", ")}).`
      : "";
    return `The primary noticed its synchronous standby's failure: ${parts.join("; ")}.${note}`;
  },

  columns: [{ key: "fault" }, { key: "wal_sender_timeout_ms" }, { key: "detected_ms" }, { key: "max_commit_stall_ms" }],

  figures(rows: Row[], config: Config) {
    const faults = [...new Set(rows.map((row) => String(row.fault)))];
    return [
      {
        name: "detection",
        title: "Time until the primary replaced its failed sync standby, by fault and wal_sender_timeout",
        option: {
          legend: { top: 30 },
          xAxis: { type: "category", data: faults },
          yAxis: { type: "value", name: "ms until standby2 was sync", nameLocation: "middle", nameGap: 55 },
          series: config.wal_sender_timeouts_ms.map((timeout) => ({
            name: `wal_sender_timeout ${timeout / 1000} s`,
            type: "bar",
            data: faults.map((fault) => rows.find((row) => row.fault === fault && row.wal_sender_timeout_ms === timeout)?.detected_ms ?? null),
          })),
        },
      },
    ];
  },
};
