// What the commands' actions share: the runtime, Ctrl-C, and a result printed as JSON or through its
// view. Everything is loaded on demand, so a command's --help loads none of it.
import type { ChalkInstance } from "chalk";
import type { Progress } from "../core/progress.js";
import type { Runtime } from "../lab/runtime.js";
import type { TestCase } from "../views/reporters.js";
import type { JsonFlags, ReportFlags } from "./options.js";

export const loadRuntime = async (): Promise<Runtime> => (await import("../lab/runtime.js")).dockerRuntime();
const loadTerminal = () => import("../views/terminal.js");

/** Calls `handler` on SIGINT and SIGTERM (rather than exiting) until the function it returns is called. */
function onSignals(handler: () => void): () => void {
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Runs work with Ctrl-C (and SIGTERM) turned into an abort signal rather than an instant exit. */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.stderr.write("still cleaning up; please wait\n");
    controller.abort();
  };
  const stopListening = onSignals(onSignal);
  try {
    return await work(controller.signal);
  } finally {
    stopListening();
  }
}

/**
 * Runs a change best not stopped halfway (a node's container renamed aside and its replacement not
 * yet started leaves the node down): the first Ctrl-C (or SIGTERM) says so and lets it finish; a
 * second one stops it at its next safe point (the signal), and the next command that changes nodes
 * cleans up what it left. Every wait in such a change is bounded, so it finishes either way.
 */
async function finishFirst<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let asked = false;
  const onSignal = () => {
    if (asked) {
      if (!controller.signal.aborted) process.stderr.write(`stopping ${what}; the next rejoin, promote or switchover cleans up what it leaves\n`);
      controller.abort();
      return;
    }
    asked = true;
    process.stderr.write(`${what} is in progress and will finish in a few seconds; press Ctrl-C again to stop it now\n`);
  };
  const stopListening = onSignals(onSignal);
  try {
    return await work(controller.signal);
  } finally {
    stopListening();
  }
}

/**
 * What Ctrl-C does to an operation: "abort" hands it a signal to stop at (it cleans up first);
 * `{ finish }` lets a change best not stopped halfway finish, and stops it at a second Ctrl-C. Left out, Ctrl-C
 * ends the process at once.
 */
export type Interrupt = "abort" | { finish: string };

export type Operation<T> = (runtime: Runtime, context: { signal?: AbortSignal; progress: Progress }) => Promise<T>;

/** Gets the runtime and runs the operation, with progress on stderr (unless --quiet) and Ctrl-C as `interrupt` says. */
export async function execute<T>(operate: Operation<T>, how: { interrupt?: Interrupt; quiet?: boolean } = {}): Promise<T> {
  const [runtime, { stderrProgress }] = await Promise.all([loadRuntime(), loadTerminal()]);
  const progress = stderrProgress(how.quiet);
  const { interrupt } = how;
  if (interrupt === "abort") return withInterrupt((signal) => operate(runtime, { signal, progress }));
  if (interrupt) return finishFirst(interrupt.finish, (signal) => operate(runtime, { signal, progress }));
  return operate(runtime, { progress });
}

export interface View<T> {
  /** The result as text. */
  text(result: T, colour: ChalkInstance): string | Promise<string>;
  /** What --json prints, when not the whole result. */
  json?(result: T): unknown;
}

/** Prints a result as JSON (--json) or as its text view. */
export async function show<T>(result: T, flags: JsonFlags, view: View<T>): Promise<void> {
  const { printJson, printLine, colour } = await loadTerminal();
  if (flags.json) printJson(view.json ? view.json(result) : result);
  else printLine(await view.text(result, colour));
}

/** Prints a result as JSON, a text view, or a TAP or JUnit report (to stdout, or to --out, with the text view on stdout). */
export async function showReport<T>(result: T, flags: ReportFlags, view: { text(result: T, colour: ChalkInstance): string; cases(result: T): TestCase[] }): Promise<void> {
  const [{ tapReport, junitReport }, { printJson, printLine, printNote, colour }] = await Promise.all([import("../views/reporters.js"), loadTerminal()]);
  if (flags.json) return printJson(result);
  if (flags.reporter === "text") return printLine(view.text(result, colour));
  const output = flags.reporter === "tap" ? tapReport(view.cases(result)) : await junitReport(view.cases(result));
  if (!flags.out) return printLine(output);
  const { writeFile } = await import("node:fs/promises");
  await writeFile(flags.out, output + "\n");
  printNote(`wrote ${flags.out}`);
  printLine(view.text(result, colour));
}

/** The usual action: run the operation, then show its result. */
export async function run<T>(flags: JsonFlags & { quiet?: boolean }, operate: Operation<T>, view: View<T>, interrupt?: Interrupt): Promise<T> {
  const result = await execute(operate, { interrupt, quiet: flags.quiet });
  await show(result, flags, view);
  return result;
}
