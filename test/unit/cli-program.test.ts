// The CLI builds only the command a run names (a faster start): that command, and each of its
// subcommands, must be the one the whole program has, down to its help text.
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli.js";

describe("the CLI program", () => {
  it("built for one command has that command alone, with the options, arguments and help of the whole program's", () => {
    const whole = buildProgram();
    const names = whole.commands.map((command) => command.name());
    expect(names).toEqual(expect.arrayContaining(["up", "status", "down", "kill", "sync", "promote", "check", "scenario", "experiment", "image"]));
    for (const name of names) {
      const alone = buildProgram(name);
      expect(alone.commands.map((command) => command.name())).toEqual([name]);
      const [command] = alone.commands;
      const same = whole.commands.find((candidate) => candidate.name() === name)!;
      expect(command!.helpInformation(), name).toBe(same.helpInformation());
      expect(command!.commands.map((sub) => sub.helpInformation()), name).toEqual(same.commands.map((sub) => sub.helpInformation()));
    }
  });

  it("built for a name that is no command is the whole program, so its error can suggest the nearest", () => {
    const names = buildProgram().commands.map((command) => command.name());
    expect(buildProgram("statsu").commands.map((command) => command.name())).toEqual(names);
    expect(buildProgram("help").commands.map((command) => command.name())).toEqual(names);
  });
});
