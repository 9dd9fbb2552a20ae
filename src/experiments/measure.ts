// Measuring: latency percentiles from a real histogram (HdrHistogram), and small helpers the
// experiments share. (Waiting is core/retry's.)
import type { Figure, Row } from "./types.js";
import * as hdr from "hdr-histogram-js";

/** Latencies recorded in microseconds, read back in milliseconds. */
export class Latencies {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The latency at a percentile (0-100), in ms with µs precision; null when nothing was recorded. */
  percentile(p: number): number | null {
    if (this.histogram.totalCount === 0) return null;
    return round(this.histogram.getValueAtPercentile(p) / 1000, 3);
  }

  get max(): number | null {
    return this.histogram.totalCount === 0 ? null : round(this.histogram.maxValue / 1000, 3);
  }
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** An LSN ("0/5000000") as a byte position, to compare and subtract. */
export function lsnBytes(lsn: string | null): bigint | null {
  if (!lsn) return null;
  const [high = "0", low = "0"] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** Trial 1 of every mode, then trial 2 of every mode, …: one row each, in that order. */
export async function trialsByMode<Mode>(trials: number, modes: readonly Mode[], trial: (mode: Mode, number: number) => Promise<Row>): Promise<Row[]> {
  const rows: Row[] = [];
  for (let number = 1; number <= trials; number++) {
    for (const mode of modes) rows.push(await trial(mode, number));
  }
  return rows;
}

/** The total of a numeric column over rows (a missing value counts 0). */
export const sum = (rows: Row[], key: string): number => rows.reduce((total, row) => total + Number(row[key] ?? 0), 0);

/** A bar per trial and mode of the acknowledged writes a trial lost (failover-loss, split-brain). */
export function lostPerTrialFigure(rows: Row[], modes: readonly string[], name: string, title: string): Figure {
  const trials = [...new Set(rows.map((row) => Number(row.trial)))];
  return {
    name,
    title,
    option: {
      legend: { top: 30 },
      xAxis: { type: "category", data: trials.map((trial) => `trial ${trial}`) },
      yAxis: { type: "value", name: "lost acknowledged writes", nameLocation: "middle", nameGap: 50, minInterval: 1 },
      series: modes.map((mode) => ({
        name: mode,
        type: "bar",
        data: trials.map((trial) => rows.find((row) => row.mode === mode && row.trial === trial)?.lost ?? 0),
      })),
    },
  };
}
