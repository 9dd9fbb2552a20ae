// ha-failover: automatic failover by consensus, timed phase by phase. Failover by consensus is
// usually told as a Raft election: heartbeats stop, a timeout passes, a majority elects a new leader,
// and for 5 to 15 s no write is accepted. Here Patroni holds a leader lock in etcd (which runs Raft); the leader
// is killed (SIGKILL: its Patroni dies with it, so the lock must expire after ttl) or stopped (its
// Patroni releases the lock), and each phase is timed from the fault: lock gone, new holder written
// (an etcd Raft commit), new leader promoted, first write acknowledged through a writer that finds
// the primary as libpq does with target_session_attrs=read-write.
import type { Lab } from "../api.js";
import { LAB_HA_DEFAULTS, PATRONI_DEFAULTS } from "../core/ha.js";
import type { Session } from "../postgres.js";
import { LabError } from "../core/errors.js";
import { Latencies, round } from "./measure.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { ConfigFor, HA_FAILOVER } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof HA_FAILOVER>;
type Fault = Config["faults"][number];
type Settings = Config["settings"][number];
const TIMING: Record<Settings, { ttl: number; loop_wait: number; retry_timeout: number }> = { lab: LAB_HA_DEFAULTS, patroni: PATRONI_DEFAULTS };

interface Phases {
  lock_gone_ms: number | null;
  new_leader_ms: number | null;
  promoted_ms: number | null;
  first_write_ms: number | null;
  new_leader: string | null;
}

const PHASES = ["lock_gone_ms", "new_leader_ms", "promoted_ms", "first_write_ms"] as const;

/**
 * Writes as a client with a multi-host URL and target_session_attrs=read-write does: each node in
 * turn, the first that is not read-only, one row at a time; on an error it looks again. Records the
 * first write acknowledged by a node other than `old` after the fault.
 */
class Writer {
  private stopped = false;
  private session: Session | undefined;
  private node: string | undefined;
  private faultAt: number | undefined;
  private old: string | undefined;
  firstWriteMs: number | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly lab: Lab,
    private readonly nodes: string[],
  ) {
    this.done = this.loop();
  }

  /** From now on, the first write acknowledged by a node other than `old` is timed from `at`. */
  watch(old: string, at: number): void {
    this.old = old;
    this.faultAt = at;
    this.firstWriteMs = null;
  }

  private async connect(): Promise<void> {
    for (const node of this.nodes) {
      try {
        const session = await this.lab.session(node, { timeoutMs: 5000 });
        const [row] = await session.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro").catch(() => []);
        if (row?.ro === "off") {
          this.session = session;
          this.node = node;
          return;
        }
        await session.close();
      } catch {
        // not reachable: the next host
      }
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.session) {
        await this.connect();
        if (!this.session) {
          await sleep(20);
          continue;
        }
      }
      try {
        await this.session.query("INSERT INTO ha_writes (at) VALUES (now())");
        if (this.faultAt !== undefined && this.firstWriteMs === null && this.node !== this.old) this.firstWriteMs = performance.now() - this.faultAt;
      } catch {
        await this.session.close().catch(() => undefined);
        this.session = undefined;
      }
    }
    await this.session?.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

const SYNCHRONOUS_ROLES = ["sync_standby", "quorum_standby"];

/**
 * Until Patroni reports a leader, every other member streaming on its timeline, and (in synchronous
 * mode) as many synchronous standbys as `synchronous`: in synchronous mode Patroni fails over only to
 * a synchronous standby, so a trial must not start before a rejoined member is one again. The
 * leader's name and the number of synchronous standbys.
 */
