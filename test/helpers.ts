// Shared by the integration tests: unique lab names, the CLI as a user runs it, and cleanup by label.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { HOSTS_ROLE, LABEL, labLabels, names } from "../src/core/labels.js";
import { removeLab } from "../src/lab/context.js";
import { dockerRuntime } from "../src/lab/runtime.js";

/**
 * Every lab a test run makes is named test-<run>-…, the run being four hex digits that
 * test/global-setup.ts chooses for the whole run (workers inherit it), so that a run removes its own
 * labs and those of runs that died, never those of another run going on at the same time.
 */
export const TEST_RUN = process.env.REPL_LAB_TEST_RUN ?? randomBytes(2).toString("hex");
export const TEST_LAB_PREFIX = `test-${TEST_RUN}-`;
/** A lab of some test run: its run's four hex digits. */
export const TEST_LAB = /^test-([0-9a-f]{4})-/;
export const CLI = fileURLToPath(new URL("../bin/repl-lab.cjs", import.meta.url));
export const runtime = await dockerRuntime();
export const engine = runtime.engine;

/**
 * Unique lab names for a describe block, each removed by label after it (call in the block):
 * `const lab = labsRemovedAfterAll(afterAll); const name = lab("crash");`
 */
export function labsRemovedAfterAll(afterAll: (work: () => Promise<void>) => void): (purpose: string) => string {
  const labs: string[] = [];
  afterAll(async () => {
    for (const name of labs) await dropLab(name);
  });
  return (purpose) => {
    const name = uniqueLab(purpose);
    labs.push(name);
    return name;
  };
}

/** Removes everything carrying the lab's label, whatever state it is in (tests call it in afterEach/afterAll). */
export async function dropLab(lab: string): Promise<void> {
  if (lab) await removeLab(runtime, lab);
}

export function uniqueLab(purpose: string): string {
  return `${TEST_LAB_PREFIX}${purpose}-${randomBytes(3).toString("hex")}`;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Called with the child as soon as it runs, e.g. to send it a signal. */
  onSpawn?: (child: import("node:child_process").ChildProcess) => void;
}

/**
 * Runs a program and resolves with its exit code and output. Asynchronous on purpose: a test file's
 * worker must keep answering the test runner while a slow command runs (a synchronous one blocks
 * it, and on a loaded machine the runner gives up on it: "Timeout calling onTaskUpdate").
 */
export function runCommand(file: string, args: string[], options: CliOptions & { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 200_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
    child.stdin.end(options.input ?? "");
  });
}

/** Like runCommand, but an exit other than 0 is an error with the command's output in it. */
export async function runChecked(file: string, args: string[], options: CliOptions & { cwd?: string } = {}): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${result.code ?? result.signal}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Runs the built CLI exactly as a user would type it (node bin/repl-lab.cjs …), without colour. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCommand(process.execPath, [CLI, ...args], { ...options, env: { NO_COLOR: "1", DEBUG: "", ...options.env } });
}

