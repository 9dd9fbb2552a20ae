// An experiment is a workload plus a fault plus a measurement, repeated: its rows are plain data
// (snake_case keys, PostgreSQL's names where one exists), its table and plots are views of those
// rows, and its one-line conclusion is computed from them.
import type { Lab, LabOptions } from "../api.js";
import type { Progress } from "../core/progress.js";
import type { Runtime } from "../lab/runtime.js";

export type Row = Record<string, string | number | boolean | null | string[]>;

export interface ExperimentContext {
  runtime: Runtime;
  progress: Progress;
  /** Ctrl-C: stop at the next step; the labs the experiment made are removed. */
  signal?: AbortSignal;
  /**
   * A lab for the experiment: a new one, removed when the experiment ends (also when it fails or is
   * interrupted), or the one named with --lab when the experiment can use one. `fresh` asks for a
   * new lab even then (the experiment breaks it for good); `standbys` is how many a given lab must
   * have at least (default: options.followers).
   */
  lab(options: LabOptions, purpose?: { fresh?: boolean; standbys?: number }): Promise<Lab>;
  /** Removes a lab made by lab() before the experiment ends (one per trial). */
  release(lab: Lab): Promise<void>;
}

export interface Column {
  key: string;
  title?: string;
  /** How a value is shown in the table (JSON keeps the raw value). */
  format?: (value: Row[string], row: Row) => string;
}

/** A figure: an ECharts option object, rendered to SVG by views/plot.ts. */
export interface Figure {
  name: string;
  title: string;
  option: Record<string, unknown>;
}

/** An experiment's code; its name, summary and options (parsed into its Config) are declared in catalog.ts. */
export interface Experiment<Config extends object = Record<string, unknown>> {
  /** Whether --lab can be given (false: it needs labs it can break for good). */
  usesGivenLab: boolean;
  run(context: ExperimentContext, config: Config): Promise<Row[]>;
  conclude(rows: Row[], config: Config): string;
  columns: Column[];
  figures(rows: Row[], config: Config): Figure[];
}

export interface ExperimentResult {
  experiment: string;
  config: Record<string, unknown>;
  results: Row[];
  conclusion: string;
  /** What could not be cleaned up after the run (a lab not removed, a given lab not put back); present only then. */
  cleanup_failed?: string[];
}
