// The only file that knows commander. Each action turns flags into options, calls commands/<verb>,
// and prints what it returns through a view; errors become an exit code in one place (report).
// Everything but commander is loaded on demand, so `--help` and `--version` start as fast as Node.
import { Command, CommanderError, Option } from "commander";
import { readPackageFile } from "./core/package-files.js";
import { nextTurn } from "./core/schedule.js";
import { defaultLabName, FAULT_ACTIONS, SYNC_COMMIT_LEVELS, type FaultAction } from "./core/constants.js";
import { EXPERIMENTS } from "./experiments/catalog.js";
import type { TopologyFlags } from "./cli-options.js";
import type { SyncChange } from "./operations/sync.js";
import type { Runtime } from "./lab/runtime.js";

const VERSION = (JSON.parse(readPackageFile("package.json")) as { version: string }).version;

const load = {
  runtime: async (): Promise<Runtime> => (await import("./lab/runtime.js")).dockerRuntime(),
  options: () => import("./cli-options.js"),
  duration: () => import("./core/duration.js"),
  terminal: () => import("./views/terminal.js"),
  results: () => import("./views/results.js"),
};

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
 * Runs a change that must not stop halfway (a container renamed aside and its replacement not yet
 * started would leave the node down): Ctrl-C is noted and the change finishes first. Each takes seconds.
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

/** Prints a result as JSON, or as its view. */
async function show<T>(result: T, json: boolean | undefined, view: (result: T) => string | Promise<string>): Promise<void> {
  const { printJson, printLine } = await load.terminal();
  if (json) printJson(result);
  else printLine(await view(result));
}

function addTopologyOptions(command: Command): Command {
  return command
    .option("--lab <name>", `lab name (env REPL_LAB_NAME; default "${defaultLabName()}")`)
    .option("-f, --file <lab.yaml>", "read the topology from a YAML lab file (flags override it)")
    .option("-n, --followers <n>", "number of followers, 1 to 16 (default 2)")
    .option("--sync <spec>", 'synchronous standbys: standby1 | "FIRST 2 (standby1, standby2)" | "ANY 1 (*)"; left out: asynchronous')
    .addOption(new Option("--sync-commit <level>", "synchronous_commit (default on)").choices([...SYNC_COMMIT_LEVELS]))
    .option("--no-slots", "bootstrap followers without replication slots")
    .option("--wal-sender-timeout <duration>", "wal_sender_timeout, e.g. 5s (default PostgreSQL's 60s)")
    .option("--network-delay <duration>", "one-way latency on every follower's replication link, e.g. 20ms")
    .option("-c, --setting <name=value>", "extra postgresql.conf setting for every node (repeatable)", (value: string, all: string[] = []) => [...all, value])
    .option("--port <port>", "host port of the leader; followers get the next ones (default: free ports, fixed for the lab's life)")
    .option("--image <image>", "PostgreSQL image (env REPL_LAB_IMAGE; default postgres:17, else repl-lab/postgres:17; with --ha repl-lab/postgres-ha:17)")
    .option("--ha", "HA mode: Patroni runs every node and fails over by itself, three etcd members hold its leader lock")
    .option("--ttl <duration>", "HA: Patroni's ttl, how long the leader lock lives without renewal (lab default 20s, Patroni's 30s)")
    .option("--loop-wait <duration>", "HA: Patroni's loop_wait between its cycles (lab default 1s, Patroni's 10s)")
    .option("--retry-timeout <duration>", "HA: Patroni's retry_timeout for etcd and PostgreSQL (lab default 3s, Patroni's 10s)")
    .option("--maximum-lag-on-failover <size>", "HA: a replica further behind than this is not promoted (default 1MB)")
    .addOption(new Option("--sync-mode <mode>", "HA: Patroni's synchronous mode (default: on with --sync FIRST n, quorum with ANY n, else off)").choices(["off", "on", "strict", "quorum"]))
    .option("--patroni-defaults", "HA: Patroni's production defaults (ttl 30s, loop_wait 10s, retry_timeout 10s) instead of the lab's");
}

const labOption = () => new Option("--lab <name>", `lab name (env REPL_LAB_NAME; default "${defaultLabName()}")`).default(defaultLabName());

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