async function settled(lab: Lab, members: number, synchronous: number | undefined, signal?: AbortSignal): Promise<{ leader: string; synchronous: number }> {
  return waitUntil(
    async () => {
      const { patroni } = await lab.status();
      const leader = patroni?.members.find((member) => member.role === "leader" && member.state === "running");
      if (!patroni || !leader || patroni.members.length !== members) return undefined;
      const following = patroni.members.filter((member) => member !== leader && member.state === "streaming" && member.timeline === leader.timeline);
      const sync = patroni.members.filter((member) => SYNCHRONOUS_ROLES.includes(member.role)).length;
      if (synchronous !== undefined && sync < synchronous) return undefined;
      return following.length === members - 1 ? { leader: leader.name, synchronous: sync } : undefined;
    },
    180_000,
    "every member streaming from one leader",
    signal,
  );
}

async function trial(context: ExperimentContext, lab: Lab, writer: Writer, fault: Fault, timeoutMs: number): Promise<Phases> {
  const old = await lab.leaderLock();
  if (!old) throw new LabError("nobody holds the leader lock before the fault", { hint: "see `repl-lab status`" });
  const phases: Phases = { lock_gone_ms: null, new_leader_ms: null, promoted_ms: null, first_write_ms: null, new_leader: null };
  const at = performance.now();
  writer.watch(old, at);
  const faulted = lab[fault](old);
  try {
    return await phasesAfter(context, lab, writer, old, at, phases, timeoutMs);
  } finally {
    // The old leader back, also when a phase did not come: Patroni rewinds it and it follows the new one.
    if (await faulted.then(() => true, () => false)) await lab.start(old);
  }
}

async function phasesAfter(context: ExperimentContext, lab: Lab, writer: Writer, old: string, at: number, phases: Phases, timeoutMs: number): Promise<Phases> {
  // The lock, watched in etcd until a new holder is written; then the new leader's server, until it is a primary.
  const holder = await waitUntil(
    async () => {
      const now = await lab.leaderLock().catch(() => old);
      if (now !== old && phases.lock_gone_ms === null) phases.lock_gone_ms = round(performance.now() - at, 0);
      return now !== null && now !== old ? now : undefined;
    },
    timeoutMs,
    "a new leader lock holder",
    context.signal,
  );
  phases.new_leader_ms = round(performance.now() - at, 0);
  phases.new_leader = holder;
  const session = await waitUntil(() => lab.session(holder, { timeoutMs: 5000 }).catch(() => undefined), 30_000, `${holder} answering`, context.signal);
  try {
    await waitUntil(
      async () => ((await session.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0]?.r === false ? true : undefined),
      30_000,
      `${holder} promoted`,
      context.signal,
    );
  } finally {
    await session.close();
  }
  phases.promoted_ms = round(performance.now() - at, 0);
  await waitUntil(async () => (writer.firstWriteMs === null ? undefined : true), 30_000, "a write on the new leader", context.signal);
  phases.first_write_ms = round(writer.firstWriteMs!, 0);
  // The promotion is seen by polling; a write the new leader accepted is proof of it, and may come first.
  phases.promoted_ms = Math.min(phases.promoted_ms, phases.first_write_ms);
  return phases;
}

