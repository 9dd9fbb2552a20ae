// repl-lab kill|stop|start|restart|pause|unpause <node>: one registration for all.
import type { Command } from "commander";
import type { FaultAction } from "../../core/constants.js";
import { jsonOption, labOption, NODE_ARGUMENT, type JsonFlags, type LabFlags } from "../options.js";
import { run } from "../run.js";

const FAULT_HELP: Record<FaultAction, string> = {
  kill: "SIGKILL a node's container: its connections drop, the primary notices at once",
  stop: "stop a node cleanly (fast shutdown)",
  start: "start a stopped node and wait until it accepts connections",
  restart: "restart a node and wait until it accepts connections",
  pause: "freeze a node without closing its connections: the primary notices after wal_sender_timeout",
  unpause: "unfreeze a paused node",
};

export function registerFault(program: Command, action: FaultAction): void {
  program
    .command(action)
    .description(FAULT_HELP[action])
    .argument(...NODE_ARGUMENT)
    .addOption(labOption())
    .addOption(jsonOption())
    .addHelpText("after", `\nExample:\n  $ repl-lab ${action} standby1 && repl-lab status`)
    .action(async (node: string, flags: LabFlags & JsonFlags) => {
      const [{ fault }, { faultView }] = await Promise.all([import("../../operations/fault.js"), import("../../views/results.js")]);
      await run(flags, (runtime, { progress }) => fault(runtime, { lab: flags.lab, node, action }, progress), { text: faultView });
    });
}
