// The only file that knows commander. Each action normalises its options and calls commands/<name>;
// errors become an exit code and a one-line message in exactly one place (report).
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { delay } from "./commands/delay.js";
import { down } from "./commands/down.js";
import { events } from "./commands/events.js";
import { fault, FAULT_ACTIONS, type FaultAction } from "./commands/fault.js";
import { sync, type SyncChange, type SyncResult } from "./commands/sync.js";
import { promote, rejoin, switchover } from "./failover.js";
import { env, exportLines } from "./commands/env.js";
import { imageBuild } from "./commands/image.js";
import { logs } from "./commands/logs.js";
import { ls } from "./commands/ls.js";
import { psql } from "./commands/psql.js";
import { render } from "./commands/render.js";
import { sql } from "./commands/sql.js";
import { status } from "./commands/status.js";
import { up, type UpResult } from "./commands/up.js";
import { DockerEngine } from "./docker.js";
import { ExitCode, exitCodeOf, ReplLabError, UsageError } from "./errors.js";
import { resolveImage } from "./image.js";
import { colour, debugEnabled, errorLine, hintLine, printJson, printLine, silentProgress, stderrProgress } from "./output.js";
import { parseDuration } from "./retry.js";
import { replicationTable, table } from "./status-view.js";
import { buildTopology, parseSettingFlags, SYNC_COMMIT_LEVELS, TopologyError, type Topology } from "./topology.js";

const DEFAULT_LAB = process.env.REPL_LAB_NAME || "default";

interface TopologyFlags {
  lab?: string;
  file?: string;
  followers?: string;
  sync?: string;
  syncCommit?: string;
  slots?: boolean;
  walSenderTimeout?: string;
  setting?: string[];
  port?: string;
  image?: string;
}

