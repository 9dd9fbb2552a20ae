import { defineConfig } from "vitest/config";
import LongestFirst from "./test/sequencer.js";

// Labs are CPU-bound on a two-core machine, but most of an integration test's time is spent
// waiting: for servers to start, for a lock's ttl, for a timeout to pass. So independent files run
// side by side (each lab has its own name and free ports), two at a time (three at a time, on
// 2026-12-06, the pg_auto_failover files started together took the load to 16-18 on two cores and
// their tests ran past 240 s in two runs of three); the files that measure
// time or load the machine on their own (latency and throughput assertions, sixteen followers) run
// after them, one at a time, so that nothing else runs beside them. Labs across engines run there
// too: three engines in containers and the images copied into them load the machine so much that
// HA tests beside them missed their bounds (ha-auto-failover took 406 s instead of 137 s).
const SERIAL = [
  "test/integration/experiments-measured.test.ts",
  "test/integration/link-delay.test.ts",
  "test/integration/sizes.test.ts",
  "test/integration/hosts.test.ts",
];

// What every project shares. (Not by `extends: true`: a project that extends the root config runs
// its global setup once more, and the whole run must have one, which names the run's labs.)
const shared = { testTimeout: 240_000, hookTimeout: 240_000 };

export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    minWorkers: 1,
    ...shared,
    globalSetup: ["test/global-setup.ts"],
    // Longest files first (test/sequencer.ts), so the workers end together.
    sequence: { sequencer: LongestFirst },
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        test: { ...shared, name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } },
      },
      {
        test: {
          ...shared,
          name: "integration",
          include: ["test/integration/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: SERIAL,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: "measured",
          include: SERIAL,
          sequence: { groupOrder: 1 },
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
