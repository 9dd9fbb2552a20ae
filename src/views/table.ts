// The one table style and the cell formats every view shares: human units in tables (raw numbers
// stay in --json), colour for states.
import Table from "cli-table3";
import type { ChalkInstance } from "chalk";
import { formatBytes, formatSeconds } from "../core/format.js";

export { formatBytes, formatSeconds };

export function colourState(state: string | null, colour: ChalkInstance): string {
  if (state === null) return "-";
  switch (state) {
    case "streaming":
    case "running":
    case "primary":
      return colour.green(state);
    case "sync":
      return colour.green.bold(state);
    case "quorum":
      return colour.cyan(state);
    case "potential":
    case "catchup":
    case "startup":
    case "backup":
    case "paused":
    case "restarting":
      return colour.yellow(state);
    case "async":
    case "standby":
      return colour.blue(state);
    case "exited":
    case "dead":
    case "stopping":
      return colour.red(state);
    default:
      return state;
  }
}

/** The one table style: bold headings, no rules between rows. */
export function table(head: string[], colour: ChalkInstance): Table.Table {
  return new Table({
    head: head.map((title) => colour.bold(title)),
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
}

export function dash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === "" ? "-" : String(value);
}

