// failover-loss: the unacknowledged-write problem, counted. Writers insert unique ids and record each
// acknowledgement; the leader is SIGKILLed mid-stream; the most advanced standby is promoted, as an
// operator would; the new leader is read back. With asynchronous replication a failover may lose the
// most recent acknowledged writes (at most the replication lag); with a synchronous standby promoted,
// none. https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION
import type { Lab } from "../api.js";
import type { HaManager } from "../core/constants.js";
import { NodeUnavailableError, UsageError } from "../core/errors.js";
import { parseSyncSpec, SyncSpecError } from "../core/sync-spec.js";
import type { Session } from "../postgres.js";
import { lsnBytes, round, lostPerTrialFigure, sum, trialsByMode } from "./measure.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { ConfigFor, FAILOVER_LOSS } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

/** With ha, nobody promotes: Patroni does, through etcd (sync modes are Patroni's synchronous mode). */
type Config = ConfigFor<typeof FAILOVER_LOSS>;
type Mode = Config["modes"][number];

interface Acked {
  id: number;
  /** The leader's WAL insert position right after this write's COMMIT: at or past the end of its commit record. */
  lsn: string;
}

/** One writer: inserts until told to stop or until its connection breaks (the kill). */
async function write(session: Session, writer: number, acked: Acked[], attempted: Set<number>, stop: { now: boolean }): Promise<void> {
  for (let seq = 1; !stop.now; seq++) {
    const id = writer * 1_000_000_000 + seq;
    attempted.add(id);
    try {
      // One round trip, as a plain INSERT: the position is read after the COMMIT, so a write lost with the
      // leader can never show a position before the fork point (read inside the INSERT it could, by the
      // commit record that follows it). `id` is our own integer, safe to inline in the simple protocol.
      const [row] = await session.query<{ lsn: string }>(`BEGIN; INSERT INTO writes (id) VALUES (${id}); COMMIT; SELECT pg_current_wal_insert_lsn()::text AS lsn`);
      acked.push({ id, lsn: row!.lsn });
      attempted.delete(id);
    } catch {
      return; // the leader is gone: this id is in doubt, and so is nothing else from this writer
    }
  }
}

/** The fork point of the new timeline: where the promoted standby's history leaves the old one. */
async function forkLsn(session: Session): Promise<string | null> {
  // The current timeline is the first 8 hex digits of the current WAL file's name.
  const [row] = await session.query<{ history: string | null }>(
    "SELECT pg_read_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history', 0, 4096, true) AS history",
  );
  const line = (row?.history ?? "").split("\n").filter((entry) => /^\d+\t/.test(entry)).pop();
  return line?.split("\t")[1] ?? null;
}

/** The standby that received the most WAL: under FIRST n or ANY n it holds every commit a synchronous mode acknowledged. */
async function mostAdvanced(lab: Lab, followers: readonly string[]): Promise<string> {
  const received = await Promise.all(
    followers.map(async (node) => {
      const { rows } = await lab.sql(node, "SELECT pg_last_wal_receive_lsn()::text AS lsn");
      return { node, lsn: String(rows[0]?.lsn ?? "0/0") };
    }),
  );
  return received.sort((a, b) => Number((lsnBytes(b.lsn) ?? 0n) - (lsnBytes(a.lsn) ?? 0n)))[0]!.node;
}

/** The member the HA manager makes the leader after the kill (Patroni once the killed leader's lock expires, within ttl and a minute; the monitor within seconds). */
async function managerChoice(lab: Lab, signal?: AbortSignal): Promise<string> {
  return waitUntil(
    async () => {
      const holder = await lab.haLeader().catch(() => null);
      return holder && holder !== "leader" ? holder : undefined;
    },
    90_000,
    "the HA manager making another member the leader after the kill",
    signal,
    100,
  );
}

const followersOf = (config: Config) => Array.from({ length: config.followers }, (_, index) => `standby${index + 1}`);

/** The synchronous modes' synchronous_standby_names: --sync, else FIRST 1 over every follower. */
const syncSpecOf = (config: Config) => config.sync ?? `FIRST 1 (${followersOf(config).join(", ")})`;

