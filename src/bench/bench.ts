// npm run bench: repl-lab measured against baselines run in the same process, alternating, and
// printed as tables with the ratio and the target. Not a test: the machine is shared and noisy, so
// it reports medians and leaves the judgement to the reader.
//   start-up: `repl-lab --version`, `--help` and `status` of a leader + 2 lab against `node -e 0`
//   up:       `repl-lab up` (a new process, as a user runs it) to all-streaming against
//             bench/baseline-up.sh, the least a person could type with the docker CLI
//   dashboard: the dashboard on a 16-follower lab in Chromium (see dashboard.ts)
// BENCH_STARTUP_RUNS (default 8), BENCH_SIZES (default 2,8), BENCH_ROUNDS (default 3), BENCH_ONLY=startup|up|dashboard.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Chalk } from "chalk";
import { Lab } from "../api.js";
import { removeLab } from "../lab/context.js";
import { resolveImage } from "../lab/image.js";
import { dockerRuntime } from "../lab/runtime.js";
import { silentProgress } from "../core/progress.js";
import { table } from "../views/table.js";

const CLI = fileURLToPath(new URL("../../bin/repl-lab.cjs", import.meta.url));
const BASELINE = fileURLToPath(new URL("../../bench/baseline-up.sh", import.meta.url));
const colour = new Chalk({ level: process.stdout.isTTY && !process.env.NO_COLOR ? 1 : 0 });
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 8);
const SIZES = (process.env.BENCH_SIZES ?? "2,8").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY;

/** Runs a command to completion and returns its wall time in ms; a failure stops the bench. */
function timed(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.trim()}`))));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ms = (value: number) => `${value.toFixed(0)} ms`;
const verdict = (ratio: number, target: number) => (ratio <= target ? "met" : "NOT met");

async function startup(): Promise<string> {
  const lab = `bench-status-${randomBytes(3).toString("hex")}`;
  await using handle = await Lab.up({ name: lab, followers: 2, sync: "standby1" });
  const cases: { name: string; args: string[]; target: number }[] = [
    { name: "repl-lab --version", args: [CLI, "--version"], target: 1.5 },
    { name: "repl-lab --help", args: [CLI, "--help"], target: 1.5 },
    { name: `repl-lab status (leader + 2)`, args: [CLI, "status", "--lab", handle.name], target: 2.5 },
  ];
  const baseline: number[] = [];
  const times = cases.map(() => [] as number[]);
  // One of each per round, so a slow moment of the machine falls on all of them alike.
  for (let run = 0; run < STARTUP_RUNS; run++) {
    baseline.push(await timed(process.execPath, ["-e", "0"]));
    for (const [index, entry] of cases.entries()) times[index]!.push(await timed(process.execPath, entry.args));
  }
  const out = table(["command", "runs", "median", "node -e 0 (median)", "ratio", "target", ""], colour);
  const floor = median(baseline);
  for (const [index, entry] of cases.entries()) {
    const ratio = median(times[index]!) / floor;
    out.push([entry.name, STARTUP_RUNS, ms(median(times[index]!)), ms(floor), `${ratio.toFixed(2)}×`, `≤ ${entry.target}×`, verdict(ratio, entry.target)]);
  }
  return `start-up against node -e 0 (Node ${process.versions.node})\n${out.toString()}`;
}

async function upToStreaming(): Promise<string> {
  const runtime = await dockerRuntime();
  const { image } = await resolveImage(runtime.engine, undefined, silentProgress);
  const target = 1.0;
  const out = table(["followers", "rounds", "baseline-up.sh (median)", "repl-lab up (median)", "ratio", "target", ""], colour);
  for (const followers of SIZES) {
    const baseline: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always gets the cooler machine.
      const order = round % 2 === 0 ? ["baseline", "repl-lab"] : ["repl-lab", "baseline"];
      for (const which of order) {
        const lab = `bench-${which}-${randomBytes(3).toString("hex")}`;
        try {
          const took =
            which === "baseline"
              ? await timed("bash", [BASELINE, lab, String(followers), image])
              : await timed(process.execPath, [CLI, "up", "--lab", lab, "--followers", String(followers), "--sync", "standby1", "--image", image, "--quiet"]);
          (which === "baseline" ? baseline : ours).push(took);
          process.stderr.write(`  ${followers} followers, ${which}: ${(took / 1000).toFixed(2)} s\n`);
        } finally {
          await removeLab(runtime, lab);
        }
      }
    }
    const ratio = median(ours) / median(baseline);
    out.push([followers, ROUNDS, `${(median(baseline) / 1000).toFixed(2)} s`, `${(median(ours) / 1000).toFixed(2)} s`, `${ratio.toFixed(2)}×`, `≤ ${target}×`, verdict(ratio, target)]);
  }
  return `up to all-streaming (standby1 sync), ${image}\n${out.toString()}`;
}

async function main(): Promise<void> {
  const reports: string[] = [];
  if (ONLY === undefined || ONLY === "startup") reports.push(await startup());
  if (ONLY === undefined || ONLY === "up") reports.push(await upToStreaming());
  if (ONLY === undefined || ONLY === "dashboard") reports.push(await (await import("./dashboard.js")).dashboardBench());
  process.stdout.write(`repl-lab bench, ${new Date().toISOString()}\n${reports.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
