// A scenario's background workload: writers committing on whichever node is the primary, as an
// application with retries would, counting what was acknowledged and what failed. A scenario
// starts one, breaks something, stops it, and asserts on workload.<name>.*.
import type { Lab } from "../api.js";
import { primariesOf } from "../core/status.js";
import type { Session } from "../postgres.js";
import { Latencies } from "../experiments/measure.js";
import { sleep } from "../core/retry.js";

export interface WorkloadSummary {
  running: boolean;
  writers: number;
  acked: number;
  errors: number;
  max_commit_ms: number | null;
  p50_commit_ms: number | null;
}

export class Workload {
  private stopped = false;
  private acked = 0;
  private errors = 0;
  private readonly latencies = new Latencies();
  private readonly loops: Promise<void>[];
  private readonly open = new Set<Session>();

  constructor(
    private readonly lab: Lab,
    private readonly writers: number,
  ) {
    this.loops = Array.from({ length: writers }, (_, writer) => this.loop(writer));
  }

  static async start(lab: Lab, writers: number): Promise<Workload> {
    await lab.sql((await Workload.primary(lab)) ?? "leader", "CREATE TABLE IF NOT EXISTS repl_lab_workload (id bigserial PRIMARY KEY, writer int, at timestamptz DEFAULT now())");
    return new Workload(lab, writers);
  }

  private static async primary(lab: Lab): Promise<string | undefined> {
    const primaries = primariesOf(await lab.status());
    return primaries.length === 1 ? primaries[0]!.name : undefined;
  }

  private async loop(writer: number): Promise<void> {
    let session: Session | undefined;
    while (!this.stopped) {
      try {
        if (!session) {
          const primary = await Workload.primary(this.lab);
          if (!primary) throw new Error("no single primary");
          session = await this.lab.session(primary, { timeoutMs: 120_000 });
          this.open.add(session);
        }
        const started = performance.now();
        await session.query("INSERT INTO repl_lab_workload (writer) VALUES ($1)", [writer]);
        this.latencies.record(performance.now() - started);
        this.acked += 1;
      } catch {
        if (this.stopped) break;
        this.errors += 1;
        await this.close(session);
        session = undefined;
        await sleep(100);
      }
    }
    await this.close(session);
  }

  private async close(session: Session | undefined): Promise<void> {
    if (!session) return;
    this.open.delete(session);
    await session.close().catch(() => undefined);
  }

  summary(): WorkloadSummary {
    return {
      running: !this.stopped,
      writers: this.writers,
      acked: this.acked,
      errors: this.errors,
      max_commit_ms: this.latencies.max,
      p50_commit_ms: this.latencies.percentile(50),
    };
  }

  /** Stops the writers; a commit still waiting (for a standby that is gone, say) is cut off after 2 s. */
  async stop(): Promise<WorkloadSummary> {
    this.stopped = true;
    const finished = Promise.all(this.loops);
    await Promise.race([finished, sleep(2000)]);
    await Promise.all([...this.open].map((session) => this.close(session)));
    await finished;
    return this.summary();
  }
}