/** Lab file first, flags over it; one schema validates both. */
function topologyFrom(flags: TopologyFlags): Topology {
  let input: Record<string, unknown> = {};
  if (flags.file) {
    let text: string;
    try {
      text = readFileSync(flags.file, "utf8");
    } catch (error) {
      throw new UsageError(`cannot read lab file ${flags.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      const parsed: unknown = parseYaml(text);
      if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) throw new Error("expected a mapping of fields");
      input = { ...((parsed as Record<string, unknown> | null) ?? {}) };
    } catch (error) {
      throw new UsageError(`${flags.file} is not a lab file: ${(error as Error).message.split("\n")[0]}`, {
        hint: "see lab.example.yaml in the README",
      });
    }
  }
  const given: Record<string, unknown> = {
    lab: flags.lab,
    followers: flags.followers,
    sync: flags.sync,
    syncCommit: flags.syncCommit,
    slots: flags.slots === false ? false : undefined,
    walSenderTimeout: flags.walSenderTimeout,
    port: flags.port,
    image: flags.image,
  };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) input[key] = value;
  if (input.lab === undefined) input.lab = DEFAULT_LAB;
  try {
    if (flags.setting && flags.setting.length > 0) {
      input.settings = { ...((input.settings as Record<string, unknown> | undefined) ?? {}), ...parseSettingFlags(flags.setting) };
    }
    return buildTopology(input);
  } catch (error) {
    if (error instanceof TopologyError) throw new UsageError(error.message, { hint: "see `repl-lab up --help`" });
    throw error;
  }
}

function durationFlag(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`${flag} ${text}: expected a duration such as 90s, 2min or 500ms`);
  return ms;
}

/** Runs work with Ctrl-C (and SIGTERM) turned into an abort signal rather than an instant exit. */
async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.stderr.write("still cleaning up; please wait\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * Runs a change that must not stop halfway (a container removed and not yet recreated would leave the
 * node without one): Ctrl-C is noted and the change finishes first. Each takes seconds.
 */
async function uninterrupted<T>(what: string, work: () => Promise<T>): Promise<T> {
  const onSignal = () => process.stderr.write(`${what} is in progress and will finish in a few seconds; please wait\n`);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await work();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function addTopologyOptions(command: Command): Command {
  return command
    .option("--lab <name>", `lab name (env REPL_LAB_NAME; default "${DEFAULT_LAB}")`)
    .option("-f, --file <lab.yaml>", "read the topology from a YAML lab file (flags override it)")
    .option("-n, --followers <n>", "number of followers, 1 to 16 (default 2)")
    .option("--sync <spec>", 'synchronous standbys: standby1 | "FIRST 2 (standby1, standby2)" | "ANY 1 (*)"; left out: asynchronous')
    .addOption(new Option("--sync-commit <level>", "synchronous_commit (default on)").choices([...SYNC_COMMIT_LEVELS]))
    .option("--no-slots", "bootstrap followers without replication slots")
    .option("--wal-sender-timeout <duration>", "wal_sender_timeout, e.g. 5s (default PostgreSQL's 60s)")
    .option("-c, --setting <name=value>", "extra postgresql.conf setting for every node (repeatable)", (value: string, all: string[] = []) => [...all, value])
    .option("--port <port>", "host port of the leader on 127.0.0.1; followers get the next ones (default: free ports)")
    .option("--image <image>", "PostgreSQL image (env REPL_LAB_IMAGE; default postgres:17, else repl-lab/postgres:17)");
}

const labOption = () => new Option("--lab <name>", `lab name (env REPL_LAB_NAME; default "${DEFAULT_LAB}")`).default(DEFAULT_LAB);

function printUpResult(result: UpResult): void {
  const out = table(["node", "role", "port", "url"], colour);
  for (const node of result.nodes) out.push([node.name, node.role, node.port ?? "-", node.url ?? "-"]);
  printLine(
    `lab ${colour.bold(result.lab)} is up in ${(result.elapsed_ms / 1000).toFixed(1)} s: ${result.image}, ` +
      `synchronous_standby_names = '${result.synchronous_standby_names}', synchronous_commit = ${result.synchronous_commit}`,
  );
  printLine(out.toString());
  printLine(colour.dim(`next: repl-lab status${result.lab === DEFAULT_LAB ? "" : ` --lab ${result.lab}`}`));
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function buildProgram(): Command {
  const engine = () => new DockerEngine();
  const program = new Command("repl-lab")
    .description("PostgreSQL replication labs out of real Docker containers: leaders, followers, lag, sync states and failover you can see.")
    .version("0.1.0")
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText(
      "after",
      `
Examples:
  $ repl-lab up --followers 2 --sync standby1     leader + 2 followers, standby1 synchronous
  $ repl-lab status                               nodes, pg_stat_replication, slots
  $ repl-lab sql leader "CREATE TABLE t (id int)"
  $ repl-lab env                                  connection URLs as shell exports
  $ repl-lab kill standby1                        SIGKILL a follower; watch with repl-lab events
  $ repl-lab kill leader && repl-lab promote standby1 && repl-lab rejoin leader
  $ repl-lab down                                 remove the lab

Exit codes: 0 ok, 1 lab error, 2 usage error, 3 Docker engine unreachable, 70 internal error, 130 interrupted.
Set NO_COLOR to turn colour off, DEBUG=1 to log every Docker call and query.`,
    );

  addTopologyOptions(program.command("up"))
    .description("create a lab and wait until every follower is streaming with the expected sync_state")
    .option("--wait-timeout <duration>", "give up (and remove the lab) after this long", "120s")
    .option("--json", "print the result as JSON")
    .option("-q, --quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
Examples:
  $ repl-lab up --followers 2 --sync standby1
  $ repl-lab up --lab quorum -n 3 --sync "ANY 2 (standby1, standby2, standby3)" --sync-commit remote_apply
  $ repl-lab up -n 2 --sync "FIRST 1 (standby1, standby2)" --wal-sender-timeout 5s -c max_connections=50
  $ repl-lab up --file lab.yaml --json`,
    )
    .action(async (flags: TopologyFlags & { waitTimeout: string; json?: boolean; quiet?: boolean }) => {
      const topology = topologyFrom(flags);
      const waitTimeoutMs = durationFlag(flags.waitTimeout, "--wait-timeout");
      const progress = stderrProgress(flags.quiet);
      const result = await withInterrupt((signal) => up(engine(), { topology, waitTimeoutMs, signal }, progress));
      if (flags.json) printJson(result);
      else printUpResult(result);
    });

  program
    .command("status")
    .description("nodes, the primary's pg_stat_replication and pg_replication_slots")
    .addOption(labOption())
    .option("--json", "print { nodes, replication, slots } as JSON (one object per line with --watch)")
    .option("-w, --watch", "refresh every second until Ctrl-C")
    .option("--interval <duration>", "refresh interval for --watch", "1s")
    .option("--events", "with --watch: print a timestamped line per change instead of redrawing (same as `repl-lab events`)")
    .addHelpText("after", `
Examples:
  $ repl-lab status
  $ repl-lab status --watch
  $ repl-lab status --json | jq '.replication[] | {application_name, sync_state, replay_lag_bytes}'`)
    .action(async (flags: { lab: string; json?: boolean; watch?: boolean; interval: string; events?: boolean }) => {
      const intervalMs = durationFlag(flags.interval, "--interval");
      if (flags.events) {
        if (!flags.watch) throw new UsageError("--events goes with --watch");
        return withInterrupt((signal) => events(engine(), { lab: flags.lab, json: Boolean(flags.json), intervalMs, signal }));
      }
      await withInterrupt((signal) =>
        status(engine(), { lab: flags.lab, json: Boolean(flags.json), watch: Boolean(flags.watch), intervalMs, signal }),
      );
    });

  program
    .command("down")
    .description("remove the lab's containers, network and volumes")
    .addOption(labOption())
    .option("--keep-volumes", "keep the data volumes")
    .option("--json", "print what was removed as JSON")
    .action(async (flags: { lab: string; keepVolumes?: boolean; json?: boolean }) => {
      const removed = await down(engine(), { lab: flags.lab, keepVolumes: Boolean(flags.keepVolumes) });
      if (flags.json) printJson(removed);
      else
        printLine(
          `removed lab ${flags.lab}: ${removed.containers.length} containers, ${removed.networks.length} network, ` +
            (flags.keepVolumes ? "volumes kept" : `${removed.volumes.length} volumes`),
        );
    });

  program
    .command("ls")
    .description("list the labs on this Docker engine")
    .option("--json", "print as JSON")
    .action(async (flags: { json?: boolean }) => {
      const labs = await ls(engine());
      if (flags.json) return printJson(labs);
      if (labs.length === 0) return printLine("no labs on this engine (start one with `repl-lab up`)");
      const out = table(["lab", "nodes", "running", "volumes"], colour);
      for (const lab of labs) out.push([lab.lab, lab.nodes, lab.running, lab.volumes]);
      printLine(out.toString());
    });

  program
    .command("env")
    .description("connection URL of each node, as shell export lines")
    .addOption(labOption())
    .option("--json", "print { node: url } as JSON")
    .addHelpText("after", `
Examples:
  $ eval "$(repl-lab env)" && psql "$STANDBY1_URL" -c 'SELECT pg_is_in_recovery()'
  $ repl-lab env --json`)
    .action(async (flags: { lab: string; json?: boolean }) => {
      const urls = await env(engine(), { lab: flags.lab });
      if (flags.json) printJson(urls);
      else for (const line of exportLines(urls)) printLine(line);
    });

  program
    .command("sql")
    .description("run a query on a node and print the rows")
    .argument("<node>", "leader, standby1, …")
    .argument("<query>", "SQL text")
    .addOption(labOption())
    .option("--json", "print the rows as JSON")
    .addHelpText("after", `
Examples:
  $ repl-lab sql leader "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"
  $ repl-lab sql standby1 "SELECT * FROM t"`)
    .action(async (node: string, query: string, flags: { lab: string; json?: boolean }) => {
      const result = await sql(engine(), { lab: flags.lab, node, query });
      if (flags.json) return printJson(result.rows);
      if (result.fields.length === 0) return printLine(`${result.command}${result.rowCount === null ? "" : ` ${result.rowCount}`}`);
      const out = table(result.fields, colour);
      for (const row of result.rows) out.push(result.fields.map((field) => formatCell(row[field])));
      printLine(out.toString());
      printLine(colour.dim(`(${result.rows.length} row${result.rows.length === 1 ? "" : "s"})`));
    });

  program
    .command("psql")
    .description("open an interactive psql on a node (inside its container)")
    .argument("<node>", "leader, standby1, …")
    .argument("[psql-args...]", "extra arguments for psql, after --")
    .addOption(labOption())
    .action(async (node: string, args: string[], flags: { lab: string }) => {
      process.exitCode = await psql(engine(), { lab: flags.lab, node, args });
    });

  program
    .command("logs")
    .description("print a node's server log")
    .argument("<node>", "leader, standby1, …")
    .addOption(labOption())
    .option("--follow", "keep printing new lines")
    .option("--tail <n>", "only the last n lines", "all")
    .action(async (node: string, flags: { lab: string; follow?: boolean; tail: string }) => {
      let tail: number | "all" = "all";
      if (flags.tail !== "all") {
        if (!/^\d+$/.test(flags.tail)) throw new UsageError(`--tail ${flags.tail}: expected a number of lines or "all"`);
        tail = Number(flags.tail);
      }
      await logs(engine(), { lab: flags.lab, node, follow: Boolean(flags.follow), tail });
    });


  const FAULT_HELP: Record<FaultAction, string> = {
    kill: "SIGKILL a node's container: its connections drop, the primary notices at once",
    stop: "stop a node cleanly (fast shutdown)",
    start: "start a stopped node and wait until it accepts connections",
    restart: "restart a node and wait until it accepts connections",
    pause: "freeze a node without closing its connections: the primary notices after wal_sender_timeout",
    unpause: "unfreeze a paused node",
    partition: "cut a node off the lab network",
    heal: "put a partitioned node back on the lab network",
  };
  for (const action of FAULT_ACTIONS) {
    program
      .command(action)
      .description(FAULT_HELP[action])
      .argument("<node>", "leader, standby1, …")
      .addOption(labOption())
      .option("--json", "print the result as JSON")
      .addHelpText("after", `\nExample:\n  $ repl-lab ${action} standby1 && repl-lab status`)
      .action(async (node: string, flags: { lab: string; json?: boolean }) => {
        const result = await fault(engine(), { lab: flags.lab, node, action }, stderrProgress());
        if (flags.json) printJson(result);
        else printLine(`${result.message} (${result.before} → ${result.after}, ${result.elapsed_ms} ms)`);
      });
  }

  program
    .command("delay")
    .description("make a follower lag on demand: replay delay (recovery_min_apply_delay) or network latency (netem)")
    .argument("<node>", "a standby")
    .addOption(labOption())
    .option("--apply <duration>", "replay each transaction no sooner than this after its commit on the primary")
    .option("--network <duration>", "add network latency with tc netem (needs tc in the image and netem in the kernel)")
    .option("--clear", "remove both delays")
    .option("--json", "print the result as JSON")
    .addHelpText("after", `
Examples:
  $ repl-lab delay standby2 --apply 2s      then: repl-lab sql leader "INSERT …"; repl-lab status
  $ repl-lab delay standby2 --clear`)
    .action(async (node: string, flags: { lab: string; apply?: string; network?: string; clear?: boolean; json?: boolean }) => {
      const result = await delay(engine(), { lab: flags.lab, node, apply: flags.apply, network: flags.network, clear: Boolean(flags.clear) });
      if (flags.json) printJson(result);
      else
        printLine(
          `${result.node}: recovery_min_apply_delay = ${result.recovery_min_apply_delay}` +
            (result.network_delay ? `, network delay ${result.network_delay}` : ""),
        );
    });

  const syncCommand = program
    .command("sync")
    .description("change synchronous replication on the running primary (ALTER SYSTEM + reload, no restart)")
    .addHelpText("after", `
Examples:
  $ repl-lab sync set "FIRST 1 (standby1, standby2)"
  $ repl-lab sync off                       the seed's manual fallback: synchronous_standby_names = ''
  $ repl-lab sync commit remote_apply`);
  const printSync = (result: SyncResult, json?: boolean) => {
    if (json) return printJson(result);
    printLine(
      `${result.primary}: synchronous_standby_names = '${result.synchronous_standby_names ?? ""}', synchronous_commit = ${result.synchronous_commit}`,
    );
    if (result.replication.length > 0) printLine(replicationTable(result.replication, colour));
    if (!result.settled) printLine(colour.yellow("pg_stat_replication did not show the expected sync states within 10 s"));
  };
  const runSync = async (change: SyncChange, flags: { lab: string; json?: boolean }) => printSync(await sync(engine(), { lab: flags.lab, change }), flags.json);
  syncCommand
    .command("set")
    .description("set synchronous_standby_names")
    .argument("<spec>", 'standby1 | "FIRST 1 (standby1, standby2)" | "ANY 2 (*)"')
    .addOption(labOption())
    .option("--json", "print the result as JSON")
    .action((spec: string, flags: { lab: string; json?: boolean }) => runSync({ kind: "standbys", spec }, flags));
  syncCommand
    .command("off")
    .description("synchronous_standby_names = '': waiting commits complete, replication becomes asynchronous")
    .addOption(labOption())
    .option("--json", "print the result as JSON")
    .action((flags: { lab: string; json?: boolean }) => runSync({ kind: "standbys", spec: null }, flags));
  syncCommand
    .command("commit")
    .description("set synchronous_commit")
    .argument("<level>", SYNC_COMMIT_LEVELS.join(" | "))
    .addOption(labOption())
    .option("--json", "print the result as JSON")
    .action((level: string, flags: { lab: string; json?: boolean }) => runSync({ kind: "commit", level }, flags));

  program
    .command("promote")
    .description("promote a standby (pg_promote) and make the other standbys follow it")
    .argument("<node>", "a standby")
    .addOption(labOption())
    .option("--json", "print the result as JSON")
    .addHelpText("after", `
Example (failover):
  $ repl-lab kill leader && repl-lab promote standby1 && repl-lab status`)
    .action(async (node: string, flags: { lab: string; json?: boolean }) => {
      const result = await uninterrupted("promote", () => promote(engine(), flags.lab, node, stderrProgress()));
      if (flags.json) return printJson(result);
      printLine(`${result.new_primary} is primary on timeline ${result.timeline ?? "?"} (pg_promote took ${result.promote_ms} ms)`);
      if (result.following.length > 0) printLine(`following it: ${result.following.join(", ")}`);
      for (const name of result.not_following) printLine(colour.yellow(`${name} could not follow (it may have WAL the new primary lacks): repl-lab rejoin ${name}`));
      if (result.split_brain.length > 0) {
        printLine(colour.red.bold(`SPLIT BRAIN: ${result.split_brain.join(", ")} still run${result.split_brain.length === 1 ? "s" : ""} as primary and accept writes. Stop it, or rejoin it: repl-lab rejoin ${result.split_brain[0]}`));
      }
    });

  program
    .command("rejoin")
    .description("bring a former primary (or any diverged node) back as a follower, with pg_rewind or a fresh base backup")
    .argument("<node>", "the node to bring back")
    .addOption(labOption())
    .option("--reclone", "use a fresh base backup instead of pg_rewind")
    .option("--json", "print the result as JSON")
    .action(async (node: string, flags: { lab: string; reclone?: boolean; json?: boolean }) => {
      const result = await uninterrupted("rejoin", () => rejoin(engine(), flags.lab, node, { reclone: Boolean(flags.reclone) }, stderrProgress()));
      if (flags.json) return printJson(result);
      printLine(`${result.node} follows ${result.primary} again, by ${result.method}: ${result.reason} (${(result.elapsed_ms / 1000).toFixed(1)} s)`);
    });

  program
    .command("switchover")
    .description("planned change of primary with no acknowledged write lost: clean stop, promote, old primary follows")
    .argument("<node>", "the standby to make primary")
    .addOption(labOption())
    .option("--json", "print the result as JSON")
    .action(async (node: string, flags: { lab: string; json?: boolean }) => {
      const result = await uninterrupted("switchover", () => switchover(engine(), flags.lab, node, stderrProgress()));
      if (flags.json) return printJson(result);
      printLine(
        `${result.new_primary} is primary; ${result.old_primary} follows it (${result.rejoin.method}). ` +
          `Writes were refused for ${result.unavailable_ms} ms.`,
      );
    });

  program
    .command("events")
    .description("print a timestamped line per change in role, container state, timeline, walsender state or sync_state")
    .addOption(labOption())
    .option("--json", "one JSON object per event")
    .option("--interval <duration>", "how often to look", "250ms")
    .addHelpText("after", `
Example, in a second terminal while you break things:
  $ repl-lab events
  16:55:01.234  standby1  container running → exited
  16:55:01.234  standby1  walsender gone (on leader) (was streaming, sync)
  16:55:01.234  standby2  sync_state potential → sync (on leader)`)
    .action(async (flags: { lab: string; json?: boolean; interval: string }) => {
      const intervalMs = durationFlag(flags.interval, "--interval");
      await withInterrupt((signal) => events(engine(), { lab: flags.lab, json: Boolean(flags.json), intervalMs, signal }));
    });

  addTopologyOptions(program.command("render"))
    .description("write the topology as a compose file that runs as-is with docker compose / docker-compose")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .option("--seed <text>", "derive the passwords from this text, so the same command renders the same file")
    .addHelpText("after", `
Examples:
  $ repl-lab render -n 2 --sync standby1 -o docker-compose.yml && docker compose up -d
  $ repl-lab render --file lab.yaml > lab-compose.yml`)
    .action(async (flags: TopologyFlags & { output?: string; seed?: string }) => {
      let topology = topologyFrom(flags);
      if (!topology.image && !process.env.REPL_LAB_IMAGE) {
        // The image `up` would use here; with no engine to ask, the official one.
        const image = await resolveImage(new DockerEngine(), undefined, silentProgress).catch(() => undefined);
        if (image) topology = { ...topology, image };
      }
      const command = ["repl-lab", ...process.argv.slice(2)].join(" ");
      const text = await render({ topology, output: flags.output, seed: flags.seed, command });
      if (!flags.output) process.stdout.write(text);
      else process.stderr.write(`wrote ${flags.output}\n`);
    });

  const image = program.command("image").description("PostgreSQL images for labs");
  image
    .command("build")
    .description("build repl-lab/postgres:<major> from Debian's packages (for machines with no registry)")
    .option("--pg <major>", "PostgreSQL major version: 17 (Debian trixie) or 15 (Debian bookworm)", "17")
    .option("--json", "print the image name as JSON")
    .action(async (flags: { pg: string; json?: boolean }) => {
      const built = await imageBuild(engine(), { pg: flags.pg }, stderrProgress());
      if (flags.json) printJson({ image: built });
      else printLine(built);
    });

  return program;
}

/** The one place errors become messages and exit codes. */
export function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help/version text).
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (error instanceof ReplLabError) {
    process.stderr.write(errorLine(error.message) + "\n");
    for (const line of error.details) process.stderr.write(`  ${line}\n`);
    if (error.hint) process.stderr.write(hintLine(error.hint) + "\n");
    if (debugEnabled() && error.stack) process.stderr.write(error.stack + "\n");
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(errorLine(`unexpected: ${message}`) + "\n");
  if (debugEnabled() && error instanceof Error && error.stack) process.stderr.write(error.stack + "\n");
  else process.stderr.write(hintLine("run again with DEBUG=1 for details, and report it if it persists") + "\n");
  return exitCodeOf(error);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `repl-lab status | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error);
  }
}
