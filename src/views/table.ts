// The one table style and the cell formats every view shares: human units in tables (raw numbers
// stay in --json), colour for states.
import Table from "cli-table3";
import type { ChalkInstance } from "chalk";

export function formatBytes(bytes: number | null): string {
  if (bytes === null || Number.isNaN(bytes)) return "-";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = bytes < 0 ? "-" : "";
  return unit === 0 ? `${sign}${value} B` : `${sign}${value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null || Number.isNaN(seconds)) return "-";
  const abs = Math.abs(seconds);
  if (abs < 0.001) return `${(seconds * 1_000_000).toFixed(0)} µs`;
  if (abs < 1) return `${(seconds * 1000).toFixed(abs < 0.01 ? 2 : 1)} ms`;
  if (abs < 60) return `${seconds.toFixed(1)} s`;
  if (abs < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

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