/**
 * The program, with every command, or with only `only` when that names one: building every
 * command's options and help text was 7 ms of each start, and a run needs one command. A name that
 * is no command (a typo, `help`) gets the whole program, whose error suggests the nearest name.
 */
export function buildProgram(only?: string): Command {
  const registered: string[] = [];
  const wanted = (name: string) => {
    registered.push(name);
    return only === undefined || name === only;
  };
  const program = new Command("repl-lab")
    .description("PostgreSQL replication labs out of real Docker containers: leaders, followers, lag, sync states and failover you can see.")
    .version(VERSION)
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

  if (wanted("up")) {
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
  $ repl-lab up --file lab.yaml --json
  $ repl-lab up --ha -n 2 --sync standby1         Patroni + etcd: kill leader and a follower takes over by itself`,
      )
      .action(async (flags: TopologyFlags & { waitTimeout: string; json?: boolean; quiet?: boolean }) => {
        const [{ topologyFrom }, { durationMs }, { up }, { stderrProgress, colour }, { upView }] = await Promise.all([
          load.options(), load.duration(), import("./operations/up.js"), load.terminal(), load.results(),
        ]);
        const topology = topologyFrom(flags);
        const waitTimeoutMs = durationMs(flags.waitTimeout, "--wait-timeout");
        const runtime = await load.runtime();
        const result = await withInterrupt((signal) => up(runtime, { topology, waitTimeoutMs, signal }, stderrProgress(flags.quiet)));
        await show(result, flags.json, (value) => upView(value, colour, defaultLabName()));
      });
  }

  if (wanted("status")) {
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
        const { durationMs } = await load.duration();
        const intervalMs = durationMs(flags.interval, "--interval");
        if (flags.events && !flags.watch) {
          const { UsageError } = await import("./core/errors.js");
          throw new UsageError("--events goes with --watch");
        }
        if (flags.events) return printEvents(flags.lab, intervalMs, flags.json);
        if (flags.watch) return printWatch(flags.lab, intervalMs, flags.json);
        const [runtime, { status }] = await Promise.all([load.runtime(), import("./operations/status.js")]);
        const result = status(runtime, { lab: flags.lab });
        result.catch(() => undefined); // awaited below, after the view has loaded while the lab answered
        const [{ colour }, { renderStatus }] = await nextTurn().then(() => Promise.all([load.terminal(), import("./views/status.js")]));
        await show(await result, flags.json, (value) => renderStatus(value, colour));
      });
  }

  if (wanted("down")) {
    program
      .command("down")
      .description("remove the lab's containers, network and volumes")
      .addOption(labOption())
      .option("--keep-volumes", "keep the data volumes")
      .option("--json", "print what was removed as JSON")
      .action(async (flags: { lab: string; keepVolumes?: boolean; json?: boolean }) => {
        const [runtime, { down }, { downView }] = await Promise.all([load.runtime(), import("./operations/down.js"), load.results()]);
        const removed = await down(runtime, { lab: flags.lab, keepVolumes: Boolean(flags.keepVolumes) });
        await show(removed, flags.json, (value) => downView(value, Boolean(flags.keepVolumes)));
      });
  }

  if (wanted("ls")) {
    program
      .command("ls")
      .description("list the labs on this Docker engine")
      .option("--json", "print as JSON")
      .action(async (flags: { json?: boolean }) => {
        const [runtime, { ls }, { colour }, { lsView }] = await Promise.all([load.runtime(), import("./operations/ls.js"), load.terminal(), load.results()]);
        await show(await ls(runtime), flags.json, (value) => lsView(value, colour));
      });
  }

  if (wanted("env")) {
    program
      .command("env")
      .description("connection URL of each node, and PRIMARY_URL/STANDBY_URL that follow the roles, as shell export lines")
      .addOption(labOption())
      .option("--json", "print { node: url, primary: url, standby: url } as JSON")
      .option("--dotenv", "NAME=value lines, for a .env file or GitHub Actions' $GITHUB_ENV")
      .addHelpText("after", `
Examples:
  $ eval "$(repl-lab env)" && psql "$STANDBY1_URL" -c 'SELECT pg_is_in_recovery()'
  $ psql "$PRIMARY_URL"         libpq finds the primary among all nodes (target_session_attrs=read-write)
  $ repl-lab env --dotenv >> "$GITHUB_ENV"
  $ repl-lab env --json`)
      .action(async (flags: { lab: string; json?: boolean; dotenv?: boolean }) => {
        const [runtime, { env }, { exportLines, dotenvLines }] = await Promise.all([load.runtime(), import("./operations/env.js"), load.results()]);
        await show(await env(runtime, { lab: flags.lab }), flags.json, flags.dotenv ? dotenvLines : exportLines);
      });
  }

  if (wanted("sql")) {
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
        const [runtime, { sql }, { colour, printJson, printLine }, { sqlView }] = await Promise.all([
          load.runtime(), import("./operations/sql.js"), load.terminal(), load.results(),
        ]);
        const result = await sql(runtime, { lab: flags.lab, node, query });
        if (flags.json) printJson(result.rows);
        else printLine(sqlView(result, colour));
      });
  }

  if (wanted("psql")) {
    program
      .command("psql")
      .description("open an interactive psql on a node (inside its container)")
      .argument("<node>", "leader, standby1, …")
      .argument("[psql-args...]", "extra arguments for psql, after --")
      .addOption(labOption())
      .action(async (node: string, args: string[], flags: { lab: string }) => {
        const [runtime, { psql }] = await Promise.all([load.runtime(), import("./operations/psql.js")]);
        process.exitCode = await psql(runtime, { lab: flags.lab, node, args, stdio: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr } });
      });
  }

  if (wanted("logs")) {
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
          if (!/^\d+$/.test(flags.tail)) {
            const { UsageError } = await import("./core/errors.js");
            throw new UsageError(`--tail ${flags.tail}: expected a number of lines or "all"`);
          }
          tail = Number(flags.tail);
        }
        const [runtime, { logs }] = await Promise.all([load.runtime(), import("./operations/logs.js")]);
        for await (const chunk of await logs(runtime, { lab: flags.lab, node, follow: Boolean(flags.follow), tail })) process.stdout.write(chunk);
      });
  }

  for (const action of FAULT_ACTIONS) {
    if (!wanted(action)) continue;
    program
      .command(action)
      .description(FAULT_HELP[action])
      .argument("<node>", "leader, standby1, …")
      .addOption(labOption())
      .option("--json", "print the result as JSON")
      .addHelpText("after", `\nExample:\n  $ repl-lab ${action} standby1 && repl-lab status`)
      .action(async (node: string, flags: { lab: string; json?: boolean }) => {
        const [runtime, { fault }, { stderrProgress }, { faultView }] = await Promise.all([
          load.runtime(), import("./operations/fault.js"), load.terminal(), load.results(),
        ]);
        await show(await fault(runtime, { lab: flags.lab, node, action }, stderrProgress()), flags.json, faultView);
      });
  }

  if (wanted("delay")) {
    program
      .command("delay")
      .description("make a follower lag on demand: replay delay (recovery_min_apply_delay) or latency on its replication link")
      .argument("<node>", "a standby")
      .addOption(labOption())
      .option("--apply <duration>", "replay each transaction no sooner than this after its commit on the primary")
      .option("--network <duration>", "one-way latency on its replication link, both directions (userspace; no netem needed)")
      .option("--clear", "remove both delays")
      .option("--json", "print the result as JSON")
      .addHelpText("after", `
Examples:
  $ repl-lab delay standby2 --apply 2s      then: repl-lab sql leader "INSERT …"; repl-lab status
  $ repl-lab delay standby1 --network 20ms  a commit waiting for standby1 now takes a 40 ms round trip
  $ repl-lab delay standby2 --clear`)
      .action(async (node: string, flags: { lab: string; apply?: string; network?: string; clear?: boolean; json?: boolean }) => {
        const [runtime, { delay }, { delayView }] = await Promise.all([load.runtime(), import("./operations/delay.js"), load.results()]);
        const result = await delay(runtime, { lab: flags.lab, node, apply: flags.apply, network: flags.network, clear: Boolean(flags.clear) });
        await show(result, flags.json, delayView);
      });
  }

  if (wanted("sync")) {
    const syncCommand = program
      .command("sync")
      .description("change synchronous replication on the running primary (ALTER SYSTEM + reload, no restart)")
      .addHelpText("after", `
Examples:
  $ repl-lab sync set "FIRST 1 (standby1, standby2)"
  $ repl-lab sync off                       the seed's manual fallback: synchronous_standby_names = ''
  $ repl-lab sync commit remote_apply`);
    const runSync = async (change: SyncChange, flags: { lab: string; json?: boolean }) => {
      const [runtime, { sync }, { colour }, { syncView }] = await Promise.all([load.runtime(), import("./operations/sync.js"), load.terminal(), load.results()]);
      await show(await sync(runtime, { lab: flags.lab, change }), flags.json, (value) => syncView(value, colour));
    };
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
  }

  if (wanted("promote")) {
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
        const [runtime, { promote }, { stderrProgress, colour }, { promoteView }] = await Promise.all([
          load.runtime(), import("./operations/promote.js"), load.terminal(), load.results(),
        ]);
        const result = await uninterrupted("promote", () => promote(runtime, { lab: flags.lab, node }, stderrProgress()));
        await show(result, flags.json, (value) => promoteView(value, colour));
      });
  }

  if (wanted("rejoin")) {
    program
      .command("rejoin")
      .description("bring a former primary (or any diverged node) back as a follower, with pg_rewind or a fresh base backup")
      .argument("<node>", "the node to bring back")
      .addOption(labOption())
      .option("--reclone", "use a fresh base backup instead of pg_rewind")
      .option("--json", "print the result as JSON")
      .action(async (node: string, flags: { lab: string; reclone?: boolean; json?: boolean }) => {
        const [runtime, { rejoin }, { stderrProgress }, { rejoinView }] = await Promise.all([
          load.runtime(), import("./operations/rejoin.js"), load.terminal(), load.results(),
        ]);
        const result = await uninterrupted("rejoin", () => rejoin(runtime, { lab: flags.lab, node, reclone: Boolean(flags.reclone) }, stderrProgress()));
        await show(result, flags.json, rejoinView);
      });
  }

  if (wanted("switchover")) {
    program
      .command("switchover")
      .description("planned change of primary with no acknowledged write lost: clean stop, promote, old primary follows")
      .argument("<node>", "the standby to make primary")
      .addOption(labOption())
      .option("--json", "print the result as JSON")
      .action(async (node: string, flags: { lab: string; json?: boolean }) => {
        const [runtime, { switchover }, { stderrProgress, colour }, { switchoverView }] = await Promise.all([
          load.runtime(), import("./operations/switchover.js"), load.terminal(), load.results(),
        ]);
        const result = await uninterrupted("switchover", () => switchover(runtime, { lab: flags.lab, node }, stderrProgress()));
        await show(result, flags.json, (value) => switchoverView(value, colour));
      });
  }

  if (wanted("events")) {
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
        const { durationMs } = await load.duration();
        await printEvents(flags.lab, durationMs(flags.interval, "--interval"), flags.json);
      });
  }

  if (wanted("dashboard")) {
    program
      .command("dashboard")
      .description("serve a live page of the lab on 127.0.0.1: topology, lag charts, events, tables, and actions")
      .addOption(labOption())
      .option("--port <port>", "port on 127.0.0.1 (default: a free one)", "0")
      .option("--open", "open the page in the desktop's browser")
      .option("--interval <duration>", "how often to look at the lab", "1s")
      .option("--experiments <dir...>", "also show experiment results written with `repl-lab experiment … --out DIR`")
      .addHelpText("after", `
The printed URL carries a token, as Jupyter's does: actions (kill, promote, sync…) need it,
and requests from other origins are refused. Ctrl-C stops the page, not the lab.

Examples:
  $ repl-lab dashboard
  http://127.0.0.1:41237/?token=9f2c…
  $ repl-lab dashboard --lab demo --port 8080 --open
  $ repl-lab experiment commit-latency --out results/latency && repl-lab dashboard --experiments results/latency

API (the page's own, for scripts too; send the token as x-repl-lab-token or ?token=):
  GET  /api/status              the object status --json prints
  GET  /api/events              server-sent events: one per change (as events --json), and a "tick" per look
  POST /api/actions/<verb>      kill|stop|start|restart|pause|unpause|partition|heal|promote|rejoin|switchover
                                {"node":"standby1"}; delay {"node","apply","network","clear"}; sync {"set"|"off"|"commit"}`)
      .action(async (flags: { lab: string; port: string; open?: boolean; interval: string; experiments?: string[] }) => {
        const [{ durationMs }, runtime, { startDashboard }, { printLine, printNote }] = await Promise.all([
          load.duration(), load.runtime(), import("./dashboard/server.js"), load.terminal(),
        ]);
        const port = Number(flags.port);
        if (!/^\d+$/.test(flags.port) || port > 65535) {
          const { UsageError } = await import("./core/errors.js");
          throw new UsageError(`--port: "${flags.port}" is not a port number (0 to 65535; 0 picks a free one)`);
        }
        const intervalMs = durationMs(flags.interval, "--interval");
        await withInterrupt(async (signal) => {
          const dashboard = await startDashboard(runtime, { lab: flags.lab, port, intervalMs, experiments: flags.experiments });
          printLine(dashboard.url);
          printNote(`serving lab "${flags.lab}" on 127.0.0.1:${dashboard.port}; Ctrl-C to stop (the lab keeps running)`);
          if (flags.open) {
            const { openInBrowser } = await import("./dashboard/open.js");
            const problem = await openInBrowser(dashboard.url);
            if (problem) printNote(`could not open a browser (${problem}); open the URL above yourself`);
          }
          await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
          await dashboard.close();
        });
      });
  }

  if (wanted("render")) {
    addTopologyOptions(program.command("render"))
      .description("write the topology as a compose file that runs as-is with docker compose / docker-compose")
      .option("-o, --output <file>", "write to this file instead of stdout")
      .option("--seed <text>", "derive the passwords from this text, so the same command renders the same file")
      .addHelpText("after", `
Examples:
  $ repl-lab render -n 2 --sync standby1 -o docker-compose.yml && docker compose up -d
  $ repl-lab render --file lab.yaml > lab-compose.yml`)
      .action(async (flags: TopologyFlags & { output?: string; seed?: string }) => {
        const [{ topologyFrom }, { render }, { printNote }] = await Promise.all([load.options(), import("./operations/render.js"), load.terminal()]);
        const topology = topologyFrom(flags);
        const runtime = topology.image ? undefined : await load.runtime();
        const command = ["repl-lab", ...process.argv.slice(2)].join(" ");
        const result = await render(runtime, { topology, output: flags.output, seed: flags.seed, command });
        if (result.output) printNote(`wrote ${result.output}`);
        else process.stdout.write(result.text);
      });
  }

  const reporterOption = () => new Option("--reporter <format>", "text, tap (TAP 13) or junit (JUnit XML)").choices(["text", "tap", "junit"]).default("text");

  if (wanted("check")) {
    program
      .command("check")
      .description("assert the lab is healthy for CI: one primary, followers streaming, sync states, lag, slots, a marker row on every follower")
      .addOption(labOption())
      .option("--max-lag <size>", "most WAL a follower may have left to replay", "16MB")
      .option("--timeout <duration>", "how long the checks may take to hold", "30s")
      .option("--json", "print the result as JSON")
      .addOption(reporterOption())
      .option("-o, --out <file>", "write the report (tap or junit) to this file instead of stdout")
      .addHelpText("after", `
Exit code 0 when every check holds, 1 with one line per failed check otherwise.
Examples:
  $ repl-lab check
  $ repl-lab check --lab ci --max-lag 1MB --timeout 60s --reporter junit --out check.xml`)
      .action(async (flags: { lab: string; maxLag: string; timeout: string; json?: boolean; reporter: string; out?: string }) => {
        const [{ durationMs }, { parseSize }, { UsageError }] = await Promise.all([load.duration(), import("./core/size.js"), import("./core/errors.js")]);
        const maxLagBytes = parseSize(flags.maxLag);
        if (maxLagBytes === undefined) throw new UsageError(`--max-lag ${flags.maxLag}: expected a size such as 16MB`);
        const timeoutMs = durationMs(flags.timeout, "--timeout");
        const [runtime, { check }] = await Promise.all([load.runtime(), import("./operations/check.js")]);
        const result = await withInterrupt((signal) => check(runtime, { lab: flags.lab, maxLagBytes, timeoutMs, signal }));
        await printReport(result, flags, async (reporters) => reporters.checkCases(result), async (reporters, colour) => reporters.checkView(result, colour));
        if (!result.passed) process.exitCode = 1;
      });
  }

  if (wanted("scenario")) {
    const scenarioCommand = program.command("scenario").description("scenario files: a lab, steps that break it, and what must hold; for CI");
    scenarioCommand
      .command("run")
      .description("run scenario files, each in a lab of its own (removed at the end, also on failure and Ctrl-C)")
      .argument("<files...>", "scenario files (YAML)")
      .option("--lab <name>", "run in this existing lab instead (it is left in place)")
      .option("--keep-going", "run every step even after one fails")
      .option("--keep-lab", "leave each scenario's lab in place, to look at it")
      .option("--image <image>", "PostgreSQL image for the labs it makes")
      .option("--json", "print the result as JSON")
      .addOption(reporterOption())
      .option("-o, --out <file>", "write the report (tap or junit) to this file instead of stdout")
      .option("-q, --quiet", "no progress on stderr")
      .addHelpText("after", `
Exit code 0 when every step passed, 1 when one failed, 2 for a bad scenario file (nothing runs).
Examples:
  $ repl-lab scenario run scenarios/*.yaml
  $ repl-lab scenario run scenarios/failover.yaml --reporter tap
  $ repl-lab scenario run scenarios/*.yaml --reporter junit --out repl-lab-junit.xml`)
      .action(async (files: string[], flags: { lab?: string; keepGoing?: boolean; keepLab?: boolean; image?: string; json?: boolean; reporter: string; out?: string; quiet?: boolean }) => {
        const [runtime, { runScenarios }, { stderrProgress }] = await Promise.all([load.runtime(), import("./scenario/run.js"), load.terminal()]);
        const result = await withInterrupt((signal) =>
          runScenarios(runtime, { files, lab: flags.lab, keepGoing: flags.keepGoing, keepLab: flags.keepLab, image: flags.image, signal }, stderrProgress(flags.quiet)),
        );
        await printReport(result, flags, async (reporters) => reporters.scenarioCases(result), async (reporters, colour) => reporters.scenarioView(result, colour));
        if (!result.passed) process.exitCode = 1;
      });
  }

  if (wanted("experiment")) {
    const experimentCommand = program
      .command("experiment")
      .description("measure what replication costs and what it loses, on real servers: a table, a conclusion, plots with --out")
      .addHelpText("after", `
Examples:
  $ repl-lab experiment list
${EXPERIMENTS.map((entry) => `  $ ${entry.example}`).join("\n")}`);
    experimentCommand
      .command("list")
      .description("the experiments, a line each")
      .option("--json", "print as JSON")
      .action(async (flags: { json?: boolean }) => {
        const [{ listExperiments }, { colour }, { experimentListView }] = await Promise.all([
          import("./experiments/run.js"), load.terminal(), import("./views/experiment.js"),
        ]);
        await show(listExperiments(), flags.json, (value) => experimentListView(value, colour));
      });
    const commonExperimentFlags = ["lab", "image", "json", "out", "quiet"];
    for (const entry of EXPERIMENTS) {
      const command = experimentCommand.command(entry.name).description(entry.summary);
      for (const option of entry.options) command.option(option.flags, option.description);
      command
        .option("--lab <name>", "run in this lab instead of labs of its own (its settings are put back after)")
        .option("--image <image>", "PostgreSQL image for the labs it makes")
        .option("--json", 'print { "experiment", "config", "results", "conclusion" }')
        .option("--out <dir>", "write result.json and one SVG plot per figure there")
        .option("-q, --quiet", "no progress on stderr")
        .addHelpText("after", `\nExample:\n  $ ${entry.example}`)
        .action(async (flags: Record<string, unknown> & { lab?: string; image?: string; json?: boolean; out?: string; quiet?: boolean }) => {
          const [runtime, { experiment }, { stderrProgress, colour, printNote }, views] = await Promise.all([
            load.runtime(), import("./experiments/run.js"), load.terminal(), import("./views/experiment.js"),
          ]);
          const options = Object.fromEntries(Object.entries(flags).filter(([key]) => !commonExperimentFlags.includes(key)));
          const run = await withInterrupt((signal) =>
            experiment(runtime, { name: entry.name, options, lab: flags.lab, image: flags.image, signal }, stderrProgress(flags.quiet)),
          );
          if (flags.out) for (const file of await views.writeExperimentFiles(flags.out, run)) printNote(`wrote ${file}`);
          await show(run.result, flags.json, () => views.experimentView(run, colour));
        });
    }
  }

  if (wanted("image")) {
    const image = program.command("image").description("PostgreSQL images for labs");
    image
      .command("build")
      .description("build repl-lab/postgres:<major> from Debian's packages (for machines with no registry)")
      .option("--pg <major>", "PostgreSQL major version: 17 (Debian trixie) or 15 (Debian bookworm)", "17")
      .option("--ha", "build repl-lab/postgres-ha:<major> instead: the same plus Patroni and etcd, for `up --ha`")
      .option("--json", "print the image name as JSON")
      .action(async (flags: { pg: string; ha?: boolean; json?: boolean }) => {
        const [{ imageBuild, checkMajor }, { stderrProgress }] = await Promise.all([import("./operations/image.js"), load.terminal()]);
        checkMajor(flags.pg);
        const built = await imageBuild(await load.runtime(), { pg: flags.pg, ha: flags.ha }, stderrProgress());
        await show(built, flags.json, (value) => value.image);
      });
  }

  return only === undefined || registered.includes(only) ? program : buildProgram();
}

type Reporters = typeof import("./views/reporters.js");

/** A result as JSON, a text view, or a TAP or JUnit report (to stdout, or to --out). */
async function printReport(
  result: unknown,
  flags: { json?: boolean; reporter: string; out?: string },
  cases: (reporters: Reporters) => Promise<import("./views/reporters.js").TestCase[]>,
  text: (reporters: Reporters, colour: import("chalk").ChalkInstance) => Promise<string>,
): Promise<void> {
  const [reporters, { printJson, printLine, printNote, colour }] = await Promise.all([import("./views/reporters.js"), load.terminal()]);
  if (flags.json) return printJson(result);
  if (flags.reporter === "text") return printLine(await text(reporters, colour));
  const output = flags.reporter === "tap" ? reporters.tapReport(await cases(reporters)) : await reporters.junitReport(await cases(reporters));
  if (!flags.out) return printLine(output);
  const { writeFile } = await import("node:fs/promises");
  await writeFile(flags.out, output + "\n");
  printNote(`wrote ${flags.out}`);
  printLine(await text(reporters, colour));
}

/** `status --watch`: a redraw (or a JSON line) per look until Ctrl-C. */
async function printWatch(lab: string, intervalMs: number, json: boolean | undefined): Promise<void> {
  const [runtime, { watchStatus }, { colour, printJsonLine }, { watchScreen }] = await Promise.all([
    load.runtime(), import("./operations/status.js"), load.terminal(), load.results(),
  ]);
  const clearScreen = process.stdout.isTTY && !json;
  await withInterrupt(async (signal) => {
    for await (const tick of watchStatus(runtime, { lab, intervalMs, signal })) {
      if (json) printJsonLine({ time: tick.time, ...tick.status });
      else process.stdout.write(clearScreen ? `\x1b[H\x1b[2J${watchScreen(tick, colour, intervalMs)}\n` : `${watchScreen(tick, colour, intervalMs)}\n\n`);
    }
  });
}

/** `events`: a line (or a JSON object) per change until Ctrl-C. */
async function printEvents(lab: string, intervalMs: number, json: boolean | undefined): Promise<void> {
  const [runtime, { events }, { printJsonLine, printLine }, { eventLine }] = await Promise.all([
    load.runtime(), import("./operations/events.js"), load.terminal(), load.results(),
  ]);
  await withInterrupt(async (signal) => {
    for await (const event of events(runtime, { lab, intervalMs, signal })) {
      if (json) printJsonLine(event);
      else printLine(eventLine(event));
    }
  });
}

/** The one place errors become messages and exit codes. */
export async function report(error: unknown): Promise<number> {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  const [{ errorText }, { exitCodeOf }] = await Promise.all([import("./views/errors.js"), import("./core/errors.js")]);
  process.stderr.write(errorText(error));
  return exitCodeOf(error);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `repl-lab status | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    // The command is the first word that is not an option: the program itself takes none with a value.
    await buildProgram(argv.slice(2).find((arg) => !arg.startsWith("-"))).parseAsync(argv);
  } catch (error) {
    process.exitCode = await report(error);
  }
}
