// The CLI's entry: main(argv) builds the program for the command named and runs it; report(error)
// turns whatever went wrong into its message and exit code.
import { CommanderError } from "commander";
import { buildProgram } from "./program.js";

/** The one place errors become messages and exit codes. */
export async function report(error: unknown): Promise<number> {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  const [{ errorText }, { exitCodeOf }] = await Promise.all([import("../views/errors.js"), import("../core/errors.js")]);
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
