// ha-failover: automatic failover by each HA manager, timed phase by phase. Failover by consensus
// is usually told as a Raft election: heartbeats stop, a timeout passes, a majority elects a new
// leader, and for 5 to 15 s no write is accepted. Patroni holds a leader lock in etcd (which runs
// Raft): a killed leader's lock must expire after ttl, a stopped one's is released. pg_auto_failover
// has no lock: its monitor health-checks every node and, once one has been unhealthy for
// node_considered_unhealthy_timeout, waits primary_demote_timeout for the old primary to demote
// itself before it promotes a standby. Each phase is timed from the fault: detected (the lock gone;
// the monitor's health check failed), decided (a new lock holder; the monitor's first promotion
// order), promoted, and the first write acknowledged by the new leader through a writer that finds
// the primary as libpq does with target_session_attrs=read-write, and through the HA proxy.
import type { Lab } from "../api.js";
import { LAB_HA_DEFAULTS, PATRONI_DEFAULTS } from "../core/ha.js";
import { AUTO_FAILOVER_DEFAULTS, LAB_AUTO_FAILOVER_DEFAULTS } from "../core/auto-failover.js";
import type { HaManager } from "../core/constants.js";
import type { Session } from "../postgres.js";
import { Latencies, round } from "./measure.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { ConfigFor, HA_FAILOVER } from "./catalog.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof HA_FAILOVER>;
type Fault = Config["faults"][number];
type Settings = Config["settings"][number];

/** The timings a row names, in each manager's own words. */
function timing(manager: HaManager, settings: Settings): string {
  if (manager === "patroni") {
    const { ttl, loop_wait, retry_timeout } = settings === "lab" ? LAB_HA_DEFAULTS : PATRONI_DEFAULTS;
    return `ttl ${ttl} s, loop_wait ${loop_wait} s, retry_timeout ${retry_timeout} s`;
  }
  const chosen = settings === "lab" ? LAB_AUTO_FAILOVER_DEFAULTS : AUTO_FAILOVER_DEFAULTS;
  return `health_check_period ${chosen.health_check_period} ms, unhealthy after ${chosen.node_considered_unhealthy_timeout} ms, primary_demote_timeout ${chosen.primary_demote_timeout} ms`;
}

interface Phases {
  detected_ms: number | null;
  decided_ms: number | null;
  promoted_ms: number | null;
  first_write_ms: number | null;
  first_write_proxy_ms: number | null;
  new_leader: string | null;
}

const PHASES = ["detected_ms", "decided_ms", "promoted_ms", "first_write_ms", "first_write_proxy_ms"] as const;

/** How often a phase watched through a whole status is looked at (the writers' own timings are exact). */
const STATUS_INTERVAL_MS = 250;

/** Where a write went: a session's server address on the lab network. */
/** The server's own address on the lab network: tells which node a session (through the proxy too) reached. */
const SERVER_ADDRESS = "host(inet_server_addr()) AS server";
const SERVER = `SELECT ${SERVER_ADDRESS}`;

/**
 * Writes one row at a time as a client does, reconnecting after an error: through `hosts` in turn to
 * the first that is not read-only, as libpq does with a multi-host URL and
 * target_session_attrs=read-write, or through the HA proxy's writer (hosts ["writer"]), where
 * HAProxy picks the node. Records the first write after the fault acknowledged by a server other
 * than the old leader's (by its address on the lab network).
 */
