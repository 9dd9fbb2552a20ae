// npm run bench: time of `repl-lab up` to all-streaming against a plain docker-CLI baseline that does
// the same steps (network, volumes, the same containers with the same entrypoint and settings, then
// poll pg_stat_replication), in the same run, alternating, as a table with the ratio. Not a test:
// the machine is shared and noisy, so it reports medians and leaves the judgement to the reader.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DockerEngine } from "../docker.js";
import { resolveImage } from "../image.js";
import { labLabels, names } from "../labels.js";
import { removeLab } from "../lab.js";
import { generateSecrets, planLab, type NodePlan } from "../node-plan.js";
import { colour, silentProgress } from "../output.js";
import { table } from "../status-view.js";
import { buildTopology } from "../topology.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../bin/repl-lab.js", import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? "2,8").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 1.3;

function labelArgs(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
}

/** The baseline: what a person would type with the docker CLI to get the same lab. */
async function baselineUp(lab: string, followers: number, image: string): Promise<number> {
  const topology = buildTopology({ lab, followers, sync: "standby1" });
  const plans = planLab(topology, image, generateSecrets());
  const network = names.network(lab);
  const started = performance.now();
  await run("docker", ["network", "create", ...labelArgs(labLabels(lab)), network]);
  await Promise.all(plans.map((plan) => run("docker", ["volume", "create", ...labelArgs(labLabels(lab)), plan.volumeName])));
  await Promise.all(plans.map((plan) => run("docker", dockerRunArgs(plan, network))));
  const leader = names.container(lab, "leader");
  const query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name LIKE 'standby%'";
  for (;;) {
    const out = await run("docker", ["exec", "-u", "postgres", leader, "psql", "-tAc", query]).catch(() => ({ stdout: "0" }));
    if (Number(out.stdout.trim()) === followers) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return performance.now() - started;
}

function dockerRunArgs(plan: NodePlan, network: string): string[] {
  const [entrypoint = "bash", ...entrypointArgs] = plan.entrypoint;
  return [
    "run", "-d", "--name", plan.containerName, "--network", network, "--network-alias", plan.node.name,
    ...labelArgs(plan.labels),
    ...Object.entries(plan.env).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    "-v", `${plan.volumeName}:/var/lib/postgresql/data`, "-p", "127.0.0.1::5432",
    "--stop-signal", "SIGINT", "--shm-size", "256m",
    "--entrypoint", entrypoint, plan.image, ...entrypointArgs, ...plan.command,
  ];
}

/** repl-lab itself, as a user runs it: a new node process, up to all-streaming. */
async function replLabUp(lab: string, followers: number, image: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "up", "--lab", lab, "--followers", String(followers), "--sync", "standby1", "--image", image, "--quiet"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`repl-lab up exited ${code}`))));
  });
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const engine = new DockerEngine();
  await engine.ping();
  const image = await resolveImage(engine, undefined, silentProgress);
  const out = table(["followers", "rounds", "docker CLI baseline (median)", "repl-lab up (median)", "ratio", `target ≤ ${TARGET_RATIO}×`], colour);
  for (const followers of SIZES) {
    const baseline: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always gets the cooler machine.
      const order = round % 2 === 0 ? ["baseline", "repl-lab"] : ["repl-lab", "baseline"];
      for (const which of order) {
        const lab = `bench-${which}-${randomBytes(3).toString("hex")}`;
        try {
          const ms = which === "baseline" ? await baselineUp(lab, followers, image) : await replLabUp(lab, followers, image);
          (which === "baseline" ? baseline : ours).push(ms);
          process.stderr.write(`  ${followers} followers, ${which}: ${(ms / 1000).toFixed(2)} s\n`);
        } finally {
          await removeLab(engine, lab);
        }
      }
    }
    const ratio = median(ours) / median(baseline);
    out.push([
      followers,
      ROUNDS,
      `${(median(baseline) / 1000).toFixed(2)} s`,
      `${(median(ours) / 1000).toFixed(2)} s`,
      `${ratio.toFixed(2)}×`,
      ratio <= TARGET_RATIO ? "met" : "NOT met",
    ]);
  }
  process.stdout.write(`up to all-streaming, ${image}, ${new Date().toISOString()}\n${out.toString()}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