export const haFailover: Experiment<Config> = {
  usesGivenLab: true,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const lab = await context.lab({ ha: true, followers: config.followers });
    const members = lab.nodes.length;
    const initially = await settled(lab, members, undefined, context.signal);
    await lab.sql(initially.leader, "CREATE TABLE IF NOT EXISTS ha_writes (at timestamptz)");
    const rows: Row[] = [];
    const writer = new Writer(lab, lab.nodes);
    try {
      for (const settings of config.settings) {
        const timing = TIMING[settings];
        await lab.configurePatroni({ ...timing });
        for (const fault of config.faults) {
          const all: Phases[] = [];
          for (let number = 1; number <= config.trials; number++) {
            await settled(lab, members, initially.synchronous, context.signal);
            const phases = await trial(context, lab, writer, fault, (timing.ttl + timing.loop_wait + 2 * timing.retry_timeout) * 1000 + 60_000);
            all.push(phases);
            context.progress.step(
              `${fault}, ${settings} settings (ttl ${timing.ttl} s), trial ${number}/${config.trials}: lock gone ${phases.lock_gone_ms} ms, ` +
                `${phases.new_leader} holds it at ${phases.new_leader_ms} ms, promoted ${phases.promoted_ms} ms, first write ${phases.first_write_ms} ms`,
            );
          }
          const row: Row = { fault, settings, ttl: timing.ttl, loop_wait: timing.loop_wait, retry_timeout: timing.retry_timeout, trials: all.length };
          for (const phase of PHASES) {
            const latencies = new Latencies();
            for (const phases of all) if (phases[phase] !== null) latencies.record(phases[phase]!);
            // A histogram bucket can put the median a hair above the largest value recorded: never report it so.
            const p50 = latencies.percentile(50);
            row[`${phase.replace(/_ms$/, "")}_p50_ms`] = p50 === null ? null : round(Math.min(p50, latencies.max!), 0);
            row[`${phase.replace(/_ms$/, "")}_max_ms`] = latencies.max === null ? null : round(latencies.max, 0);
          }
          rows.push(row);
        }
      }
    } finally {
      await writer.stop();
      await lab.configurePatroni({ ...LAB_HA_DEFAULTS }).catch(() => undefined);
    }
    return rows;
  },

  conclude(rows: Row[]): string {
    const describe = (row: Row) =>
      `${row.fault} with ${row.settings === "lab" ? "the lab's" : "Patroni's"} settings (ttl ${row.ttl} s, loop_wait ${row.loop_wait} s): ` +
      `first write on the new leader after ${Number(row.first_write_p50_ms) / 1000} s at the median (max ${Number(row.first_write_max_ms) / 1000} s), ` +
      `of which ${Number(row.lock_gone_p50_ms) / 1000} s until the leader lock was gone`;
    const kill = rows.find((row) => row.fault === "kill");
    const stop = rows.find((row) => row.fault === "stop");
    const why =
      kill && stop
        ? " A killed leader's Patroni cannot release its lock, so the others wait for it to expire (ttl); a stopped one releases it, and a replica takes it within a loop."
        : kill
          ? " A killed leader's Patroni cannot release its lock, so the others wait for it to expire (ttl)."
          : " A stopped leader's Patroni releases its lock, so a replica takes it within a loop.";
    const trials = Number(rows[0]?.trials ?? 0);
    return `Over ${trials} trial${trials === 1 ? "" : "s"} each: ${rows.map(describe).join("; ")}.${why} The 5 to 15 s usually given for a Raft failover counts the election alone; here the election is etcd's and the wait is Patroni's lock.`;
  },

  columns: [
    { key: "fault" },
    { key: "settings" },
    { key: "ttl" },
    { key: "loop_wait" },
    { key: "trials" },
    { key: "lock_gone_p50_ms" },
    { key: "new_leader_p50_ms" },
    { key: "promoted_p50_ms" },
    { key: "first_write_p50_ms" },
    { key: "first_write_max_ms" },
  ],

  figures(rows: Row[]) {
    const cases = rows.map((row) => `${row.fault}, ${row.settings} (ttl ${row.ttl} s)`);
    const names: Record<(typeof PHASES)[number], string> = {
      lock_gone_ms: "leader lock gone",
      new_leader_ms: "new holder in etcd",
      promoted_ms: "pg_promote done",
      first_write_ms: "first write accepted",
    };
    return [
      {
        name: "ha-failover",
        title: "Automatic failover, phase by phase (median ms from the fault)",
        option: {
          legend: { top: 30 },
          xAxis: { type: "category", data: cases },
          yAxis: { type: "value", name: "ms after the fault", nameLocation: "middle", nameGap: 55 },
          series: PHASES.map((phase) => ({
            name: names[phase],
            type: "bar",
            data: rows.map((row) => row[`${phase.replace(/_ms$/, "")}_p50_ms`] ?? null),
          })),
        },
      },
    ];
  },
};
