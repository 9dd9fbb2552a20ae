// repl-lab dashboard: a live page of the lab, until Ctrl-C.
import type { Command } from "commander";
import { labOption, type LabFlags } from "../options.js";
import { loadRuntime, withInterrupt } from "../run.js";

type DashboardFlags = LabFlags & { port: string; open?: boolean; interval: string; experiments?: string[] };

export function registerDashboard(program: Command): void {
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
    .action(async (flags: DashboardFlags) => {
      const [{ durationMs }, { startDashboard }, { printLine, printNote }] = await Promise.all([
        import("../../core/duration.js"), import("../../dashboard/server.js"), import("../../views/terminal.js"),
      ]);
      const port = Number(flags.port);
      if (!/^\d+$/.test(flags.port) || port > 65535) {
        const { UsageError } = await import("../../core/errors.js");
        throw new UsageError(`--port: "${flags.port}" is not a port number (0 to 65535; 0 picks a free one)`);
      }
      const intervalMs = durationMs(flags.interval, "--interval");
      const runtime = await loadRuntime();
      await withInterrupt(async (signal) => {
        const dashboard = await startDashboard(runtime, { lab: flags.lab, port, intervalMs, experiments: flags.experiments });
        printLine(dashboard.url);
        printNote(`serving lab "${flags.lab}" on 127.0.0.1:${dashboard.port}; Ctrl-C to stop (the lab keeps running)`);
        if (flags.open) {
          const { openInBrowser } = await import("../../dashboard/open.js");
          const problem = await openInBrowser(dashboard.url);
          if (problem) printNote(`could not open a browser (${problem}); open the URL above yourself`);
        }
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
        await dashboard.close();
      });
    });
}