export async function runJson<T>(args: string[], options: CliOptions = {}): Promise<T> {
  const result = await runCli([...args, "--json"], options);
  if (result.code !== 0) throw new Error(`repl-lab ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Everything on the engine that carries the lab's label. */
export async function labResources(lab: string): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
  const labels = labLabels(lab);
  const [containers, volumes, networks] = await Promise.all([
    engine.listContainers(labels),
    engine.listVolumes(labels),
    engine.listNetworks(labels),
  ]);
  return {
    containers: containers.map((container) => container.name).sort(),
    volumes: volumes.map((volume) => volume.name).sort(),
    networks: networks.map((network) => network.name).sort(),
  };
}

export const nothing = { containers: [], volumes: [], networks: [] };

/** Removes every test lab whose run `stale` says is over (or this run's own), whatever state it is in. */
export async function removeTestLabs(stale: (run: string) => boolean): Promise<void> {
  const managed = { [LABEL.managed]: "true" };
  const [containers, volumes, networks] = await Promise.all([
    engine.listContainers(managed),
    engine.listVolumes(managed),
    engine.listNetworks(managed),
  ]);
  const labs = new Set<string>([
    ...containers.map((container) => container.labels[LABEL.lab] ?? ""),
    ...volumes.map((volume) => volume.labels[LABEL.lab] ?? ""),
    ...networks.map((network) => network.labels[LABEL.lab] ?? ""),
  ]);
  for (const lab of labs) {
    const run = TEST_LAB.exec(lab)?.[1];
    if (run === undefined || !stale(run)) continue;
    try {
      await removeLab(runtime, lab);
    } catch (error) {
      // A lab across test engines that are gone (or whose addresses another run's engines now
      // hold): what was on them went with them; its record stays here.
      if (!(await engine.listVolumes({ ...labLabels(lab), [LABEL.role]: HOSTS_ROLE })).length) throw error;
      await engine.removeVolume(names.hostsRecord(lab));
    }
  }
  const { removeTestEngines } = await import("./engines.js");
  await removeTestEngines(stale);
}

export interface StatusJson {
  lab: string;
  nodes: {
    name: string;
    role: string;
    role_source: string;
    container_state: string;
    timeline: number | null;
    replay_lsn: string | null;
    upstream: string | null;
    network_delay_ms: number | null;
  }[];
  replication: { application_name: string; state: string; sync_priority: number; sync_state: string; replay_lag_bytes: number | null }[];
  slots: { slot_name: string; active: boolean; wal_status: string | null }[];
  warnings: string[];
}

/** application_name → "state/sync_state/priority", the shape PostgreSQL's own sync_rep test compares. */
export function syncStates(status: StatusJson): Record<string, string> {
  return Object.fromEntries(
    status.replication.map((row) => [row.application_name, `${row.state}/${row.sync_state}/${row.sync_priority}`]),
  );
}

/** A pg client on a node, from the URL `repl-lab env` prints; the caller ends it. */
export async function connectNode(lab: string, node: string): Promise<import("pg").Client> {
  const [{ default: pg }, { env }] = await Promise.all([import("pg"), import("../src/operations/env.js")]);
  const urls = await env(runtime, { lab });
  const url = urls[node];
  if (!url) throw new Error(`${node} has no URL in ${JSON.stringify(urls)}`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/**
 * Looks at the lab until `predicate` holds; returns that status (the object `status --json` prints).
 * A wait looks in this process, through the same operation the CLI calls: a new CLI process every
 * 200 ms would cost the machine half a second of CPU a look. (The CLI's own output is tested where
 * a test asks for it.)
 */
export async function statusUntil(lab: string, predicate: (status: StatusJson) => boolean, timeoutMs = 20_000): Promise<StatusJson> {
  const [{ retryUntil }, { status }] = await Promise.all([import("../src/core/retry.js"), import("../src/operations/status.js")]);
  let last: StatusJson | undefined;
  return retryUntil(
    async () => {
      last = (await status(runtime, { lab })) as unknown as StatusJson;
      return predicate(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, onTimeout: () => new Error(`status never matched; last: ${JSON.stringify(last && syncStates(last))}`) },
  );
}

/** Looks until a query on a node returns rows (a row replicated there, say), in this process; returns them. */
export async function rowsUntil(lab: string, node: string, query: string, timeoutMs = 15_000): Promise<Record<string, unknown>[]> {
  const [{ retryUntil }, { sql }] = await Promise.all([import("../src/core/retry.js"), import("../src/operations/sql.js")]);
  let last = "no answer yet";
  return retryUntil(
    async () => {
      try {
        const { rows } = await sql(runtime, { lab, node, query });
        last = JSON.stringify(rows);
        return rows.length > 0 ? rows : undefined;
      } catch (error) {
        last = (error as Error).message;
        return undefined;
      }
    },
    { timeoutMs, intervalMs: 100, onTimeout: () => new Error(`${node} never returned rows for ${query} (last: ${last})`) },
  );
}

/** Resolves to "done" or "pending" after at most `ms`: a bounded look at whether a query is still waiting. */
export function settledWithin<T>(promise: Promise<T>, ms: number): Promise<"done" | "pending"> {
  return Promise.race([promise.then(() => "done" as const), new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms))]);
}
