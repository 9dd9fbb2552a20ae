// The CLI bundle's entry (scripts/build.mjs builds dist/cli/cli.mjs from this file; bin/repl-lab.cjs
// imports it and calls its main). The CLI itself is under cli/: main.ts, program.ts, and a file per command.
export { main, report } from "./cli/main.js";
export { buildProgram } from "./cli/program.js";