class Writer {
  private stopped = false;
  private session: Session | undefined;
  private server: string | undefined;
  private faultAt: number | undefined;
  private oldServer: string | undefined;
  firstWriteMs: number | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly lab: Lab,
    private readonly hosts: string[],
  ) {
    this.done = this.loop();
  }

  /** From now on, the first write acknowledged by a server other than `oldServer` is timed from `at`. */
  watch(oldServer: string, at: number): void {
    this.oldServer = oldServer;
    this.faultAt = at;
    this.firstWriteMs = null;
  }

  private async connect(): Promise<void> {
    for (const host of this.hosts) {
      try {
        const session = await this.lab.session(host, { timeoutMs: 5000 });
        const [row] = await session.query<{ ro: string; server: string }>(`SELECT current_setting('transaction_read_only') AS ro, ${SERVER_ADDRESS}`).catch(() => []);
        if (row?.ro === "off") {
          this.session = session;
          this.server = row.server;
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
        if (this.faultAt !== undefined && this.firstWriteMs === null && this.server !== this.oldServer) this.firstWriteMs = performance.now() - this.faultAt;
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

/**
 * Until the manager reports one leader and every other node following it: Patroni's members
 * streaming on the leader's timeline (and, in synchronous mode, as many synchronous standbys as
 * before: Patroni fails over only to one), or the monitor's primary with every other node secondary.
 * The leader's name.
 */
async function settled(lab: Lab, manager: HaManager, members: number, signal?: AbortSignal): Promise<string> {
  return waitUntil(
    async () => {
      const status = await lab.status();
      if (manager === "pg_auto_failover") {
        const monitor = status.monitor;
        if (!monitor?.primary || monitor.nodes.length !== members) return undefined;
        const primary = monitor.nodes.find((node) => node.name === monitor.primary);
        if (primary?.reported_state !== "primary") return undefined;
        return monitor.nodes.every((node) => node === primary || (node.reported_state === "secondary" && node.assigned_state === "secondary")) ? monitor.primary : undefined;
      }
      const patroni = status.patroni;
      const leader = patroni?.members.find((member) => member.role === "leader" && member.state === "running");
      if (!patroni || !leader || patroni.members.length !== members) return undefined;
      const following = patroni.members.filter((member) => member !== leader && member.state === "streaming" && member.timeline === leader.timeline);
      return following.length === members - 1 ? leader.name : undefined;
    },
    180_000,
    "every member following one leader",
    signal,
    // A look is a whole status (every node, the manager, the proxy): often enough, and no load of its own on the lab being timed.
    STATUS_INTERVAL_MS,
  );
}

interface Writers {
  multiHost: Writer;
  proxy: Writer;
}

async function trial(context: ExperimentContext, lab: Lab, manager: HaManager, writers: Writers, fault: Fault, timeoutMs: number): Promise<Phases> {
  const members = lab.nodes.length;
  const old = await settled(lab, manager, members, context.signal);
  const oldSession = await lab.session(old, { timeoutMs: 5000 });
  const oldServer = (await oldSession.query<{ server: string }>(SERVER).finally(() => oldSession.close()))[0]?.server ?? "";
  const phases: Phases = { detected_ms: null, decided_ms: null, promoted_ms: null, first_write_ms: null, first_write_proxy_ms: null, new_leader: null };
  const wall = Date.now();
  const at = performance.now();
  writers.multiHost.watch(oldServer, at);
  writers.proxy.watch(oldServer, at);
  const faulted = lab[fault](old);
  try {
    if (manager === "patroni") await patroniDecision(context, lab, old, at, phases, timeoutMs);
    await promotedAndWritten(context, lab, writers, old, at, phases, timeoutMs);
    if (manager === "pg_auto_failover") await monitorDecision(lab, old, wall, phases);
    return phases;
  } finally {
    // The old leader back, also when a phase did not come: the manager rewinds it and it follows the new one.
    if (await faulted.then(() => true, () => false)) await lab.start(old);
  }
}

/** Patroni: the lock watched in etcd until a new holder is written. */
async function patroniDecision(context: ExperimentContext, lab: Lab, old: string, at: number, phases: Phases, timeoutMs: number): Promise<void> {
  const holder = await waitUntil(
    async () => {
      const now = await lab.leaderLock().catch(() => old);
      if (now !== old && phases.detected_ms === null) phases.detected_ms = round(performance.now() - at, 0);
      return now !== null && now !== old ? now : undefined;
    },
    timeoutMs,
    "a new leader lock holder",
    context.signal,
  );
  phases.decided_ms = round(performance.now() - at, 0);
  phases.new_leader = holder;
}

/**
 * pg_auto_failover: read from the monitor's own log of transitions since the fault, afterwards (its
 * clock is this machine's): detected when it marked the old primary unhealthy, decided at its first order to
 * promote another node.
 */
async function monitorDecision(lab: Lab, old: string, wall: number, phases: Phases): Promise<void> {
  const after = await lab.monitorEvents(new Date(wall));
  const since = (event: (typeof after)[number] | undefined) => (event ? Math.max(0, Date.parse(event.time) - wall) : null);
  phases.detected_ms = since(after.find((event) => event.node === old && /unhealthy/.test(event.description)));
  phases.decided_ms = since(after.find((event) => event.node !== old && ["prepare_promotion", "stop_replication", "wait_primary"].includes(event.goal_state)));
  // A clean stop can be noticed by the keepers' check-ins before any health check fails.
  if (phases.detected_ms === null || (phases.decided_ms !== null && phases.detected_ms > phases.decided_ms)) phases.detected_ms = phases.decided_ms;
}

/** The new leader's server answering as a primary, then the first write on it through each writer. */
async function promotedAndWritten(context: ExperimentContext, lab: Lab, writers: Writers, old: string, at: number, phases: Phases, timeoutMs: number): Promise<void> {
  const leader = await waitUntil(
    async () => {
      const status = await lab.status();
      return status.nodes.find((node) => node.name !== old && node.role_source === "server" && node.role === "primary")?.name;
    },
    timeoutMs,
    "a new primary",
    context.signal,
    STATUS_INTERVAL_MS,
  );
  phases.promoted_ms = round(performance.now() - at, 0);
  phases.new_leader ??= leader;
  // The trial's own bound, not a shorter one: pg_auto_failover at its own defaults takes writes on the
  // new primary 30 s (primary_demote_timeout) after promoting it.
  await waitUntil(async () => (writers.multiHost.firstWriteMs === null ? undefined : true), timeoutMs, "a write on the new leader", context.signal);
  await waitUntil(async () => (writers.proxy.firstWriteMs === null ? undefined : true), timeoutMs, "a write through the proxy", context.signal);
  phases.first_write_ms = round(writers.multiHost.firstWriteMs!, 0);
  phases.first_write_proxy_ms = round(writers.proxy.firstWriteMs!, 0);
  // The promotion is seen by polling; a write the new leader accepted is proof of it, and may come first.
  phases.promoted_ms = Math.min(phases.promoted_ms, phases.first_write_ms, phases.first_write_proxy_ms);
}

const MANAGER_TITLE: Record<HaManager, string> = { patroni: "Patroni", pg_auto_failover: "pg_auto_failover" };

export const haFailover: Experiment<Config> = {
  usesGivenLab: false,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    const rows: Row[] = [];
    for (const manager of config.managers) {
      for (const settings of config.settings) {
        // A lab per manager and settings, with the proxy, removed once its trials are done.
        const lab = await context.lab({ ha: true, manager, managerDefaults: settings === "defaults", proxy: true, followers: config.followers });
        const leader = await settled(lab, manager, lab.nodes.length, context.signal);
        await lab.sql(leader, "CREATE TABLE IF NOT EXISTS ha_writes (at timestamptz)");
        const writers: Writers = { multiHost: new Writer(lab, lab.nodes), proxy: new Writer(lab, ["writer"]) };
        try {
          for (const fault of config.faults) {
            const all: Phases[] = [];
            for (let number = 1; number <= config.trials; number++) {
              const phases = await trial(context, lab, manager, writers, fault, 180_000);
              all.push(phases);
              context.progress.step(
                `${MANAGER_TITLE[manager]}, ${fault}, ${settings} settings, trial ${number}/${config.trials}: detected ${phases.detected_ms} ms, ` +
                  `decided ${phases.decided_ms} ms (${phases.new_leader}), promoted ${phases.promoted_ms} ms, first write ${phases.first_write_ms} ms, through the proxy ${phases.first_write_proxy_ms} ms`,
              );
            }
            const row: Row = { manager, fault, settings, timing: timing(manager, settings), trials: all.length };
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
        } finally {
          await Promise.all([writers.multiHost.stop(), writers.proxy.stop()]);
          await context.release(lab);
        }
      }
    }
    return rows;
  },

  conclude(rows: Row[]): string {
    const describe = (row: Row) =>
      `${MANAGER_TITLE[row.manager as HaManager]}, ${row.fault}, ${row.settings === "lab" ? "the lab's" : "its own"} settings: ` +
      `first write on the new leader after ${Number(row.first_write_p50_ms) / 1000} s at the median (max ${Number(row.first_write_max_ms) / 1000} s), ` +
      `${Number(row.first_write_proxy_p50_ms) / 1000} s through the proxy, of which ${Number(row.detected_p50_ms) / 1000} s until the fault was detected`;
    const trials = Number(rows[0]?.trials ?? 0);
    const managers = new Set(rows.map((row) => row.manager));
    const why = [
      managers.has("patroni") ? " Patroni waits for a killed leader's lock to expire (ttl, which it raises to at least 20 s); a stopped leader releases it." : "",
      managers.has("pg_auto_failover")
        ? " pg_auto_failover's monitor acts once a node has failed its health checks for node_considered_unhealthy_timeout, then gives the old primary primary_demote_timeout to demote itself; its keeper does not tell the monitor on a clean stop, so a stop takes the same path as a kill."
        : "",
    ].join("");
    return `Over ${trials} trial${trials === 1 ? "" : "s"} each: ${rows.map(describe).join("; ")}.${why} The 5 to 15 s usually given for a Raft failover counts the election alone.`;
  },

  columns: [
    { key: "manager" },
    { key: "fault" },
    { key: "settings" },
    { key: "trials" },
    { key: "detected_p50_ms" },
    { key: "decided_p50_ms" },
    { key: "promoted_p50_ms" },
    { key: "first_write_p50_ms" },
    { key: "first_write_proxy_p50_ms" },
    { key: "first_write_max_ms" },
  ],

  figures(rows: Row[]) {
    const cases = rows.map((row) => `${MANAGER_TITLE[row.manager as HaManager]}, ${row.fault}, ${row.settings}`);
    const names: Record<(typeof PHASES)[number], string> = {
      detected_ms: "fault detected",
      decided_ms: "new leader decided",
      promoted_ms: "promoted",
      first_write_ms: "first write (multi-host URL)",
      first_write_proxy_ms: "first write (proxy)",
    };
    return [
      {
        name: "ha-failover",
        title: "Automatic failover by manager, phase by phase (median ms from the fault)",
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
