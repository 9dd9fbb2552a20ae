// split-brain: what happens to writes on the losing side of a partition. One writer per PostgreSQL
// node, each connected through that node's own published port as an application on that side would
// be, records every acknowledgement; the leader is cut from every other member by packet filter
// (its clients still reach it); after a hold the cut heals, the lab settles, and the final history is
// read from the primary. A ledger per trial: how long the old leader kept acknowledging writes,
// how many of its acknowledged writes are missing from the final history, when the majority side
// first acknowledged one, and whether two nodes acknowledged writes at the same time.
// Modes: HA asynchronous, HA synchronous (Patroni's synchronous mode), and manual (nobody fails over).
import type { Lab } from "../api.js";
import { SqlError } from "../core/errors.js";
import { sleep, waitUntil } from "../core/retry.js";
import type { Session } from "../postgres.js";
import type { ConfigFor, SPLIT_BRAIN } from "./catalog.js";
import { round, lostPerTrialFigure, sum, trialsByMode } from "./measure.js";
import type { Experiment, ExperimentContext, Row } from "./types.js";

type Config = ConfigFor<typeof SPLIT_BRAIN>;
type Mode = Config["modes"][number];

const NODES = ["leader", "standby1", "standby2"];
/** SQLSTATE read_only_sql_transaction: a write on a standby. */
const READ_ONLY = "25006";

interface Ack {
  id: number;
  node: string;
  /** ms after the cut (negative: before it). */
  at: number;
}

