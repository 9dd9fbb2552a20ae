import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../src/core/errors.js";
import { parseDuration } from "../../src/core/duration.js";
import { retryUntil, type Clock } from "../../src/core/retry.js";

function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe("retryUntil", () => {
  it("returns the first defined result", async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await retryUntil(async () => (++calls === 3 ? "ready" : undefined), {
      timeoutMs: 1000, intervalMs: 100, clock, onTimeout: () => new Error("timeout"),
    });
    expect(result).toBe("ready");
    expect(clock.slept).toEqual([100, 100]);
  });

  it("throws the onTimeout error at the deadline, never sleeping past it", async () => {
    const clock = fakeClock();
    await expect(
      retryUntil(async () => undefined, { timeoutMs: 250, intervalMs: 100, clock, onTimeout: () => new Error("waited for x; last seen y") }),
    ).rejects.toThrow("waited for x; last seen y");
    expect(clock.slept).toEqual([100, 100, 50]);
  });

  it("stops at once when the attempt throws or the signal aborts", async () => {
    const clock = fakeClock();
    await expect(retryUntil(async () => { throw new Error("fatal"); }, { timeoutMs: 1000, intervalMs: 100, clock, onTimeout: () => new Error("timeout") })).rejects.toThrow("fatal");
    const controller = new AbortController();
    controller.abort();
    await expect(retryUntil(async () => undefined, { timeoutMs: 1000, intervalMs: 100, clock, signal: controller.signal, onTimeout: () => new Error("timeout") })).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe("parseDuration", () => {
  it.each([
    ["500ms", 500], ["5s", 5000], ["5", 5000], ["2min", 120_000], ["1.5s", 1500], ["1h", 3_600_000],
  ])("reads %s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it("rejects what is not a duration", () => {
    expect(parseDuration("soon")).toBeUndefined();
    expect(parseDuration("-5s")).toBeUndefined();
  });
});
