// Measuring: latency percentiles from a real histogram (HdrHistogram), and small helpers the
// experiments share.
import * as hdr from "hdr-histogram-js";
import { LabError } from "../core/errors.js";
import { realClock } from "../core/retry.js";

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

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return realClock.sleep(ms, signal);
}

/** An LSN ("0/5000000") as a byte position, to compare and subtract. */
export function lsnBytes(lsn: string | null): bigint | null {
  if (!lsn) return null;
  const [high = "0", low = "0"] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/**
 * Looks until `look` gives a value (anything but undefined), every `intervalMs`, for at most
 * `timeoutMs`; a lab that never gets there is a lab error naming what did not happen (exit 1).
 */
export async function waitUntil<T>(look: () => Promise<T | undefined>, timeoutMs: number, what: string, signal?: AbortSignal, intervalMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new LabError(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(intervalMs, signal);
  }
}