/** One node's writer: inserts ids through the node's own port; refused (read-only, down, cut) it tries again. */
class NodeWriter {
  private stopped = false;
  private session: Session | undefined;
  private seq = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly lab: Lab,
    private readonly node: string,
    private readonly index: number,
    private readonly acks: Ack[],
    private readonly clock: () => number,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.session ??= await this.lab.session(this.node, { timeoutMs: 3000 });
        const id = (this.index + 1) * 1_000_000_000 + ++this.seq;
        // A commit the writer does not hear back about within 3 s (a synchronous commit waiting for a
        // standby it cannot reach) is in doubt, not acknowledged.
        await this.session.query(`INSERT INTO ledger (id, node) VALUES (${id}, '${this.node}')`);
        this.acks.push({ id, node: this.node, at: this.clock() });
      } catch (error) {
        // A read-only standby refuses the write and keeps the session: look again in a moment.
        // Anything else (the server gone, a timeout) ends the session; the next loop reconnects.
        if (!(error instanceof SqlError && error.sqlstate === READ_ONLY)) {
          await this.session?.close().catch(() => undefined);
          this.session = undefined;
        }
        await sleep(100);
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
 * HA: the leader, with every other member following it: Patroni's lock holder running and the others
 * streaming on its timeline, or the monitor's primary with every other node secondary.
 */
async function haSettled(lab: Lab, signal?: AbortSignal): Promise<string> {
  return waitUntil(
    async () => {
      const { patroni, monitor } = await lab.status();
      if (monitor) {
        const primary = monitor.nodes.find((node) => node.name === monitor.primary && node.reported_state === "primary");
        return primary && monitor.nodes.every((node) => node === primary || (node.reported_state === "secondary" && node.assigned_state === "secondary")) ? primary.name : undefined;
      }
      const leader = patroni?.members.find((member) => member.role === "leader" && member.state === "running");
      if (!patroni || !leader) return undefined;
      const following = patroni.members.filter((member) => member !== leader && member.state === "streaming" && member.timeline === leader.timeline);
      return following.length === patroni.members.length - 1 ? leader.name : undefined;
    },
    180_000,
    "every member streaming from one leader after the heal",
    signal,
  );
}

/** How much longer than --hold an HA trial's cut may last, waiting for the other side's first write. */
const TAKEOVER_BOUND_MS = 60_000;

async function trial(context: ExperimentContext, config: Config, mode: Mode, number: number): Promise<Row> {
  const ha = mode !== "manual";
  const manager = mode.startsWith("paf-") ? "pg_auto_failover" : "patroni";
  // Synchronous: Patroni's synchronous mode over both followers, or pg_auto_failover's write quorum of both (ANY 1).
  const sync = mode === "ha-sync" ? "FIRST 1 (standby1, standby2)" : mode === "paf-sync" ? "ANY 1 (standby1, standby2)" : undefined;
  const lab = await context.lab(
    { followers: 2, ...(ha ? { ha: true, manager } : {}), ...(sync ? { sync } : {}) },
    { fresh: true },
  );
  try {
    const old = ha ? await haSettled(lab, context.signal) : "leader";
    await lab.sql(old, "CREATE TABLE ledger (id bigint PRIMARY KEY, node text, at timestamptz DEFAULT now())");
    const acks: Ack[] = [];
    // Until the cut every acknowledgement is "before it" (-Infinity); after, ms since the cut.
    let cutAt = Number.POSITIVE_INFINITY;
    const clock = () => performance.now() - cutAt;
    const writers = NODES.map((node, index) => new NodeWriter(lab, node, index, acks, clock));
    let healedMs: number;
    try {
      await sleep(config.warmup_ms, context.signal);
      context.progress.step(`${mode} trial ${number}: ${acks.length} writes acknowledged; cutting ${old} from every other member`);
      await lab.partition(old);
      // The cut is in force once the command returns (each member's rules load as one transaction
      // before it does): what was acknowledged while the rules were being loaded counts as before it.
      cutAt = performance.now();
      await sleep(config.hold_ms, context.signal);
      // An HA lab's cut lasts until the other side has taken a write too (at most a minute more):
      // on a busy machine the failover can come after --hold, and a cut healed before it measures
      // nothing of the overlap.
      const bound = performance.now() + TAKEOVER_BOUND_MS;
      while (ha && !acks.some((ack) => ack.at >= 0 && ack.node !== old) && performance.now() < bound) await sleep(100, context.signal);
      await lab.heal();
      healedMs = clock();
    } finally {
      await Promise.all(writers.map((writer) => writer.stop()));
    }
    context.progress.step(`${mode} trial ${number}: healed; waiting for the lab to settle`);
    const primary = ha ? await haSettled(lab, context.signal) : old;
    const { rows } = await lab.sql(primary, "SELECT id::text AS id FROM ledger");
    const present = new Set(rows.map((row) => Number(row.id)));
    const afterCut = acks.filter((ack) => ack.at >= 0 && ack.at <= healedMs);
    const onOld = afterCut.filter((ack) => ack.node === old);
    const elsewhere = afterCut.filter((ack) => ack.node !== old);
    const oldLast = onOld.length > 0 ? Math.max(...onOld.map((ack) => ack.at)) : null;
    const newFirst = elsewhere.length > 0 ? Math.min(...elsewhere.map((ack) => ack.at)) : null;
    const lost = acks.filter((ack) => !present.has(ack.id));
    return {
      mode,
      trial: number,
      old_leader: old,
      new_primary: primary,
      old_leader_acked_after_cut: onOld.length,
      old_leader_writable_ms: oldLast === null ? 0 : round(oldLast, 0),
      new_leader_first_write_ms: newFirst === null ? null : round(newFirst, 0),
      dual_primary_ms: oldLast !== null && newFirst !== null ? round(Math.max(0, oldLast - newFirst), 0) : 0,
      acked: acks.length,
      lost: lost.length,
      lost_from_old_leader: lost.filter((ack) => ack.node === old).length,
    };
  } finally {
    await context.release(lab);
  }
}

const range = (rows: Row[], key: string) => {
  const values = rows.map((row) => row[key]).filter((value): value is number => typeof value === "number");
  if (values.length === 0) return "-";
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return low === high ? `${low}` : `${low}–${high}`;
};

export const splitBrain: Experiment<Config> = {
  usesGivenLab: false,

  async run(context: ExperimentContext, config: Config): Promise<Row[]> {
    return trialsByMode(config.trials, config.modes, (mode, number) => trial(context, config, mode, number));
  },

  conclude(rows: Row[], config: Config): string {
    const sentences = config.modes.map((mode) => {
      const trials = rows.filter((row) => row.mode === mode);
      const acked = sum(trials, "old_leader_acked_after_cut");
      const lost = sum(trials, "lost");
      const dual = trials.filter((row) => Number(row.dual_primary_ms) > 0).length;
      const head = `${mode}: the cut-off leader acknowledged ${acked} writes after the cut (for ${range(trials, "old_leader_writable_ms")} ms)`;
      if (mode === "manual") return `${head}, and nobody else took writes: nobody fails over without a manager, so the writers on the followers' side saw read-only standbys throughout; ${lost} lost`;
      const first = `the majority side's first write came ${range(trials, "new_leader_first_write_ms")} ms after the cut`;
      const fate = lost === 0 ? "none was lost" : `${lost} acknowledged writes were lost (discarded when the old leader was rewound to follow the new one)`;
      return `${head}; ${first}; ${fate}${dual > 0 ? `; two nodes acknowledged writes at the same time in ${dual} of ${trials.length} trials` : ""}`;
    });
    return `Over ${config.trials} trial${config.trials === 1 ? "" : "s"}, the leader cut from every other member for ${config.hold_ms / 1000} s${config.modes.some((mode) => mode !== "manual") ? " (HA modes: and until the other side took a write)" : ""}, a writer on each node through its own port: ${sentences.join(". ")}.`;
  },

  columns: [
    { key: "mode" },
    { key: "trial" },
    { key: "old_leader_acked_after_cut" },
    { key: "old_leader_writable_ms" },
    { key: "new_leader_first_write_ms" },
    { key: "dual_primary_ms" },
    { key: "acked" },
    { key: "lost" },
    { key: "new_primary" },
  ],

  figures(rows: Row[], config: Config) {
    return [lostPerTrialFigure(rows, config.modes, "split-brain", `Acknowledged writes lost per partition (leader cut for ${config.hold_ms / 1000} s)`)];
  },
};