async function trial(context: ExperimentContext, config: Config, mode: Mode, number: number, manager?: HaManager): Promise<Row> {
  const lab = await context.lab(
    {
      followers: config.followers,
      sync: mode === "async" ? undefined : syncSpecOf(config),
      syncCommit: mode === "async" ? "on" : mode,
      // 0 is no relay at all: the standbys stream straight from the leader.
      networkDelay: config.network_delay_ms || undefined,
      ...(config.ha ? { ha: true, manager } : {}),
    },
    { fresh: true },
  );
  try {
    await lab.sql("leader", "CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
    const acked: Acked[] = [];
    const attempted = new Set<number>();
    const stop = { now: false };
    const sessions = await Promise.all(Array.from({ length: config.writers }, () => lab.session("leader", { timeoutMs: 60_000 })));
    const writers = sessions.map((session, writer) => write(session, writer + 1, acked, attempted, stop));
    await sleep(config.warmup_ms, context.signal);
    context.progress.step(`${mode} trial ${number}: ${acked.length} writes acknowledged; killing the leader`);
    const killedAt = performance.now();
    await lab.kill("leader");
    stop.now = true;
    await Promise.all(writers);
    await Promise.all(sessions.map((session) => session.close()));

    // As an operator would: promote the standby that received the most WAL. In HA mode nobody
    // does: Patroni's leader race (in synchronous mode, among synchronous standbys only) chooses.
    const best = config.ha ? await managerChoice(lab, context.signal) : await mostAdvanced(lab, followersOf(config));
    const probe = await lab.session(best, { timeoutMs: 30_000 });
    let unavailableMs = 0;
    try {
      const firstWrite = (async () => {
        const deadline = performance.now() + 60_000;
        for (;;) {
          try {
            await probe.query("INSERT INTO writes (id) VALUES (0)");
            return performance.now();
          } catch (error) {
            // Still a standby (read-only) until pg_promote has finished; give up if it never does.
            if (error instanceof NodeUnavailableError || performance.now() > deadline) throw error;
            await sleep(5);
          }
        }
      })();
      firstWrite.catch(() => undefined);
      if (!config.ha) await lab.promote(best);
      unavailableMs = (await firstWrite) - killedAt;
      const present = new Set((await probe.query<{ id: string }>("SELECT id::text FROM writes")).map((row) => Number(row.id)));
      const fork = await forkLsn(probe);
      const lost = acked.filter((write) => !present.has(write.id));
      const forkAt = lsnBytes(fork);
      return {
        ...(manager ? { manager } : {}),
        mode,
        trial: number,
        acked: acked.length,
        lost: lost.length,
        in_doubt: [...attempted].filter((id) => present.has(id)).length,
        unavailable_ms: round(unavailableMs, 0),
        promoted: best,
        fork_lsn: fork,
        lost_beyond_fork: forkAt === null ? null : lost.filter((write) => (lsnBytes(write.lsn) ?? 0n) >= forkAt).length,
      };
    } finally {
      await probe.close();
    }
  } finally {
    await context.release(lab);
  }
}


/** Whether every mode that waits for a standby's flush (remote_write, on, remote_apply) lost nothing. */
const syncLossless = (parts: { mode: string; lost: number }[]) => parts.filter((part) => part.mode !== "async" && part.mode !== "local").every((part) => part.lost === 0);

/** A row's mode, with its manager in front when the row has one. */
const modeLabel = (row: Row) => (row.manager ? `${row.manager} ${row.mode}` : String(row.mode));

export const failoverLoss: Experiment<Config> = {
  usesGivenLab: false,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    // A spec that names no follower, or one the lab has not, is refused before any lab exists.
    if (config.modes.some((mode) => mode !== "async")) {
      try {
        parseSyncSpec(syncSpecOf(config), followersOf(config));
      } catch (error) {
        if (error instanceof SyncSpecError) throw new UsageError(`--sync: ${error.message}`, { hint: "name followers standby1 … standbyN of --followers N" });
        throw error;
      }
    }
    if (!config.ha) return trialsByMode(config.trials, config.modes, (mode, number) => trial(context, config, mode, number));
    const rows: Row[] = [];
    for (const manager of config.managers) rows.push(...(await trialsByMode(config.trials, config.modes, (mode, number) => trial(context, config, mode, number, manager))));
    return rows;
  },

  conclude(rows: Row[], config: Config): string {
    const managers = config.ha ? config.managers : [undefined];
    const parts = managers.flatMap((manager) => config.modes.map((mode) => ({ manager, mode }))).map(({ manager, mode }) => {
      const trials = rows.filter((row) => row.mode === mode && (manager === undefined || row.manager === manager));
      const lost = sum(trials, "lost");
      const acked = sum(trials, "acked");
      const beyond = sum(trials, "lost_beyond_fork");
      return { mode, label: manager && managers.length > 1 ? `${manager} ${mode}` : mode, lost, acked, beyond, trials: trials.length };
    });
    const sentences = parts.map(({ label, lost, acked, beyond, trials }) =>
      lost === 0
        ? `${label} lost none of ${acked} acknowledged writes`
        : `${label} lost ${lost} of ${acked} acknowledged writes (${round(lost / trials, 1)} per failover${beyond === lost ? ", all past the new timeline's fork point" : `, ${beyond} past the fork point`})`,
    );
    const syncLoss = parts.filter((part) => part.mode !== "async" && part.mode !== "local" && part.lost > 0);
    const link = config.network_delay_ms ? `${config.network_delay_ms} ms each way on the replication links` : "no delay on the replication links";
    const titles = config.managers.map((manager) => (manager === "patroni" ? "Patroni (synchronous modes as its synchronous mode)" : "pg_auto_failover (synchronous modes as its write quorum)"));
    const who = config.ha ? `, ${titles.join(" and ")} failing over by itself` : "";
    const synchronous = parts.some((part) => part.mode !== "async");
    const spec = synchronous ? `, ${config.followers} follower${config.followers === 1 ? "" : "s"}, synchronous modes under '${syncSpecOf(config)}'` : "";
    let text = `Over ${config.trials} trial${config.trials === 1 ? "" : "s"} with ${link}${spec}${who}: ${sentences.join("; ")}.`;
    const quorum = /^\s*ANY\b/i.test(syncSpecOf(config));
    if (quorum && !config.ha && synchronous && syncLossless(parts)) {
      text +=
        " Under ANY n a commit waits for any n of the listed standbys, so a given standby may lack it; the one that received the most WAL has every commit acknowledged before the kill, and promoting it is what loses none.";
    }
    if (syncLoss.length > 0) {
      text += ` FINDING: ${syncLoss.map((part) => part.label).join(", ")} lost acknowledged writes although each commit waited for a synchronous standby; this should not happen.`;
    } else if (parts.every((part) => part.lost === 0) && !config.network_delay_ms && config.modes.includes("async")) {
      text +=
        " Nothing was lost even asynchronously: with no latency on the link, the walsender's send right after the local flush usually reaches the standby before the client hears back; losses need latency, a lagging link, or many trials.";
    } else if (parts.some((part) => part.lost > 0)) {
      text += " An asynchronous commit is acknowledged once it is on the leader's disk; what was still on its way to the standby died with the leader";
      text += config.network_delay_ms
        ? "."
        : ", even with nothing slowing the link: the walsender sends WAL only after it is flushed locally, so the last commits acknowledged before the kill can miss the standby.";
    }
    return text;
  },

  columns: [
    // In HA mode each row is one manager's: "patroni async", "pg_auto_failover on".
    { key: "mode", format: (_value, row) => modeLabel(row) },
    { key: "trial" },
    { key: "acked" },
    { key: "lost" },
    { key: "in_doubt" },
    { key: "unavailable_ms" },
    { key: "promoted" },
    { key: "fork_lsn" },
    { key: "lost_beyond_fork" },
  ],

  figures(rows: Row[], config: Config) {
    const labelled = rows.map((row) => ({ ...row, mode: modeLabel(row) }));
    const series = [...new Set(labelled.map((row) => String(row.mode)))];
    return [lostPerTrialFigure(labelled, series.length > 0 ? series : config.modes, "failover-loss", `Acknowledged writes lost per failover (${config.writers} writers, link ${config.network_delay_ms ?? 0} ms each way)`)];
  },
};
