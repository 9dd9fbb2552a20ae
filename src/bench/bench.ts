// npm run bench: repl-lab measured against baselines run in the same process, alternating, and
// printed as tables with the ratio and the target. Not a test: the machine is shared and noisy, so
// it reports medians and leaves the judgement to the reader.
//   start-up: `repl-lab --version`, `--help` and `status` of a leader + 2 lab against `node -e 0`,
//             in wall time (the targets) and CPU time
//   up:       `repl-lab up` (a new process, as a user runs it) to all-streaming against
//             bench/baseline-up.sh, the least a person could type with the docker CLI
//   managers: `up --ha -n 2` with pg_auto_failover against Patroni, and each idle lab's CPU
//   dashboard: the dashboard on a 16-follower lab in Chromium (see dashboard.ts)
//   hosts:    `up -n 2` across three engines against one engine (BENCH_HOSTS=a=URL,b=URL,c=URL, or
//             three engines in containers here)
// BENCH_STARTUP_RUNS (default 8), BENCH_SIZES (default 2,8), BENCH_ROUNDS (default 3), BENCH_ONLY=startup|up|managers|dashboard|hosts;
// BENCH_OTHER_CLI=<another build's bin/repl-lab.cjs> adds its start-up rows, measured in the same rounds.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
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
const OTHER_CLI = process.env.BENCH_OTHER_CLI;

/**
 * Each Node process the bench starts reports its own CPU time (user + system, from its start to its
 * exit) on file descriptor 3: on a shared machine, CPU time is disturbed less by the others' load
 * than wall time is.
 */
const CPU_REPORT_FOLDER = mkdtempSync(join(tmpdir(), "repl-lab-bench-"));
process.on("exit", () => rmSync(CPU_REPORT_FOLDER, { recursive: true, force: true }));
const CPU_REPORT = join(CPU_REPORT_FOLDER, "report-cpu.cjs");
writeFileSync(CPU_REPORT, 'process.on("exit", () => { const { user, system } = process.cpuUsage(); try { require("fs").writeSync(3, String((user + system) / 1000)); } catch {} });\n');
const NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --require ${CPU_REPORT}`.trim();

/** Runs a command to completion: its wall time in ms, and a Node process's CPU time; a failure stops the bench. */
function timed(command: string, args: string[]): Promise<{ wall: number; cpu: number | undefined }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", NODE_OPTIONS } });
    let stderr = "";
    let cpu = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    (child.stdio[3] as Readable).on("data", (chunk: Buffer) => (cpu += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      resolve({ wall: performance.now() - started, cpu: cpu ? Number(cpu) : undefined });
    });
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
  const commands: { name: string; args: string[]; target: number }[] = [
    { name: "repl-lab --version", args: ["--version"], target: 1.5 },
    { name: "repl-lab --help", args: ["--help"], target: 1.5 },
    { name: `repl-lab status (leader + 2)`, args: ["status", "--lab", handle.name], target: 2.5 },
  ];
  const cases: { name: string; args: string[]; target?: number }[] = [
    ...commands.map((command) => ({ ...command, args: [CLI, ...command.args] })),
    ...(OTHER_CLI ? commands.map((command) => ({ name: `  ${OTHER_CLI}: ${command.name.replace("repl-lab ", "")}`, args: [OTHER_CLI, ...command.args] })) : []),
    // What loading a dependency costs as it is published (from node_modules), whatever repl-lab does:
    // docker-modem loads ssh2 when it loads, dockerode gRPC and protobufjs for BuildKit sessions.
    ...["ssh2", "dockerode", "pg"].map((name) => ({ name: `  require("${name}") alone`, args: ["-e", `require(${JSON.stringify(name)})`] })),
  ];
  const baseline: { wall: number; cpu: number | undefined }[] = [];
  const times = cases.map(() => [] as { wall: number; cpu: number | undefined }[]);
  // One of each per round, so a slow moment of the machine falls on all of them alike.
  for (let run = 0; run < STARTUP_RUNS; run++) {
    baseline.push(await timed(process.execPath, ["-e", "0"]));
    for (const [index, entry] of cases.entries()) times[index]!.push(await timed(process.execPath, entry.args));
  }
  const wall = (runs: { wall: number }[]) => median(runs.map((one) => one.wall));
  const cpu = (runs: { cpu: number | undefined }[]) => median(runs.map((one) => one.cpu ?? Number.NaN));
  const out = table(["command", "runs", "median", "ratio to node -e 0", "target", "", "CPU (median)", "CPU ratio"], colour);
  out.push(["node -e 0", STARTUP_RUNS, ms(wall(baseline)), "", "", "", ms(cpu(baseline)), ""]);
  for (const [index, entry] of cases.entries()) {
    const ratio = wall(times[index]!) / wall(baseline);
    const target = entry.target === undefined ? ["", ""] : [`≤ ${entry.target}×`, verdict(ratio, entry.target)];
    out.push([entry.name, STARTUP_RUNS, ms(wall(times[index]!)), `${ratio.toFixed(2)}×`, ...target, ms(cpu(times[index]!)), `${(cpu(times[index]!) / cpu(baseline)).toFixed(2)}×`]);
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
              ? (await timed("bash", [BASELINE, lab, String(followers), image])).wall
              : (await timed(process.execPath, [CLI, "up", "--lab", lab, "--followers", String(followers), "--sync", "standby1", "--image", image, "--quiet"])).wall;
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

/**
 * `up --ha -n 2` with each HA manager, alternating, to ready (every follower streaming, as the
 * manager reports it): pg_auto_failover's against Patroni's in the same run (target 1.5×), and the
 * CPU an idle lab of each takes over 10 s (the managers' own checks: etcd and Patroni's loop,
 * the monitor's health checks and the keepers' check-ins).
 */
async function managers(): Promise<string> {
  const runtime = await dockerRuntime();
  const target = 1.5;
  const up: Record<string, number[]> = { patroni: [], pg_auto_failover: [] };
  const idle: Record<string, number[]> = { patroni: [], pg_auto_failover: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["patroni", "pg_auto_failover"] : ["pg_auto_failover", "patroni"];
    for (const manager of order) {
      const lab = `bench-${manager.replace(/_/g, "-")}-${randomBytes(3).toString("hex")}`;
      try {
        const took = (await timed(process.execPath, [CLI, "up", "--lab", lab, "--ha", "--manager", manager, "-n", "2", "--quiet"])).wall;
        up[manager]!.push(took);
        idle[manager]!.push(await idleCpu(runtime, lab));
        process.stderr.write(`  ${manager}: up ${(took / 1000).toFixed(2)} s, idle ${idle[manager]!.at(-1)!.toFixed(0)} % of one core\n`);
      } finally {
        await removeLab(runtime, lab);
      }
    }
  }
  const out = table(["manager", "rounds", "up --ha -n 2 (median)", "ratio to Patroni", "target", "", "idle CPU (median, % of one core)"], colour);
  const base = median(up.patroni!);
  for (const manager of ["patroni", "pg_auto_failover"]) {
    const ratio = median(up[manager]!) / base;
    out.push([manager, ROUNDS, `${(median(up[manager]!) / 1000).toFixed(2)} s`, `${ratio.toFixed(2)}×`, manager === "patroni" ? "" : `≤ ${target}×`, manager === "patroni" ? "" : verdict(ratio, target), `${median(idle[manager]!).toFixed(0)} %`]);
  }
  return `HA managers, leader + 2\n${out.toString()}`;
}

/** The CPU a lab's containers take over 10 s, from the engine's own counters, in % of one core. */
async function idleCpu(runtime: Awaited<ReturnType<typeof dockerRuntime>>, lab: string): Promise<number> {
  const { labLabels } = await import("../core/labels.js");
  const containers = await runtime.engine.listContainers(labLabels(lab));
  const usage = async () => {
    let total = 0;
    for (const container of containers) total += await runtime.engine.cpuUsageNs(container.id);
    return total;
  };
  const before = await usage();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  return ((await usage()) - before) / 1e6 / (performance.now() - started) * 100;
}

/**
 * `up` of leader + 2 across three engines against the same lab on one engine, alternating: three
 * engines in containers on this machine (repl-lab/engine:1, one swarm), or the engines BENCH_HOSTS
 * names ("a=URL,b=URL,c=URL", already one swarm). Rows: this machine's own engine (the target's
 * baseline), one of the engines (the same kind of engine, alone), and all three.
 */
async function hosts(): Promise<string> {
  const runtime = await dockerRuntime();
  const { image } = await resolveImage(runtime.engine, undefined, silentProgress);
  const target = 1.5;
  const given = process.env.BENCH_HOSTS?.split(",").map((entry) => entry.trim()).filter(Boolean);
  const { startEngines, TEST_ENGINE_LABEL, removeTestEngines } = await import("./engines.js");
  const owner = `bench-${randomBytes(2).toString("hex")}`;
  const engines = given ? undefined : await startEngines(3, owner);
  const flags = given ? given.flatMap((host) => ["--host", host]) : engines!.flags;
  try {
    if (engines) {
      const init = await timed(process.execPath, [CLI, "host", "init", ...flags, "--yes", "--quiet"]);
      process.stderr.write(`  three engines in containers (${TEST_ENGINE_LABEL}=${owner}) in one swarm; joined in ${(init.wall / 1000).toFixed(2)} s\n`);
    }
    const kinds: [string, string[]][] = [
      ["this machine's engine", []],
      ["one engine (host a alone)", flags.slice(0, 2)],
      ["three engines (a, b, c)", flags],
    ];
    // A first lab on each copies the image to the engines that lack it: not timed.
    for (const [, hostFlags] of kinds.slice(1)) {
      const lab = `bench-warm-${randomBytes(3).toString("hex")}`;
      try {
        await timed(process.execPath, [CLI, "up", "--lab", lab, "-n", "2", "--image", image, "--quiet", ...hostFlags]);
      } finally {
        await removeLab(runtime, lab);
      }
    }
    const times = kinds.map((): number[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const index of order) {
        const lab = `bench-hosts-${randomBytes(3).toString("hex")}`;
        try {
          const took = (await timed(process.execPath, [CLI, "up", "--lab", lab, "-n", "2", "--sync", "standby1", "--image", image, "--quiet", ...kinds[index]![1]])).wall;
          times[index]!.push(took);
          process.stderr.write(`  ${kinds[index]![0]}: ${(took / 1000).toFixed(2)} s\n`);
        } finally {
          await removeLab(runtime, lab);
        }
      }
    }
    const base = median(times[0]!);
    const out = table(["leader + 2 on", "rounds", "up (median)", "ratio to this machine's engine", "target", ""], colour);
    kinds.forEach(([name], index) => {
      const ratio = median(times[index]!) / base;
      const last = index === kinds.length - 1;
      out.push([name, ROUNDS, `${(median(times[index]!) / 1000).toFixed(2)} s`, `${ratio.toFixed(2)}×`, last ? `≤ ${target}×` : "", last ? verdict(ratio, target) : ""]);
    });
    const faults = await hostFaults(runtime, flags);
    return `up across engines (standby1 sync), ${image}\n${out.toString()}\n${faults}`;
  } finally {
    if (engines) await removeTestEngines((run) => run === owner);
  }
}

/**
 * A whole host down. Manual lab: from `host down a` (the leader's host) until `status` shows host a
 * down (target 2 s). HA lab (Patroni): from the fault until a follower holds the leader lock and
 * answers as primary, with host a down across three engines against the same members (the leader
 * and etcd1) killed at once on this machine's engine (target: within 1 s of it).
 */
async function hostFaults(runtime: Awaited<ReturnType<typeof dockerRuntime>>, flags: string[]): Promise<string> {
  const { status } = await import("../operations/status.js");
  const manual = `bench-hostdown-${randomBytes(3).toString("hex")}`;
  const shown: number[] = [];
  try {
    await timed(process.execPath, [CLI, "up", "--lab", manual, "-n", "2", "--quiet", ...flags]);
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await timed(process.execPath, [CLI, "host", "down", "a", "--lab", manual]);
      const seen = await timed(process.execPath, [CLI, "status", "--lab", manual, "--json"]);
      const last = (await status(runtime, { lab: manual })).hosts?.find((host) => host.name === "a")?.state;
      if (last !== "down") throw new Error(`status showed host a ${last ?? "missing"} after host down`);
      shown.push(performance.now() - started);
      process.stderr.write(`  host down a -> status shows it down: ${((performance.now() - started) / 1000).toFixed(2)} s (status alone ${(seen.wall / 1000).toFixed(2)} s)\n`);
      await timed(process.execPath, [CLI, "host", "up", "a", "--lab", manual]);
    }
  } finally {
    await removeLab(runtime, manual);
  }
  const windows: Record<string, number[]> = { one: [], three: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const where of round % 2 === 0 ? ["one", "three"] : ["three", "one"]) {
      const lab = `bench-hostha-${randomBytes(3).toString("hex")}`;
      try {
        await timed(process.execPath, [CLI, "up", "--lab", lab, "--ha", "-n", "2", "--quiet", ...(where === "three" ? flags : [])]);
        const started = performance.now();
        if (where === "three") await timed(process.execPath, [CLI, "host", "down", "a", "--lab", lab]);
        else await Promise.all(["leader", "etcd1"].map((member) => timed(process.execPath, [CLI, "kill", member, "--lab", lab])));
        for (;;) {
          const current = await status(runtime, { lab }).catch(() => undefined);
          const leader = current?.patroni?.leader;
          if (leader && leader !== "leader" && current?.nodes.some((node) => node.name === leader && node.role === "primary" && node.role_source === "server")) break;
          if (performance.now() - started > 120_000) throw new Error(`no follower took over within 120 s (${where} engine${where === "one" ? "" : "s"})`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        windows[where]!.push(performance.now() - started);
        process.stderr.write(`  HA, ${where === "one" ? "leader and etcd1 killed on one engine" : "host a down across three engines"}: new leader after ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
      } finally {
        await removeLab(runtime, lab);
      }
    }
  }
  const out = table(["fault", "rounds", "median", "target", ""], colour);
  out.push(["manual lab: host down a until status shows it down", ROUNDS, `${(median(shown) / 1000).toFixed(2)} s`, "≤ 2 s", verdict(median(shown) / 1000, 2)]);
  const one = median(windows.one!);
  const three = median(windows.three!);
  out.push(["HA: leader + etcd1 killed on this machine's engine, until a new leader", ROUNDS, `${(one / 1000).toFixed(2)} s`, "", ""]);
  out.push(["HA: host a down across three engines, until a new leader", ROUNDS, `${(three / 1000).toFixed(2)} s (${three >= one ? "+" : ""}${((three - one) / 1000).toFixed(2)} s)`, "≤ +1 s", verdict((three - one) / 1000, 1)]);
  return `a whole host down\n${out.toString()}`;
}

async function main(): Promise<void> {
  const reports: string[] = [];
  if (ONLY === undefined || ONLY === "startup") reports.push(await startup());
  if (ONLY === undefined || ONLY === "up") reports.push(await upToStreaming());
  if (ONLY === undefined || ONLY === "managers") reports.push(await managers());
  if (ONLY === undefined || ONLY === "dashboard") reports.push(await (await import("./dashboard.js")).dashboardBench());
  if (ONLY === undefined || ONLY === "hosts") reports.push(await hosts());
  process.stdout.write(`repl-lab bench, ${new Date().toISOString()}\n${reports.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
